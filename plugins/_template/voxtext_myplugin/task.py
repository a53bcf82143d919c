"""An example task (``register_tasks``): ``letter-count`` learns how many letters an
utterance holds from its duration, with a linear fit on the core trainer.

It shows the whole task contract in small:

- ``load_config(values, where)``: the config mapping (a TOML file merged with ``--set``
  overrides) as a frozen dataclass, built and checked by ``voxtext.config.build_config``,
  with at least ``out_dir`` and ``trainer``;
- ``train(config, resume=...)``: the core ``Trainer``, given a ``CheckpointMetadata`` (the
  one checkpoint schema: the task's registered name, the registered components the model
  was built from, by role, and the state the task needs to restore it);
- ``recognizer(path)``: a trained run as a ``protocols.Recognizer``, so ``voxtext evaluate``
  and ``voxtext transcribe`` audit and use it. Its "transcript" is that many x's, so the
  audit's CER measures the count's error.

A config::

    task = "letter-count"
    out_dir = "runs/count"
    train = "train.jsonl"        # a voxtext speech manifest
    [trainer]
    max_steps = 300
    lr = 0.1
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from voxtext.config import build_config
from voxtext.data.manifest import read_manifest
from voxtext.protocols import RecognitionInput, Transcript
from voxtext.train import (
    CheckpointMetadata,
    DurationBatchSampler,
    LossOutput,
    SampledBatches,
    Trainer,
    TrainerConfig,
)
from voxtext.train.metadata import load_task_checkpoint

TASK = "letter-count"


@dataclass(frozen=True)
class CountConfig:
    """A ``letter-count`` run: its folder, the training manifest, the trainer's settings."""

    out_dir: Path
    train: Path
    trainer: TrainerConfig
    task: str = TASK


class LetterCountTask:
    """Letters from duration (see the module docstring)."""

    #: the name the task is registered under, which its checkpoints record
    name = TASK

    def load_config(self, values: Mapping[str, Any], where: str) -> CountConfig:
        return build_config(CountConfig, values, where=where)

    def train(self, config: CountConfig, *, resume: bool = False) -> Any:
        utterances = read_manifest(config.train)
        data = [(u.id, u.duration, float(len(u.text))) for u in utterances]

        def collate(items: list[Any]) -> dict[str, Any]:
            return {
                "ids": [i for i, _, _ in items],
                "x": torch.tensor([[10 * d] for _, d, _ in items]),  # deciseconds
                "y": torch.tensor([n for _, _, n in items]),
            }

        def loss_fn(model: Any, batch: Any, generator: Any) -> LossOutput:
            error = model(batch["x"]).squeeze(-1) - batch["y"]
            return LossOutput(loss_sum=(error**2).sum(), units=len(batch["ids"]))

        sampler = DurationBatchSampler([d for _, d, _ in data], 4.0, seed=0)
        model = torch.nn.Linear(1, 1)
        # no registered components; the state says what the one input is measured in
        metadata = CheckpointMetadata(config.task, {}, {"input": "duration in deciseconds"})
        batches = SampledBatches(data, sampler, collate)
        trainer = Trainer(
            config.trainer, model, loss_fn, batches, config.out_dir, metadata=metadata
        )
        return trainer.fit(resume=resume)

    def recognizer(self, path: Path, *, identify_groups: bool = False) -> CountRecognizer:
        folder, state, _ = load_task_checkpoint(path, self.name)
        model = torch.nn.Linear(1, 1)
        model.load_state_dict(state)
        return CountRecognizer(model, folder)


@dataclass
class CountRecognizer:
    """A trained ``letter-count`` model as a ``protocols.Recognizer``."""

    model: torch.nn.Module
    checkpoint: Path
    sample_rate: int = 16000

    def transcribe(self, items: Sequence[RecognitionInput]) -> list[Transcript]:
        with torch.no_grad():
            counts = [
                self.model(torch.tensor([[10 * len(i.waveform) / i.sample_rate]])).item()
                for i in items
            ]
        return [Transcript("x" * max(0, round(c))) for c in counts]

    def describe(self) -> dict[str, Any]:
        return {
            "engine": "letter-count",
            "model": str(self.checkpoint),
            "version": "0.1.0",
            "settings": {},
        }
