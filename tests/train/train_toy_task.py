"""A tiny frame-labelling task for the trainer's tests: variable-length sequences, a per-frame
MLP with dropout, and a cross-entropy summed over frames (units = real frames)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from voxtext.train import DurationBatchSampler, LossOutput, SampledBatches, TrainerConfig

FEATURES, CLASSES = 4, 3
FRAMES_PER_SECOND = 10.0


def make_dataset(count: int = 48, seed: int = 0) -> list[dict[str, Any]]:
    """Sequences of 3..20 frames; each frame's class is the argmax of a fixed projection."""
    generator = torch.Generator().manual_seed(seed)
    projection = torch.randn(FEATURES, CLASSES, generator=generator)
    items = []
    for index in range(count):
        length = int(torch.randint(3, 21, (1,), generator=generator))
        x = torch.randn(length, FEATURES, generator=generator)
        items.append({"id": f"utt{index:03d}", "x": x, "y": (x @ projection).argmax(-1)})
    return items


def durations(dataset: list[dict[str, Any]]) -> list[float]:
    return [len(item["x"]) / FRAMES_PER_SECOND for item in dataset]


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    longest = max(len(item["x"]) for item in items)
    x = torch.zeros(len(items), longest, FEATURES)
    y = torch.full((len(items), longest), -100, dtype=torch.long)
    for row, item in enumerate(items):
        x[row, : len(item["x"])] = item["x"]
        y[row, : len(item["y"])] = item["y"]
    return {"ids": [item["id"] for item in items], "x": x, "y": y}


def make_model(seed: int = 0, dropout: float = 0.2) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(FEATURES, 32), nn.ReLU(), nn.Dropout(dropout), nn.Linear(32, CLASSES)
    )


def loss_fn(model: nn.Module, batch: dict[str, Any], generator: torch.Generator) -> LossOutput:
    logits = model(batch["x"])
    loss = F.cross_entropy(
        logits.float().reshape(-1, CLASSES),
        batch["y"].reshape(-1),
        reduction="sum",
        ignore_index=-100,
    )
    frames = (batch["y"] != -100).sum()
    return LossOutput(loss_sum=loss, units=frames, stats={"utterances": float(len(batch["ids"]))})


def frame_error_rate(model: nn.Module, dataset: list[dict[str, Any]]) -> float:
    batch = collate(dataset)
    predictions = model(batch["x"]).argmax(-1)
    real = batch["y"] != -100
    return float(((predictions != batch["y"]) & real).sum() / real.sum())


def make_batches(
    dataset: list[dict[str, Any]],
    *,
    max_batch_seconds: float = 6.0,
    seed: int = 0,
    num_workers: int = 0,
    **sampler_args: Any,
) -> SampledBatches:
    sampler = DurationBatchSampler(
        durations(dataset), max_batch_seconds, seed=seed, bucket_size=16, **sampler_args
    )
    return SampledBatches(dataset, sampler, collate, num_workers=num_workers)


def config(**overrides: Any) -> TrainerConfig:
    values: dict[str, Any] = {
        "lr": 1e-2,
        "max_steps": 40,
        "schedule": "constant",
        "device": "cpu",
        "progress": False,
        "log_every_steps": 5,
        "eval_every_steps": 10,
    }
    values.update(overrides)
    return TrainerConfig(**values)


def weights_digest(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    import json

    return [json.loads(line) for line in path.read_text().splitlines() if line]
