"""The ASR fairness report: per-group error rates, gaps, tests, comparisons and history.

``to_dict()`` is JSON with a versioned schema (``"schema": "voxtext.fairness/1"``): rates
are fractions (0.12 = 12 %), intervals are ``[low, high]`` lists, and a value that cannot be
computed (a group with no reference words) is ``null``, never NaN.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = "voxtext.fairness/1"
Interval = tuple[float | None, float | None]


@dataclass
class GroupResult:
    """One group's composition and error rate (micro-averaged: errors over reference units)."""

    group: str
    values: dict[str, str]
    utterances: int
    speakers: int | None
    hours: float | None
    units: int
    substitutions: int
    deletions: int
    insertions: int
    rate: float | None
    ci: Interval
    diff_to_reference: float | None = None
    diff_ci: Interval = (None, None)
    p_value: float | None = None
    p_holm: float | None = None
    warnings: list[str] = field(default_factory=list)

    def rate_of(self, count: int) -> float | None:
        return count / self.units if self.units else None


@dataclass
class GapResult:
    """Worst minus best group (identities fixed at the point estimate), with paired CIs."""

    worst: str
    best: str
    gap: float
    gap_ci: Interval
    ratio: float | None
    ratio_ci: Interval
    reference: str | None
    test: str
    significant: list[str]


@dataclass
class GroupAnalysis:
    """Error rates split by one attribute or by an intersection of several."""

    attributes: list[str]
    metric: str
    unit: str
    overall_rate: float | None
    overall_ci: Interval
    groups: list[GroupResult]
    gap: GapResult | None
    empty_groups: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return " × ".join(self.attributes)


@dataclass
class GroupDifference:
    group: str
    rate_a: float | None
    rate_b: float | None
    difference: float | None
    ci: Interval
    p_value: float | None


@dataclass
class SystemComparison:
    """System B minus system A on the same utterances, resampled together (paired)."""

    system_a: str
    system_b: str
    attributes: list[str]
    metric: str
    groups: list[GroupDifference]
    gap_a: float | None
    gap_b: float | None
    gap_difference: float | None
    gap_difference_ci: Interval
    gap_p_value: float | None


@dataclass
class HistoryPoint:
    """One checkpoint's per-group rates and gap, for the trend plot."""

    label: str
    attributes: list[str]
    metric: str
    rates: dict[str, float | None]
    cis: dict[str, Interval]
    gap: float | None
    gap_ci: Interval


@dataclass
class DataSummary:
    utterances: int
    speakers: int | None
    hours: float | None
    synthetic_utterances: int

    @property
    def synthetic(self) -> bool:
        return self.synthetic_utterances > 0


@dataclass
class AsrFairnessReport:
    """Everything ``voxtext report`` shows; build it with the ``asr-group-errors`` evaluator."""

    system: str
    data: DataSummary
    analyses: list[GroupAnalysis]
    normalizer: dict[str, Any]
    method: dict[str, Any]
    comparisons: list[SystemComparison] = field(default_factory=list)
    history: list[HistoryPoint] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: what produced the predictions: the recogniser's ``describe()`` from the predictions'
    #: ``.meta.json`` sidecar (``voxtext evaluate`` writes it), empty when there is none
    audited: dict[str, Any] = field(default_factory=dict)
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        out = _plain(dataclasses.asdict(self))
        out["data"]["synthetic"] = self.data.synthetic
        return {"schema": self.schema, **{k: v for k, v in out.items() if k != "schema"}}

    def to_markdown(self) -> str:
        from voxtext_fairness.markdown import asr_markdown

        return asr_markdown(self)

    def write_html(self, path: str | Path) -> Path:
        """Write a self-contained HTML page (PNG plots embedded) and return its path."""
        from voxtext_fairness.html_report import write_asr_html

        return write_asr_html(self, Path(path))


def _plain(value: Any) -> Any:
    """JSON-safe copy: NaN and infinities become None, tuples become lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _plain(value.item())
    return value


def finite_or_none(value: Any) -> float | None:
    """A float, or None for NaN/inf/None (what reports store for "cannot be computed")."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
