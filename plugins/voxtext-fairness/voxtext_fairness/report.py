"""The ASR fairness report: per-group error rates, gaps, tests, comparisons, explanations.

``to_dict()`` is JSON with a versioned schema (``"schema": "voxtext.fairness/2"``): rates
are fractions (0.12 = 12 %), intervals are ``[low, high]`` lists, and a value that cannot be
computed (a group with no reference words) is ``null``, never NaN. Version 2: a value the
data cannot resolve (an interval or p-value of a group with too few speakers) is ``null``
with the reason beside it (``ci_note``, ``note``, ``overall_note``), each test family
carries its ``p_floor``, and the report adds ``explanations``, ``length_adjusted``,
``identification`` and ``extra_evaluations``.

These are plain dataclasses; the renderers (``markdown``, ``html_report``, ``model_card``)
import them for type checking only, so the methods here can call them without a cycle.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = "voxtext.fairness/2"
Interval = tuple[float | None, float | None]


def too_few(clusters: int, minimum: int, what: str = "speakers") -> str:
    """Why an interval or p-value is not shown: the words every renderer prints."""
    return f"too few {what} for an interval/p-value (n = {clusters} < {minimum})"


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
    #: what the bootstrap resampled for this group: its speakers (or utterances without ids)
    clusters: int = 0
    #: why ``ci`` (and the difference, the p-value) is missing, e.g. too few speakers
    ci_note: str | None = None
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
    #: why the gap has no interval (its worst or best group has too few speakers)
    note: str | None = None


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
    #: why the overall interval is missing (fewer speakers overall than the minimum)
    overall_note: str | None = None
    #: what the overall interval resampled: speakers within each group, or across all groups
    #: (when some group has a single speaker)
    overall_resampling: str = ""
    #: the smallest p-value the test can give (1/(B+1) permutations, 2/(B+1) bootstrap):
    #: a p-value at it reads "p <= floor", never a smaller number
    p_floor: float | None = None

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
    p_holm: float | None = None
    note: str | None = None


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
    gap_p_holm: float | None = None
    gap_note: str | None = None
    test: str = ""
    p_floor: float | None = None


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
class ErrorPair:
    """One kind of error and how often a group made it: ``ref`` -> ``hyp`` (a deletion has
    an empty ``hyp``, an insertion an empty ``ref``)."""

    kind: str
    ref: str
    hyp: str
    count: int


@dataclass
class MissedWord:
    """A reference word a group misses (deletes or substitutes) more than the best group.

    ``excess``: misses beyond what the best group's miss rate for the word would give.
    """

    word: str
    occurrences: int
    missed: int
    miss_rate: float
    best_miss_rate: float | None
    excess: float


@dataclass
class BinRate:
    """Error rate of a group's utterances in one bin of duration or speaking rate."""

    bin: str
    utterances: int
    units: int
    errors: int
    rate: float | None


@dataclass
class AlignedUtterance:
    """One utterance with its alignment: segments of ``{"type", "ref", "hyp"}``, where
    type is equal, substitute, delete or insert."""

    id: str
    speaker: str | None
    errors: int
    units: int
    rate: float | None
    segments: list[dict[str, str]]


@dataclass
class GroupExplanation:
    """Why one group scores as it does: its commonest errors, the words it misses more than
    the best group, its error rate by duration and speaking rate, its worst utterances."""

    group: str
    top_errors: dict[str, list[ErrorPair]]
    missed_words: list[MissedWord]
    by_duration: list[BinRate]
    by_speaking_rate: list[BinRate]
    worst_utterances: list[AlignedUtterance]


@dataclass
class Explanations:
    """Explanations for every group of one attribute; descriptive counts, no intervals."""

    attributes: list[str]
    metric: str
    best: str | None
    groups: list[GroupExplanation]
    speaking_rate_unit: str
    notes: list[str] = field(default_factory=list)


@dataclass
class LengthAdjustedTerm:
    """A group's error-rate ratio to the baseline group: raw, and at equal length."""

    group: str
    raw_ratio: float | None
    adjusted_ratio: float | None
    adjusted_ci: Interval


@dataclass
class LengthAdjustedResult:
    """errors ~ group + log(reference length), speakers as clusters, beside the bootstrap.

    ``survives``: whether the worst group's adjusted ratio to the best stays above 1 (its
    interval excludes 1) once length is controlled for; None when it was not fitted.
    """

    attributes: list[str]
    metric: str
    model: str
    baseline: str | None
    terms: list[LengthAdjustedTerm]
    length_coefficient: float | None
    length_ci: Interval
    survives: bool | None
    within_speaker_correlation: float | None = None
    note: str | None = None
    caveats: list[str] = field(default_factory=list)


@dataclass
class ConfusionMatrix:
    """True group (rows) against the group the model identified (columns), counted over the
    utterances where it identified one; a descriptive count, no intervals."""

    attribute: str
    labels: list[str]
    counts: list[list[int]]
    accuracy: float | None
    utterances: int


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
    explanations: list[Explanations] = field(default_factory=list)
    identification: list[ConfusionMatrix] = field(default_factory=list)
    length_adjusted: list[LengthAdjustedResult] = field(default_factory=list)
    #: other registered evaluators' results, each ``{"evaluator": name, "result": to_dict()}``
    extra_evaluations: list[dict[str, Any]] = field(default_factory=list)
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

    def write_model_card(self, checkpoint: str | Path, *, name: str | None = None) -> Path:
        """Write a Hugging Face-style model card (README.md) into ``checkpoint`` (a run
        folder means its best checkpoint) and return its path."""
        from voxtext_fairness.model_card import write_model_card

        return write_model_card(self, checkpoint, name=name)


@dataclass
class EvaluationReport:
    """Results of evaluators other than ``asr-group-errors``, each ``{"evaluator": name,
    "result": its to_dict()}``, rendered generically."""

    system: str
    evaluations: list[dict[str, Any]]
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "kind": "evaluations",
            "system": self.system,
            "evaluations": _plain(self.evaluations),
        }

    def to_markdown(self) -> str:
        from voxtext_fairness.markdown import evaluations_markdown

        return evaluations_markdown(self)

    def write_html(self, path: str | Path) -> Path:
        from voxtext_fairness.html_report import write_markdown_html

        title = f"Evaluation: {self.system}"
        return write_markdown_html(self.to_markdown(), title, Path(path), self.schema)


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
