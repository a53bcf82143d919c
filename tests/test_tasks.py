"""Tasks as plugins: a third party's task, registered from a throwaway plugin, trains through
``voxtext train`` and is audited through ``voxtext evaluate`` like the first-party ones,
either as a speech task (its recogniser decodes the manifest) or as a task that scores the
file itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from voxtext import cli, hookimpl
from voxtext.config import build_config
from voxtext.data.manifest import read_manifest
from voxtext.protocols import (
    EvaluatingTask,
    EvaluationRequest,
    EvaluationResult,
    RecognitionInput,
    SpeechTask,
    Task,
    Transcript,
)
from voxtext.registry import PluginInfo
from voxtext.testing import isolated_plugin_manager, write_tone_corpus
from voxtext.train import (
    DurationBatchSampler,
    LossOutput,
    SampledBatches,
    Trainer,
    TrainerConfig,
    load_checkpoint,
    resolve_checkpoint,
)


@dataclass(frozen=True)
class CountConfig:
    out_dir: Path
    train: Path
    trainer: TrainerConfig
    task: str = "letter-count"


class LetterCountTask:
    """Learns how many letters an utterance holds from its duration (a linear fit); its
    'transcript' is that many x's, so CER measures the count's error."""

    def load_config(self, values: Any, where: str) -> CountConfig:
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
        metadata = {"format": "test.count/1", "task": config.task}
        trainer = Trainer(
            config.trainer, model, loss_fn, SampledBatches(data, sampler, collate),
            config.out_dir, metadata=metadata,
        )  # fmt: skip
        return trainer.fit(resume=resume)

    def recognizer(self, path: Path, *, identify_groups: bool = False) -> Any:
        state, _ = load_checkpoint(resolve_checkpoint(path))
        model = torch.nn.Linear(1, 1)
        model.load_state_dict(state)
        return CountRecognizer(model, path)


@dataclass
class CountRecognizer:
    model: torch.nn.Module
    path: Path
    sample_rate: int = 16000

    def transcribe(self, items: list[RecognitionInput]) -> list[Transcript]:
        with torch.no_grad():
            counts = [
                self.model(torch.tensor([[10 * len(i.waveform) / i.sample_rate]])).item()
                for i in items
            ]
        return [Transcript("x" * max(0, round(c))) for c in counts]

    def describe(self) -> dict[str, Any]:
        return {"engine": "letter-count", "model": str(self.path), "version": "0", "settings": {}}


class ScoredLetterCountTask(LetterCountTask):
    """The same model, but the task scores a manifest itself: the share of exact counts."""

    def evaluate(self, request: EvaluationRequest) -> EvaluationResult:
        recognizer = self.recognizer(request.checkpoint)
        utterances = read_manifest(request.data)
        items = [
            RecognitionInput(u.id, [0.0] * round(u.duration * 16000), 16000) for u in utterances
        ]
        hyps = recognizer.transcribe(items)
        right = sum(len(h.text) == len(u.text) for h, u in zip(hyps, utterances, strict=True))
        out = request.out or Path("counts.json")
        out.write_text(json.dumps({"right": right, "n": len(utterances)}))
        return EvaluationResult({"count_accuracy": right / len(utterances)}, f"counts in {out}")


class TaskPlugin:
    @hookimpl
    def register_tasks(self, register: Any) -> None:
        register("letter-count", LetterCountTask, description="letters from duration (test)")
        register("letter-count-scored", ScoredLetterCountTask, description="scores itself")


def write_job(tmp_path: Path, task: str) -> tuple[Path, Path]:
    """A tone corpus and a config training ``task`` on it into ``tmp_path/run``."""
    manifest = write_tone_corpus(tmp_path / "data", n=16)
    config = tmp_path / "count.toml"
    config.write_text(
        f'task = "{task}"\nout_dir = "{tmp_path / "run"}"\ntrain = "{manifest}"\n'
        "[trainer]\nmax_steps = 300\nlr = 0.1\nprogress = false\n"
    )
    return manifest, config


def test_a_third_party_task_trains_and_evaluates_through_the_commands(tmp_path, capsys):
    manifest, config = write_job(tmp_path, "letter-count")
    with isolated_plugin_manager() as manager:
        manager.add_plugin(TaskPlugin(), PluginInfo("voxtext-count", "0.1.0"))
        assert isinstance(LetterCountTask(), Task) and isinstance(LetterCountTask(), SpeechTask)
        assert not isinstance(LetterCountTask(), EvaluatingTask)
        assert cli.main(["train", str(config)]) == 0
        assert "voxtext train: 300 steps" in capsys.readouterr().out
        out = tmp_path / "predictions.jsonl"
        assert cli.main(["evaluate", str(tmp_path / "run"), str(manifest), "--out", str(out)]) == 0
        capsys.readouterr()
        # the same run transcribes files through the task's recogniser
        audio = [str(manifest.parent / r["audio"]) for r in map(json.loads, manifest.open())]
        assert cli.main(["transcribe", str(tmp_path / "run"), *audio[:3]]) == 0
        transcribed = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    rows = [json.loads(line) for line in out.open()]
    assert transcribed == [[a, r["hyp"]] for a, r in zip(audio[:3], rows[:3], strict=True)]
    assert len(rows) == 16 and all(set(r["hyp"]) <= {"x"} for r in rows)
    # duration fixes the letter count in this corpus, so the fit gets most counts right
    right = sum(len(r["hyp"]) == len(r["ref"]) for r in rows)
    assert right >= 12, rows
    meta = json.loads((tmp_path / "predictions.meta.json").read_text())
    assert meta["recognizer"]["engine"] == "letter-count"


def test_a_third_party_task_that_scores_files_itself(tmp_path, capsys):
    manifest, config = write_job(tmp_path, "letter-count-scored")
    out = tmp_path / "counts.json"
    with isolated_plugin_manager() as manager:
        manager.add_plugin(TaskPlugin(), PluginInfo("voxtext-count", "0.1.0"))
        assert isinstance(ScoredLetterCountTask(), EvaluatingTask)
        assert cli.main(["train", str(config)]) == 0
        capsys.readouterr()
        run = str(tmp_path / "run")
        assert cli.main(["evaluate", run, str(manifest), "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        # options the task has no use for are refused by name, not dropped
        assert cli.main(["evaluate", run, str(manifest), "--decoder", "ctc-beam"]) != 0
        assert "--decoder: not for" in capsys.readouterr().err
    counts = json.loads(out.read_text())
    assert counts["n"] == 16 and counts["right"] >= 12, counts
    assert f"count_accuracy\t{counts['right'] / 16:.4f}" in printed
    assert f"voxtext evaluate: counts in {out}" in printed
