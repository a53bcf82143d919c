"""``Trainer``: the task-agnostic training loop (see ``voxtext.train`` for the whole picture)."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from voxtext.config import to_dict
from voxtext.errors import ConfigError, DataError
from voxtext.train import checkpoint as ckpt
from voxtext.train.averaging import write_averaged_checkpoint
from voxtext.train.batches import BatchSource
from voxtext.train.config import TrainerConfig
from voxtext.train.distributed import (
    DistributedContext,
    barrier,
    broadcast_object,
    gather_objects,
    init_distributed,
    unwrap_model,
    wrap_model,
)
from voxtext.train.loss import LossFn
from voxtext.train.metadata import CheckpointMetadata
from voxtext.train.precision import resolve_precision
from voxtext.train.reporting import MetricsLog, ProgressBar
from voxtext.train.rng import capture_rng_state, restore_rng_state, seed_everything
from voxtext.train.schedules import lr_multiplier
from voxtext.train.state import LogWindow, LoopState, Stateful, TrainResult
from voxtext.train.step import StepOutcome, StepRunner, build_optimizer, chunks
from voxtext.train.threads import apply_threads, resolve_threads

logger = logging.getLogger("voxtext.train")
Evaluate = Callable[[nn.Module], Mapping[str, float]]


class Trainer:
    """Trains ``model`` by minimising ``loss_fn`` over ``train_batches``; see ``voxtext.train``.

    Attributes a task may read: ``model`` (the unwrapped module, on ``ctx.device``), ``ctx``
    (rank, world size, device), ``optimizer``, ``precision``, ``state`` (step, epoch, best).
    ``cpu_bf16=True`` lets ``precision="auto"`` train in bf16 on a CPU with native bf16: a
    task passes it where a test shows bf16 reaching fp32's accuracy on its smoke task.
    """

    def __init__(
        self,
        config: TrainerConfig,
        model: nn.Module,
        loss_fn: LossFn,
        train_batches: BatchSource,
        out_dir: str | Path,
        *,
        evaluate: Evaluate | None = None,
        metadata: CheckpointMetadata | Mapping[str, Any] | None = None,
        extra_state: Mapping[str, Stateful] | None = None,
        cpu_bf16: bool = False,
    ) -> None:
        self.config, self.loss_fn, self.batches = config, loss_fn, train_batches
        self.out_dir, self.evaluate = Path(out_dir), evaluate
        if isinstance(metadata, CheckpointMetadata):
            metadata = metadata.to_dict()
        self.metadata = _json_checked(dict(metadata or {}))
        self.extra_state = dict(extra_state or {})
        self.ctx: DistributedContext = init_distributed(config.device)
        self.threads = resolve_threads(config, self.ctx.device)
        apply_threads(self.threads)
        set_loading = getattr(train_batches, "set_loading", None)  # SampledBatches has it
        if set_loading is not None:
            set_loading(self.threads.num_workers, self.threads.pin_memory)
        self.model = model.to(self.ctx.device)
        self.precision = resolve_precision(config.precision, self.ctx.device, cpu_bf16=cpu_bf16)
        self.optimizer = build_optimizer(self.model, config, self.ctx.device)
        self.scaler = self.precision.grad_scaler()
        self.generator = torch.Generator().manual_seed(config.seed + self.ctx.rank)
        self.state = LoopState()
        self.log = MetricsLog(self.out_dir / "metrics.jsonl" if self.ctx.is_main else None)

    # -- the loop ----------------------------------------------------------------------------
    def fit(self, *, resume: bool = False, resume_from: str | Path | None = None) -> TrainResult:
        """Train until ``max_steps``/``max_epochs`` or early stopping; return the checkpoints.

        ``resume=True`` continues from ``out_dir``'s latest checkpoint when there is one (else
        starts afresh); ``resume_from`` continues from the given checkpoint folder. A fresh
        start refuses an ``out_dir`` that already holds checkpoints.
        """
        self._prepare(resume, resume_from)
        wrapped = wrap_model(
            self.model, self.ctx, find_unused_parameters=self.config.ddp_find_unused_parameters
        )
        runner = StepRunner(
            wrapped,
            self.loss_fn,
            self.optimizer,
            self.precision,
            self.scaler,
            self.ctx,
            self.generator,
            self.config.clip_norm,
        )
        bar = ProgressBar(
            self.state.total_steps, self.state.step, self.config.progress and self.ctx.is_main
        )
        window = LogWindow()
        try:
            while not self._finished():
                self._run_epoch(runner, bar, window)
        finally:
            bar.close()
        if self.state.last_eval_step != self.state.step:
            self._evaluate_and_checkpoint()
        return self._result()

    def _run_epoch(self, runner: StepRunner, bar: ProgressBar, window: LogWindow) -> None:
        if self.state.batches_in_epoch == 0:
            self.batches.set_epoch(self.state.epoch)
        expected = len(self.batches)
        for group in chunks(iter(self.batches), self.config.grad_accum_steps):
            self.state.batches_in_epoch += len(group)
            multiplier = lr_multiplier(
                self.config.schedule,
                self.state.step,
                total_steps=self.state.total_steps,
                warmup_steps=self.config.warmup_steps,
                min_lr_ratio=self.config.min_lr_ratio,
                d_model=self.config.d_model,
            )
            outcome = runner.step(group, multiplier)
            self.state.step += 1
            self._account(outcome, window)
            bar.update(self.state.step, f"loss {window.last_loss:.4g}")
            if self.state.step % self.config.log_every_steps == 0:
                self._log_window(window)
            every = self.config.eval_every_steps
            if every is not None and self.state.step % every == 0:
                self._evaluate_and_checkpoint()
            if self._finished():
                return
        if self.state.batches_in_epoch != expected:
            raise RuntimeError(
                f"the batch source yielded {self.state.batches_in_epoch} batches in epoch "
                f"{self.state.epoch} but its len() said {expected}; len() must count the "
                "current epoch's batches (DDP ranks would otherwise fall out of step)"
            )
        if expected == 0:
            raise DataError(
                f"the batch source has no batches in epoch {self.state.epoch} on rank "
                f"{self.ctx.rank}: is the training set empty, or smaller than one batch per "
                "process?"
            )
        self.state.epoch += 1
        self.state.batches_in_epoch = 0
        if self.config.eval_every_steps is None and self.state.last_eval_step != self.state.step:
            self._evaluate_and_checkpoint()

    def _finished(self) -> bool:
        c, s = self.config, self.state
        return (
            s.stopped_early
            or (c.max_steps is not None and s.step >= c.max_steps)
            or (c.max_epochs is not None and s.epoch >= c.max_epochs)
        )

    # -- per-step accounting -----------------------------------------------------------------
    def _account(self, outcome: StepOutcome, window: LogWindow) -> None:
        s = self.state
        if outcome.skipped:
            s.skipped_steps += 1
            if outcome.reason != "fp16_overflow":
                s.consecutive_skips += 1
            self._report_skip(outcome)
            if s.consecutive_skips >= self.config.max_consecutive_skips:
                raise FloatingPointError(
                    f"{s.consecutive_skips} optimizer steps in a row were skipped (last at "
                    f"step {s.step}: {outcome.reason}); training diverged or the data has "
                    f"items the loss cannot handle. See {self.out_dir / 'metrics.jsonl'} for "
                    "the item ids; lower train.lr, add warmup, or clean the data "
                    "(train.max_consecutive_skips sets the limit)"
                )
            return
        s.consecutive_skips = 0
        s.window_loss += outcome.loss_sum
        s.window_units += outcome.units
        window.add(outcome)

    def _report_skip(self, outcome: StepOutcome) -> None:
        shown = ", ".join(outcome.ids[:20]) + (" ..." if len(outcome.ids) > 20 else "")
        level = logging.INFO if outcome.reason == "fp16_overflow" else logging.WARNING
        if self.ctx.is_main:
            logger.log(
                level,
                "step %d skipped (%s); items: %s",
                self.state.step,
                outcome.reason,
                shown or "(the batches carry no ids)",
            )
        self.log.write(
            "skip",
            step=self.state.step,
            epoch=self.state.epoch,
            reason=outcome.reason,
            loss=outcome.loss_sum / outcome.units,
            grad_norm=outcome.grad_norm,
            ids=outcome.ids,
        )

    def _log_window(self, window: LogWindow) -> None:
        record = window.record(self.state)
        self.log.write("train", **record)
        if self.ctx.is_main:
            logger.info(
                "step %d loss %.4f lr %.3g grad_norm %.3g",
                self.state.step,
                record.get("loss", math.nan),
                record["lr"],
                record["grad_norm"],
            )
        window.reset()

    # -- evaluation, model selection, checkpoints ----------------------------------------------
    def _evaluate_and_checkpoint(self) -> None:
        s, c = self.state, self.config
        metrics = self._run_evaluation()
        if c.metric not in metrics:
            raise ConfigError(
                f"train.metric: '{c.metric}' is not among the evaluation's metrics "
                f"({', '.join(sorted(metrics))}); set train.metric to one of them"
            )
        value = float(metrics[c.metric])
        improved = s.best_metric is None or (
            value < s.best_metric if c.metric_mode == "min" else value > s.best_metric
        )
        if improved and math.isfinite(value):
            s.best_metric, s.best_step, s.evals_since_best = value, s.step, 0
        else:
            s.evals_since_best += 1
        s.history.append({"step": s.step, "epoch": s.epoch, **metrics})
        s.checkpoint_metrics[s.step] = value
        s.last_eval_step = s.step
        s.window_loss = s.window_units = 0.0
        patience = c.early_stopping_patience
        if patience is not None and s.evals_since_best >= patience:
            s.stopped_early = True
        self.log.write("eval", step=s.step, epoch=s.epoch, **metrics)
        self._save(metrics)

    def _run_evaluation(self) -> dict[str, float]:
        """train_loss since the last evaluation, plus the task's metrics (run on rank 0)."""
        s = self.state
        metrics: dict[str, float] = {}
        # nan when every step since the last evaluation was skipped
        metrics["train_loss"] = s.window_loss / s.window_units if s.window_units else math.nan
        if self.evaluate is not None and self.ctx.is_main:
            self.model.eval()
            with torch.no_grad(), self.precision.evaluation_autocast():
                metrics.update({k: float(v) for k, v in self.evaluate(self.model).items()})
            self.model.train()
        return dict(broadcast_object(metrics, self.ctx))

    def _save(self, metrics: Mapping[str, float]) -> None:
        s = self.state
        rng = gather_objects(capture_rng_state(self.generator), self.ctx)  # every rank's
        if self.ctx.is_main:
            folder = ckpt.save_checkpoint(
                ckpt.checkpoint_folder(self.out_dir, s.step),
                unwrap_model(self.model).state_dict(),
                self._checkpoint_metadata(metrics),
                self._trainer_state(rng),
            )
            ckpt.write_pointer(self.out_dir, "latest", folder)
            if s.best_step is not None:
                best = ckpt.checkpoint_folder(self.out_dir, s.best_step)
                if best.is_dir():
                    ckpt.write_pointer(self.out_dir, "best", best)
            ckpt.prune_checkpoints(self.out_dir, self.config.keep_last, self._protected())
        barrier(self.ctx)

    def _protected(self) -> list[Path]:
        """The best checkpoint and, when averaging the best N, the N best."""
        steps = set(self.state.best_steps(self.config.metric_mode, self.config.average_best_n))
        if self.state.best_step is not None:
            steps.add(self.state.best_step)
        return [ckpt.checkpoint_folder(self.out_dir, step) for step in sorted(steps)]

    def _checkpoint_metadata(self, metrics: Mapping[str, float]) -> dict[str, Any]:
        from voxtext import __version__

        return {
            "format": "voxtext-checkpoint/1",
            "voxtext_version": __version__,
            "step": self.state.step,
            "epoch": self.state.epoch,
            "metrics": dict(metrics),
            "config": to_dict(self.config),
            "metadata": self.metadata,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    def _trainer_state(self, rng: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "format": 1,
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else {},
            "batches": self.batches.state_dict(),
            "rng": rng,
            "loop": dataclasses.asdict(self.state),
            "extra": {name: obj.state_dict() for name, obj in self.extra_state.items()},
        }

    # -- starting and resuming ---------------------------------------------------------------
    def _prepare(self, resume: bool, resume_from: str | Path | None) -> None:
        if self.ctx.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            ckpt.remove_stale_temporaries(self.out_dir)
        barrier(self.ctx)
        source = self._resume_source(resume, resume_from)
        if source is None:
            seed_everything(self.config.seed + self.ctx.rank)
            self.state = LoopState()
            if self.ctx.is_main and self.log.path is not None:
                self.log.path.write_text("", encoding="utf-8")
        else:
            self._load(source)
        planned: list[int | None] = [self.config.max_steps, self.config.max_epochs]
        if self.state.planned_for != planned:  # a fresh run, or the run was lengthened
            self.state.total_steps = self._total_steps()
            self.state.planned_for = planned

    def _resume_source(self, resume: bool, resume_from: str | Path | None) -> Path | None:
        if resume_from is not None:
            return ckpt.resolve_checkpoint(resume_from, "latest")
        latest = ckpt.read_pointer(self.out_dir, "latest")
        if resume:
            if latest is None:
                logger.info("resume: no checkpoint in %s yet, starting afresh", self.out_dir)
            return latest
        if latest is not None:
            raise ConfigError(
                f"{self.out_dir} already holds a training run (latest: {latest.name}); continue "
                "it with `voxtext train CONFIG --resume` (resume=True from Python), or choose "
                "an empty output folder"
            )
        return None

    def _load(self, folder: Path) -> None:
        weights, _ = ckpt.load_checkpoint(folder, device=str(self.ctx.device))
        try:
            self.model.load_state_dict(weights)
        except RuntimeError as exc:
            raise ckpt.CheckpointError(
                f"{folder / ckpt.MODEL_FILE}: does not fit this model: {exc}"
            ) from exc
        state = ckpt.load_trainer_state(folder)
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler is not None and state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        self.batches.load_state_dict(state["batches"])
        self.state = LoopState(**state["loop"])
        rng = state["rng"]
        if len(rng) == self.ctx.world_size:
            restore_rng_state(rng[self.ctx.rank], self.generator)
        else:
            logger.warning(
                "checkpoint saved by %d processes, resuming with %d: random "
                "streams restart from the seed",
                len(rng),
                self.ctx.world_size,
            )
            seed_everything(self.config.seed + self.ctx.rank + self.state.step)
        for name, obj in self.extra_state.items():
            if name in state["extra"]:
                obj.load_state_dict(state["extra"][name])
        if self.ctx.is_main:
            self.log.truncate_after(self.state.step)
        logger.info("resumed from %s at step %d", folder, self.state.step)

    def _total_steps(self) -> int:
        """Optimizer steps the schedule plans for (epochs are estimated from this epoch)."""
        c = self.config
        if c.max_epochs is None:
            assert c.max_steps is not None
            return c.max_steps
        if self.state.batches_in_epoch == 0:
            self.batches.set_epoch(self.state.epoch)
        per_epoch = max(1, math.ceil(len(self.batches) / c.grad_accum_steps))
        by_epochs = self.state.step + per_epoch * (c.max_epochs - self.state.epoch)
        return min(by_epochs, c.max_steps) if c.max_steps is not None else by_epochs

    def _result(self) -> TrainResult:
        s, c = self.state, self.config
        averaged = None
        count, use_best = max(c.average_last_n, c.average_best_n), c.average_best_n > 0
        if count > 0:
            steps = self.state.best_steps(self.config.metric_mode, count) if use_best else None
            paths = (
                [ckpt.checkpoint_folder(self.out_dir, k) for k in sorted(steps or [])]
                if use_best
                else ckpt.list_checkpoints(self.out_dir)[-count:]
            )
            if self.ctx.is_main:
                write_averaged_checkpoint(
                    self.out_dir, paths, {"averaged_how": "best" if use_best else "last"}
                )
            averaged = self.out_dir / "averaged"
            barrier(self.ctx)
        best = (
            ckpt.checkpoint_folder(self.out_dir, s.best_step) if s.best_step is not None else None
        )
        return TrainResult(
            run_dir=self.out_dir,
            last_checkpoint=ckpt.checkpoint_folder(self.out_dir, s.step),
            best_checkpoint=best,
            averaged_checkpoint=averaged,
            best_metric=s.best_metric,
            steps=s.step,
            epochs_completed=s.epoch,
            skipped_steps=s.skipped_steps,
            stopped_early=s.stopped_early,
            history=list(s.history),
        )


def _json_checked(metadata: dict[str, Any]) -> dict[str, Any]:
    try:
        json.dumps(metadata)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"Trainer metadata must be JSON data (it goes into metadata.json): {exc}"
        ) from exc
    return metadata
