"""The training loop end to end on the toy task: learning, logs, selection, stopping."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import train_toy_task as toy

from voxtext.errors import ConfigError
from voxtext.train import Trainer, load_checkpoint


def test_loss_falls_and_frame_errors_drop(tmp_path: Path) -> None:
    data = toy.make_dataset(64)
    model = toy.make_model()
    model.eval()
    error_before = toy.frame_error_rate(model, data)
    trainer = Trainer(
        toy.config(max_steps=60, lr=3e-2, metric="fer"),
        model,
        toy.loss_fn,
        toy.make_batches(data),
        tmp_path,
        evaluate=lambda m: {"fer": toy.frame_error_rate(m, data)},
    )
    result = trainer.fit()
    train_lines = [r for r in toy.read_jsonl(tmp_path / "metrics.jsonl") if r["kind"] == "train"]
    assert train_lines[-1]["loss"] < 0.6 * train_lines[0]["loss"]
    assert result.best_metric is not None and result.best_metric < 0.5 * error_before
    assert result.steps == 60 and result.skipped_steps == 0
    assert [h["step"] for h in result.history] == [10, 20, 30, 40, 50, 60]
    state, metadata = load_checkpoint(tmp_path)  # the run folder's best
    assert metadata["metrics"]["fer"] == result.best_metric
    assert (
        metadata["step"]
        == result.history[[h["fer"] for h in result.history].index(result.best_metric)]["step"]
    )
    assert set(state) == set(model.state_dict())


def test_metrics_log_has_every_field(tmp_path: Path) -> None:
    data = toy.make_dataset(32)
    Trainer(
        toy.config(max_steps=10), toy.make_model(), toy.loss_fn, toy.make_batches(data), tmp_path
    ).fit()
    records = toy.read_jsonl(tmp_path / "metrics.jsonl")
    train = [r for r in records if r["kind"] == "train"]
    assert [r["step"] for r in train] == [5, 10]
    for key in ("epoch", "loss", "lr", "grad_norm", "seconds", "skipped", "utterances"):
        assert key in train[0], key
    assert train[0]["lr"] == pytest.approx(1e-2)
    assert 1.0 <= train[0]["utterances"] <= 60  # a task stat, averaged per unit
    evals = [r for r in records if r["kind"] == "eval"]
    assert [r["step"] for r in evals] == [10] and math.isfinite(evals[0]["train_loss"])


def test_max_epochs_counts_whole_passes(tmp_path: Path) -> None:
    data = toy.make_dataset(24)
    batches = toy.make_batches(data)
    result = Trainer(
        toy.config(max_steps=None, max_epochs=2, eval_every_steps=None),
        toy.make_model(),
        toy.loss_fn,
        batches,
        tmp_path,
    ).fit()
    batches.set_epoch(0)
    first = len(batches)
    batches.set_epoch(1)
    assert result.steps == first + len(batches)
    assert result.epochs_completed == 2
    assert [h["epoch"] for h in result.history] == [1, 2]  # evaluated after each epoch


def test_early_stopping_after_patience(tmp_path: Path) -> None:
    data = toy.make_dataset(24)
    scores = iter([0.5, 0.4, 0.45, 0.41, 0.6, 0.1])
    result = Trainer(
        toy.config(max_steps=60, eval_every_steps=5, metric="score", early_stopping_patience=3),
        toy.make_model(),
        toy.loss_fn,
        toy.make_batches(data),
        tmp_path,
        evaluate=lambda m: {"score": next(scores)},
    ).fit()
    assert result.stopped_early and result.steps == 25
    assert result.best_metric == 0.4 and result.best_checkpoint == tmp_path / "checkpoint-10"
    assert (tmp_path / "best").read_text().strip() == "checkpoint-10"


def test_metric_mode_max_picks_the_highest(tmp_path: Path) -> None:
    scores = iter([0.1, 0.9, 0.5])
    result = Trainer(
        toy.config(max_steps=15, eval_every_steps=5, metric="acc", metric_mode="max"),
        toy.make_model(),
        toy.loss_fn,
        toy.make_batches(toy.make_dataset(16)),
        tmp_path,
        evaluate=lambda m: {"acc": next(scores)},
    ).fit()
    assert result.best_metric == 0.9 and result.best_checkpoint == tmp_path / "checkpoint-10"


def test_unknown_metric_names_the_known_ones(tmp_path: Path) -> None:
    trainer = Trainer(
        toy.config(max_steps=5, eval_every_steps=5, metric="wer"),
        toy.make_model(),
        toy.loss_fn,
        toy.make_batches(toy.make_dataset(16)),
        tmp_path,
        evaluate=lambda m: {"cer": 0.5},
    )
    with pytest.raises(ConfigError, match=r"'wer' is not among .*cer, train_loss"):
        trainer.fit()


def test_refuses_to_overwrite_a_run(tmp_path: Path) -> None:
    def make() -> Trainer:
        return Trainer(
            toy.config(max_steps=5),
            toy.make_model(),
            toy.loss_fn,
            toy.make_batches(toy.make_dataset(16)),
            tmp_path,
        )

    make().fit()
    with pytest.raises(
        ConfigError, match="already holds a training run.*voxtext train CONFIG --resume"
    ):
        make().fit()


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_on_cpu_trains(tmp_path: Path, precision: str) -> None:
    data = toy.make_dataset(32)
    trainer = Trainer(
        toy.config(max_steps=30, lr=3e-2, precision=precision),
        toy.make_model(),
        toy.loss_fn,
        toy.make_batches(data),
        tmp_path,
    )
    assert (trainer.scaler is not None) == (precision == "fp16")
    result = trainer.fit()
    losses = [r["loss"] for r in toy.read_jsonl(tmp_path / "metrics.jsonl") if r["kind"] == "train"]
    assert losses[-1] < losses[0]
    assert result.skipped_steps <= 2  # fp16: at most a scale back-off or two
    for value in trainer.model.state_dict().values():
        assert value.dtype == torch.float32  # master weights stay float32


def test_config_errors_name_the_fields() -> None:
    with pytest.raises(ValueError, match="max_steps/max_epochs"):
        toy.config(max_steps=None)
    with pytest.raises(ValueError, match="noam.*d_model"):
        toy.config(schedule="noam")
    with pytest.raises(ValueError, match="average_last_n=5 > keep_last=3"):
        toy.config(average_last_n=5)


def test_loss_function_must_return_a_sum(tmp_path: Path) -> None:
    from voxtext.train import LossOutput

    def per_item_loss(model: torch.nn.Module, batch: dict, generator: torch.Generator):
        out = toy.loss_fn(model, batch, generator)
        return LossOutput(loss_sum=out.loss_sum.repeat(2), units=out.units)

    trainer = Trainer(
        toy.config(max_steps=2),
        toy.make_model(),
        per_item_loss,
        toy.make_batches(toy.make_dataset(8)),
        tmp_path,
    )
    with pytest.raises(ValueError, match=r"must be a scalar.*\.sum\(\)"):
        trainer.fit()


def test_an_empty_batch_source_is_an_error_not_a_hang(tmp_path: Path) -> None:
    from voxtext.errors import DataError

    # one batch in all, two processes' worth of shards: rank 1 gets nothing
    batches = toy.make_batches(toy.make_dataset(2), max_batch_seconds=100.0, rank=1, world_size=2)
    trainer = Trainer(toy.config(max_steps=5), toy.make_model(), toy.loss_fn, batches, tmp_path)
    with pytest.raises(DataError, match="no batches in epoch 0"):
        trainer.fit()
