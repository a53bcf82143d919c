"""Precision plans, float32_loss, device moves; bf16 training on CUDA when a GPU is present."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import train_toy_task as toy

from voxtext.train import Trainer, batch_ids, float32_loss, move_to_device
from voxtext.train.precision import resolve_precision


def test_auto_is_fp32_on_cpu_and_bf16_on_cuda() -> None:
    assert resolve_precision("auto", torch.device("cpu")).autocast_dtype is None
    assert resolve_precision("auto", torch.device("cuda")).name == "bf16"
    assert resolve_precision("fp16", torch.device("cpu")).grad_scaler() is not None
    assert resolve_precision("bf16", torch.device("cpu")).grad_scaler() is None


def test_float32_loss_turns_autocast_off() -> None:
    a = torch.randn(4, 4)
    with resolve_precision("bf16", torch.device("cpu")).autocast():
        assert (a @ a).dtype == torch.bfloat16
        with float32_loss():
            assert (a @ a).dtype == torch.float32
        assert (a @ a).dtype == torch.bfloat16


@dataclass(frozen=True)
class _Batch:
    ids: list[str]
    x: torch.Tensor


def test_move_to_device_and_ids_walk_nested_batches() -> None:
    batch = {"ids": ["a", "b"], "x": torch.zeros(2), "nested": [(torch.ones(1), 3)]}
    moved = move_to_device(batch, torch.device("meta"))
    assert moved["x"].device.type == "meta" and moved["nested"][0][0].device.type == "meta"
    assert moved["nested"][0][1] == 3 and moved["ids"] == ["a", "b"]
    data = move_to_device(_Batch(["u1"], torch.zeros(1)), torch.device("meta"))
    assert data.x.device.type == "meta"
    assert batch_ids(batch) == ["a", "b"] and batch_ids(data) == ["u1"]
    assert batch_ids((torch.zeros(1),)) == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_bf16_training_on_cuda(tmp_path: Path) -> None:
    data = toy.make_dataset(64)
    trainer = Trainer(
        toy.config(max_steps=40, lr=3e-2, device="cuda"),
        toy.make_model(),
        toy.loss_fn,
        toy.make_batches(data),
        tmp_path,
    )
    assert trainer.precision.name == "bf16"
    trainer.fit()
    losses = [r["loss"] for r in toy.read_jsonl(tmp_path / "metrics.jsonl") if r["kind"] == "train"]
    assert losses[-1] < 0.8 * losses[0]
    assert all(p.dtype == torch.float32 and p.is_cuda for p in trainer.model.parameters())
