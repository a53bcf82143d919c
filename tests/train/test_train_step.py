"""One optimizer step: accumulation normalisation and the NaN/inf guard."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import train_toy_task as toy

from voxtext.train import LossOutput, Trainer
from voxtext.train.distributed import init_distributed
from voxtext.train.precision import resolve_precision
from voxtext.train.step import StepRunner


def _runner(model: torch.nn.Module, loss_fn=toy.loss_fn) -> tuple[StepRunner, torch.optim.SGD]:
    # plain SGD with lr 1: the weight change is minus the gradient the step applied
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    optimizer.param_groups[0]["initial_lr"] = 1.0
    ctx = init_distributed("cpu")
    plan = resolve_precision("fp32", ctx.device)
    runner = StepRunner(model, loss_fn, optimizer, plan, None, ctx, torch.Generator(), None)
    return runner, optimizer


def _applied_gradient(micro_batches: list[dict]) -> dict[str, torch.Tensor]:
    model = toy.make_model(dropout=0.0)
    before = toy.weights_digest(model)
    runner, _ = _runner(model)
    outcome = runner.step(micro_batches, 1.0)
    assert not outcome.skipped
    return {k: before[k] - v for k, v in model.state_dict().items()}


def test_accumulating_unequal_micro_batches_equals_one_big_batch() -> None:
    items = toy.make_dataset(10, seed=3)
    small, large = items[:3], items[3:]
    assert sum(len(i["x"]) for i in small) != sum(len(i["x"]) for i in large)
    accumulated = _applied_gradient([toy.collate(small), toy.collate(large)])
    whole = _applied_gradient([toy.collate(items)])
    # and both equal autograd's gradient of the mean loss per frame
    model = toy.make_model(dropout=0.0)
    out = toy.loss_fn(model, toy.collate(items), torch.Generator())
    (out.loss_sum / out.units).backward()
    for name, parameter in model.named_parameters():
        torch.testing.assert_close(accumulated[name], whole[name], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(whole[name], parameter.grad, atol=1e-6, rtol=1e-5)


def _poisoned(poison_ids: set[str], value: float = math.nan):
    def loss_fn(model: torch.nn.Module, batch: dict, generator: torch.Generator) -> LossOutput:
        out = toy.loss_fn(model, batch, generator)
        if poison_ids & set(batch["ids"]):
            return LossOutput(loss_sum=out.loss_sum * value, units=out.units)
        return out

    return loss_fn


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_loss_skips_the_step_and_leaves_weights_alone(value: float) -> None:
    good, bad = toy.make_dataset(6, seed=1)[:3], toy.make_dataset(6, seed=1)[3:]
    model = toy.make_model(dropout=0.0)
    runner, _ = _runner(model, _poisoned({bad[0]["id"]}, value))
    before = toy.weights_digest(model)
    outcome = runner.step([toy.collate(good), toy.collate(bad)], 1.0)
    assert outcome.skipped and outcome.reason == "non_finite_loss"
    assert outcome.ids == [i["id"] for i in good + bad]
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name])
    assert all(p.grad is None for p in model.parameters())  # nothing leaks into the next step
    assert not runner.step([toy.collate(good)], 1.0).skipped


def test_non_finite_gradient_is_caught_too() -> None:
    def exploding(model: torch.nn.Module, batch: dict, generator: torch.Generator):
        out = toy.loss_fn(model, batch, generator)
        # a finite loss with an infinite gradient: sqrt'(0) = inf
        return LossOutput(loss_sum=out.loss_sum + torch.sqrt(model[0].weight[0, 0] * 0), units=1)

    runner, _ = _runner(toy.make_model(dropout=0.0), exploding)
    outcome = runner.step([toy.collate(toy.make_dataset(4))], 1.0)
    assert outcome.skipped and outcome.reason == "non_finite_gradient"


def test_trainer_logs_skipped_batches_and_carries_on(tmp_path: Path) -> None:
    data = toy.make_dataset(24)
    result = Trainer(
        toy.config(max_steps=12),
        toy.make_model(),
        _poisoned({"utt005"}),
        toy.make_batches(data),
        tmp_path,
    ).fit()
    skips = [r for r in toy.read_jsonl(tmp_path / "metrics.jsonl") if r["kind"] == "skip"]
    assert skips and all("utt005" in r["ids"] and r["reason"] == "non_finite_loss" for r in skips)
    assert result.skipped_steps == len(skips) >= 1
    assert result.steps == 12


def test_too_many_skips_in_a_row_stop_training(tmp_path: Path) -> None:
    always_nan = _poisoned({f"utt{i:03d}" for i in range(100)})
    trainer = Trainer(
        toy.config(max_steps=20, max_consecutive_skips=3),
        toy.make_model(),
        always_nan,
        toy.make_batches(toy.make_dataset(16)),
        tmp_path,
    )
    with pytest.raises(FloatingPointError, match=r"3 optimizer steps in a row.*metrics\.jsonl"):
        trainer.fit()


def test_units_must_be_positive() -> None:
    def no_units(model: torch.nn.Module, batch: dict, generator: torch.Generator):
        return LossOutput(loss_sum=toy.loss_fn(model, batch, generator).loss_sum, units=0)

    runner, _ = _runner(toy.make_model(), no_units)
    with pytest.raises(ValueError, match="units must be > 0"):
        runner.step([toy.collate(toy.make_dataset(2))], 1.0)
