"""What the trainer tells people: ``metrics.jsonl`` and a progress bar with an ETA (rank 0).

Each line of ``metrics.jsonl`` is one JSON object with a ``kind``:

- ``train``: step, epoch, loss (sum / units over the logging window), lr, grad_norm, units,
  seconds (wall time of the window), skipped (steps skipped so far), and the task's stats;
- ``eval``: step, epoch and every metric the evaluation returned (plus ``train_loss``);
- ``skip``: step, epoch, reason and the ids of the items in the skipped step's batches.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class MetricsLog:
    """Appends JSON lines to ``path`` (flushed per line, so a crash loses nothing)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def write(self, kind: str, **fields: Any) -> None:
        if self.path is None:
            return
        record = {"kind": kind, **{k: _json_safe(v) for k, v in fields.items()}}
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")

    def truncate_after(self, step: int) -> None:
        """Drop lines logged after ``step`` (by a run that crashed after its last checkpoint),
        so a resumed run's log reads as one uninterrupted run."""
        if self.path is None or not self.path.is_file():
            return
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by the crash
                continue
            if int(record.get("step", 0)) <= step:
                kept.append(line)
        self.path.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")


def _json_safe(value: Any) -> Any:
    """JSON has no NaN/inf: write them as strings so the line still parses everywhere."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


class ProgressBar:
    """A rich progress bar over optimizer steps; does nothing when disabled or not on a TTY."""

    def __init__(self, total_steps: int, start_step: int, enabled: bool) -> None:
        console = Console(file=sys.stderr)
        self._progress: Progress | None = None
        if enabled and console.is_terminal:
            self._progress = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
                console=console,
                transient=False,
            )
            self._task = self._progress.add_task(
                "train", total=total_steps, completed=start_step, info=""
            )
            self._progress.start()

    def update(self, step: int, info: str = "") -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=step, info=info)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
