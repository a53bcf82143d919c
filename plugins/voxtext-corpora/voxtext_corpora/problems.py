"""Collect every problem in a user's corpus files and raise them together, each with its place.

A converter that stopped at the first bad line would make a user fix a 100,000-line file one
run at a time; this reports ``file:line: field 'x': what is wrong — what to do`` for all.
"""

from __future__ import annotations

from pathlib import Path

from voxtext.data import audio_info
from voxtext.errors import DataError

# Past this many, more problems of the same file are counted, not kept: enough to see a pattern.
MAX_KEPT = 1000


class ProblemList:
    """Problems found while reading one corpus, each a formatted line."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.dropped = 0

    def add(self, where: str, what: str, fix: str, field: str | None = None) -> None:
        """Record that ``where`` (``file:line``) has ``what`` wrong, fixed by ``fix``."""
        if len(self.lines) >= MAX_KEPT:
            self.dropped += 1
            return
        subject = f" field '{field}':" if field else ""
        self.lines.append(f"{where}:{subject} {what} — {fix}")

    def __len__(self) -> int:
        return len(self.lines) + self.dropped

    def raise_if_any(self, subject: str) -> None:
        """Raise one DataError about ``subject`` listing every problem, if there is any."""
        if self.lines:
            noun = "problem" if len(self) == 1 else "problems"
            lines = self.lines + ([f"... and {self.dropped} more"] if self.dropped else [])
            raise DataError(f"{subject}: {len(self)} {noun}:", lines)


def audio_seconds(audio: Path, where: str, field: str, problems: ProblemList) -> float | None:
    """The length of ``audio`` in seconds from its header, or None after recording why not."""
    if not audio.is_file():
        problems.add(
            where, f"audio file not found: {audio}", "fix the path or remove the line", field
        )
        return None
    try:
        info = audio_info(audio)
    except DataError as error:
        problems.add(where, str(error), "re-encode the file as WAV or FLAC", field)
        return None
    if info.frames <= 0:
        problems.add(where, f"audio file {audio} has no samples", "remove the line", field)
        return None
    return info.duration
