"""Learning-rate schedules: warmup then decay, the noam peak, and what the trainer applies."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import train_toy_task as toy

from voxtext.train import Trainer, lr_multiplier


def _curve(schedule: str, total: int = 100, **kwargs) -> list[float]:
    return [lr_multiplier(schedule, s, total_steps=total, **kwargs) for s in range(total)]


@pytest.mark.parametrize("schedule", ["warmup-cosine", "warmup-linear"])
def test_warmup_rises_linearly_then_decays_to_the_floor(schedule: str) -> None:
    curve = _curve(schedule, warmup_steps=10, min_lr_ratio=0.1)
    assert curve[:10] == pytest.approx([(s + 1) / 10 for s in range(10)])
    assert max(curve) == curve[9] == 1.0
    decay = curve[10:]
    assert all(a >= b for a, b in itertools.pairwise(decay))
    assert decay[-1] == pytest.approx(0.1)


def test_cosine_and_linear_shapes_at_mid_decay() -> None:
    middle = 10 + 45 - 1  # half-way through 90 decay steps
    cosine = _curve("warmup-cosine", warmup_steps=10)[middle]
    linear = _curve("warmup-linear", warmup_steps=10)[middle]
    assert cosine == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)), abs=1e-9)
    assert linear == pytest.approx(0.5, abs=1e-9)


def test_constant_with_warmup() -> None:
    assert _curve("constant", warmup_steps=4) == [0.25, 0.5, 0.75] + [1.0] * 97


def test_noam_peaks_at_warmup_with_the_known_value() -> None:
    curve = _curve("noam", total=4000, warmup_steps=1000, d_model=256)
    peak = max(range(len(curve)), key=curve.__getitem__)
    assert peak == 999  # step n = 1000
    assert curve[peak] == pytest.approx((256 * 1000) ** -0.5)
    assert curve[3999] == pytest.approx(256**-0.5 * 4000**-0.5)


def test_trainer_applies_the_schedule(tmp_path: Path) -> None:
    config = toy.config(
        max_steps=20,
        schedule="warmup-linear",
        warmup_steps=5,
        log_every_steps=1,
        eval_every_steps=20,
    )
    Trainer(
        config, toy.make_model(), toy.loss_fn, toy.make_batches(toy.make_dataset(24)), tmp_path
    ).fit()
    logged = [r["lr"] for r in toy.read_jsonl(tmp_path / "metrics.jsonl") if r["kind"] == "train"]
    expected = [0.01 * m for m in _curve("warmup-linear", total=20, warmup_steps=5)]
    assert logged == pytest.approx(expected)
