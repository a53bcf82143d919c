"""The trainer's bookkeeping: loop state (saved in checkpoints), the result, the log window."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from voxtext.train.step import StepOutcome


class Stateful(Protocol):
    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


@dataclass
class LoopState:
    """Where training stands; saved in every checkpoint (plain values only)."""

    step: int = 0
    epoch: int = 0
    batches_in_epoch: int = 0
    total_steps: int = 0
    planned_for: list[int | None] = field(default_factory=list)
    skipped_steps: int = 0
    consecutive_skips: int = 0
    best_metric: float | None = None
    best_step: int | None = None
    evals_since_best: int = 0
    stopped_early: bool = False
    last_eval_step: int = -1
    window_loss: float = 0.0  # loss sum and units since the last evaluation (train_loss)
    window_units: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    checkpoint_metrics: dict[int, float] = field(default_factory=dict)

    def best_steps(self, mode: str, count: int) -> list[int]:
        """The ``count`` checkpointed steps with the best finite metric, best first."""
        finite = {k: v for k, v in self.checkpoint_metrics.items() if math.isfinite(v)}
        sign = 1.0 if mode == "min" else -1.0
        # ties go to the earlier step, as the best pointer only moves on strict improvement
        return sorted(finite, key=lambda step: (sign * finite[step], step))[:count]


@dataclass(frozen=True)
class TrainResult:
    """Where the run's checkpoints are and how it went."""

    run_dir: Path
    last_checkpoint: Path
    best_checkpoint: Path | None
    averaged_checkpoint: Path | None
    best_metric: float | None
    steps: int
    epochs_completed: int
    skipped_steps: int
    stopped_early: bool
    history: list[dict[str, float]]


class LogWindow:
    """Sums over the steps since the last ``train`` log line."""

    def __init__(self) -> None:
        self.reset()
        self.last_loss = math.nan

    def reset(self) -> None:
        self.loss_sum = self.units = 0.0
        self.steps = 0
        self.stats: dict[str, float] = {}
        self.stat_units = 0.0
        self.lr = self.grad_norm = math.nan
        self.started = time.perf_counter()

    def add(self, outcome: StepOutcome) -> None:
        self.loss_sum += outcome.loss_sum
        self.units += outcome.units
        self.steps += 1
        self.lr, self.grad_norm = outcome.lr, outcome.grad_norm
        self.last_loss = outcome.loss_sum / outcome.units
        for name, value in outcome.stats.items():
            self.stats[name] = self.stats.get(name, 0.0) + value * outcome.units
        self.stat_units += outcome.units

    def record(self, state: LoopState) -> dict[str, Any]:
        record: dict[str, Any] = {
            "step": state.step,
            "epoch": state.epoch,
            "lr": self.lr,
            "grad_norm": self.grad_norm,
            "units": self.units,
            "seconds": time.perf_counter() - self.started,
            "skipped": state.skipped_steps,
        }
        if self.units > 0:
            record["loss"] = self.loss_sum / self.units
        record.update({k: v / self.stat_units for k, v in self.stats.items() if self.stat_units})
        return record
