"""Exact resume: a run stopped after step k and resumed ends with bitwise the same weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import train_toy_task as toy

from voxtext.train import LossOutput, Trainer
from voxtext.train.checkpoint import load_trainer_state


def _noisy_loss(model: torch.nn.Module, batch: dict, generator: torch.Generator) -> LossOutput:
    """The toy loss on inputs jittered with the trainer's generator (task-side randomness)."""
    noise = 0.1 * torch.randn(batch["x"].shape, generator=generator)
    return toy.loss_fn(model, {**batch, "x": batch["x"] + noise}, generator)


class _Crash(Exception):
    pass


def _crash_after(calls: int):
    seen = []

    def loss_fn(model: torch.nn.Module, batch: dict, generator: torch.Generator) -> LossOutput:
        seen.append(1)
        if len(seen) > calls:
            raise _Crash
        return _noisy_loss(model, batch, generator)

    return loss_fn


def _run(
    out: Path, loss_fn: Any, workers: int, accum: int, resume: bool = False, model_seed: int = 0
) -> tuple[Trainer, Any]:
    trainer = Trainer(
        toy.config(
            max_steps=14,
            eval_every_steps=5,
            grad_accum_steps=accum,
            schedule="warmup-cosine",
            warmup_steps=3,
            log_every_steps=1,
        ),
        toy.make_model(seed=model_seed, dropout=0.3),
        loss_fn,
        toy.make_batches(toy.make_dataset(48), max_batch_seconds=4.0, num_workers=workers),
        out,
    )
    return trainer, trainer.fit(resume=resume)


@pytest.mark.parametrize(("workers", "accum"), [(0, 1), (1, 2)])
def test_resumed_run_matches_an_uninterrupted_one_bitwise(
    tmp_path: Path, workers: int, accum: int
) -> None:
    whole, _ = _run(tmp_path / "whole", _noisy_loss, workers, accum)
    # crash during step 8: the last checkpoint is step 5, in the middle of epoch 0
    with pytest.raises(_Crash):
        _run(tmp_path / "cut", _crash_after(7 * accum + 1), workers, accum)
    state = load_trainer_state(tmp_path / "cut" / "checkpoint-5")
    assert state["loop"]["epoch"] == 0 and state["loop"]["batches_in_epoch"] > 0
    assert state["batches"]["position"] == state["loop"]["batches_in_epoch"]
    resumed, result = _run(
        tmp_path / "cut", _noisy_loss, workers, accum, resume=True, model_seed=123
    )  # other initial weights: all must come from disk
    assert result.steps == 14
    for name, value in whole.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[name], value), name
    assert _log_without_timings(tmp_path / "whole") == _log_without_timings(tmp_path / "cut")


def _log_without_timings(run: Path) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in r.items() if k != "seconds"}
        for r in toy.read_jsonl(run / "metrics.jsonl")
    ]


def test_resume_true_without_a_checkpoint_starts_afresh(tmp_path: Path) -> None:
    _, result = _run(tmp_path, _noisy_loss, 0, 1, resume=True)
    assert result.steps == 14


def test_a_finished_run_can_be_lengthened(tmp_path: Path) -> None:
    data = toy.make_dataset(24)
    Trainer(
        toy.config(max_steps=10), toy.make_model(), toy.loss_fn, toy.make_batches(data), tmp_path
    ).fit()
    result = Trainer(
        toy.config(max_steps=20), toy.make_model(), toy.loss_fn, toy.make_batches(data), tmp_path
    ).fit(resume=True)
    assert result.steps == 20 and [h["step"] for h in result.history] == [10, 20]
