"""How much speech a manifest holds, overall and per value of each group attribute.

Fairness reports are only as good as the data behind each group; this table shows at a
glance which dialect or gender has few hours or few speakers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from voxtext.data.manifest import Utterance
from voxtext.errors import DataError

ALL = "all"
MISSING = "(none)"
"""The value shown for utterances that have no value for a group attribute."""


@dataclass(frozen=True)
class GroupSummary:
    """Totals for the utterances of one group value (or of all: group and value ``all``).

    ``speakers`` counts distinct speakers; ``without_speaker`` counts utterances with none.
    """

    group: str
    value: str
    utterances: int
    hours: float
    speakers: int
    without_speaker: int


@dataclass(frozen=True)
class ManifestSummary:
    """The ``all`` row first, then one row per (group attribute, value), values sorted."""

    rows: tuple[GroupSummary, ...]

    def row(self, group: str, value: str) -> GroupSummary:
        """The row for ``value`` of ``group``; KeyError naming the rows there are otherwise."""
        for row in self.rows:
            if (row.group, row.value) == (group, value):
                return row
        known = ", ".join(f"{row.group}={row.value}" for row in self.rows)
        raise KeyError(f"no row {group}={value}; rows: {known}")

    def format_table(self) -> str:
        """The rows as an aligned text table, with a note when some speakers are unknown."""
        header = ("group", "value", "utterances", "hours", "speakers")
        cells = [header] + [
            (r.group, r.value, str(r.utterances), f"{r.hours:.3f}", str(r.speakers))
            for r in self.rows
        ]
        widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
        lines = []
        for row in cells:
            left = [cell.ljust(width) for cell, width in zip(row[:2], widths[:2], strict=True)]
            right = [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
            lines.append("  ".join(left + right).rstrip())
        missing = self.rows[0].without_speaker
        if missing:
            lines.append(f"note: {missing} utterances have no speaker and are not counted there")
        return "\n".join(lines)


def summarise(
    utterances: Sequence[Utterance], group_by: list[str] | None = None
) -> ManifestSummary:
    """Count utterances, hours and speakers overall and per value of each group attribute.

    ``group_by`` None summarises every attribute any utterance has. Utterances without a
    value for an attribute are counted under ``(none)``, so each attribute's rows add up to
    the ``all`` row. Naming an attribute no utterance has raises DataError (likely a typo).
    """
    found = sorted({name for utterance in utterances for name in utterance.groups})
    if group_by is None:
        group_by = found
    unknown = [name for name in group_by if name not in found]
    if unknown:
        raise DataError(
            f"no utterance has the group attribute {', '.join(map(repr, unknown))} — "
            f"choose from: {', '.join(found) or '(the manifest has no groups)'}"
        )
    rows = [_totals(ALL, ALL, utterances)]
    for name in group_by:
        values = sorted({u.groups.get(name, MISSING) for u in utterances}, key=_missing_last)
        for value in values:
            members = [u for u in utterances if u.groups.get(name, MISSING) == value]
            rows.append(_totals(name, value, members))
    return ManifestSummary(tuple(rows))


def _missing_last(value: str) -> tuple[bool, str]:
    return (value == MISSING, value)


def _totals(group: str, value: str, utterances: Sequence[Utterance]) -> GroupSummary:
    speakers = {u.speaker for u in utterances if u.speaker is not None}
    return GroupSummary(
        group=group,
        value=value,
        utterances=len(utterances),
        hours=sum(u.duration for u in utterances) / 3600,
        speakers=len(speakers),
        without_speaker=sum(u.speaker is None for u in utterances),
    )
