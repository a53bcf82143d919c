"""What the trainer tells people: ``metrics.jsonl`` and a progress bar with an ETA (rank 0),
or, when stderr is no terminal (a log file), a progress line about every 30 s.

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
import time
from collections.abc import Callable
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


#: Seconds between progress lines in a log.
LOG_EVERY_SECONDS = 30.0


class ProgressLog:
    """Progress as plain lines on stderr for output that is no terminal: one about every
    ``every`` seconds and one at the end, each with what is done of ``total`` ``unit``, the
    rate since the start and the ETA. ``unit="s"`` counts seconds of audio, whose rate is a
    real-time factor (``x real time``); any other unit prints per second."""

    def __init__(
        self,
        label: str,
        total: float,
        *,
        unit: str = "s",
        start: float = 0.0,
        every: float = LOG_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        stream: Any = None,
    ) -> None:
        self.label, self.total, self.unit, self.every = label, total, unit, every
        self._clock, self._stream = clock, stream
        self._started = self._last = clock()
        self._first = start
        self._finished = False

    def update(self, done: float, info: str = "") -> None:
        now = self._clock()
        finished = done >= self.total
        if self._finished or (now - self._last < self.every and not finished):
            return
        self._last, self._finished = now, finished
        elapsed = max(now - self._started, 1e-9)
        rate = (done - self._first) / elapsed
        speed = f"{rate:.1f}x real time" if self.unit == "s" else f"{rate:.2f} {self.unit}/s"
        eta = (self.total - done) / rate if rate > 0 else math.inf
        share = 100 * done / self.total if self.total else 100.0
        line = (
            f"{self.label}: {done:,.0f}/{self.total:,.0f} {self.unit} ({share:.0f} %), "
            f"{speed}, elapsed {_clock_time(elapsed)}, eta {_clock_time(eta)}"
        )
        print(f"{line}{', ' + info if info else ''}", file=self._stream or sys.stderr, flush=True)


def _clock_time(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "unknown"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """A rich progress bar over optimizer steps on a terminal, a :class:`ProgressLog` line
    about every 30 s otherwise; does nothing when disabled."""

    def __init__(self, total_steps: int, start_step: int, enabled: bool) -> None:
        console = Console(file=sys.stderr)
        self._progress: Progress | None = None
        self._log: ProgressLog | None = None
        if enabled and not console.is_terminal:
            self._log = ProgressLog("train", total_steps, unit="steps", start=start_step)
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
        if self._log is not None:
            self._log.update(step, info)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
