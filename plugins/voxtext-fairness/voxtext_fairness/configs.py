"""Configs of the fairness evaluators: plain frozen dataclasses, cheap to import.

The plugin registers these with the evaluators, so ``voxtext plugins`` and config checks need
neither numpy nor jiwer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from voxtext_fairness.group_stats import StatsSettings


@dataclass(frozen=True)
class AsrGroupErrorsConfig:
    """Settings of the ``asr-group-errors`` evaluator.

    ``normalizer``/``normalizer_options``: a registered text normaliser applied to both
    sides. ``unit``: ``"char"`` (CER, whitespace removed), ``"word"`` (WER), ``"both"``, or
    ``"auto"`` (CER when most reference letters are Han, kana, Thai and similar scripts).
    ``n_boot`` cluster-bootstrap replicates, ``seed``, ``confidence`` of the intervals.
    ``test``: ``"permutation"`` (exact, shuffles speakers between groups), ``"bootstrap"``
    (inverts the bootstrap interval, free) or ``"auto"`` (permutation while it is cheap).
    ``reference``: the group others are compared with (a value such as ``"cmn"``).
    Groups with fewer than ``min_speakers`` speakers get no interval and no p-value (the
    report says why); fewer than ``min_units`` reference units, or an interval wider than
    ``max_ci_width``, get a warning. ``length_model``: fit the length-adjusted Poisson GEE
    (errors ~ group + log length, speakers as clusters) beside the bootstrap.
    """

    normalizer: str = "default"
    normalizer_options: dict[str, Any] = field(default_factory=dict)
    unit: Literal["auto", "char", "word", "both"] = "auto"
    n_boot: int = 1000
    seed: int = 0
    confidence: float = 0.95
    test: Literal["auto", "permutation", "bootstrap"] = "auto"
    n_permutations: int = 1000
    alpha: float = 0.05
    reference: str | None = None
    intersect: bool = True
    min_speakers: int = 5
    min_units: int = 200
    max_ci_width: float = 0.1
    length_model: bool = True

    def __post_init__(self) -> None:
        if self.min_speakers < 2:
            raise ValueError(
                f"min_speakers must be at least 2 (one speaker gives no interval), "
                f"got {self.min_speakers}"
            )
        if self.n_boot < 10 or self.n_permutations < 10:
            raise ValueError("n_boot and n_permutations must be at least 10 (1000 is usual)")
        if not 0.5 <= self.confidence < 1.0:
            raise ValueError(f"confidence must be in [0.5, 1), got {self.confidence}")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")

    def stats_settings(self) -> StatsSettings:
        from voxtext_fairness.group_stats import StatsSettings

        return StatsSettings(
            self.n_boot,
            self.seed,
            self.confidence,
            self.test,
            self.n_permutations,
            self.alpha,
            self.min_speakers,
            self.min_units,
            self.max_ci_width,
        )


@dataclass(frozen=True)
class ClassificationFairnessConfig:
    """Settings of the ``classification-fairness`` evaluator.

    ``pos_label``: the positive class for selection rate, TPR and FPR; left unset it is
    found for labels {0, 1}, {false, true} or {"0", "1"}, and the binary metrics are skipped
    for other label sets. ``score_meaning``: whether a record's ``score`` is the probability
    of the positive class (``"positive"``) or of the predicted label (``"confidence"``); ECE
    needs one of them. ``ece_bins`` equal-width bins. ``n_boot`` bootstrap replicates
    (resampling speakers within groups when records name them, items otherwise), ``seed``,
    ``confidence``. ``reference``: the group disparities are also measured against.
    Groups with fewer than ``min_items`` items get a warning; with fewer than
    ``min_speakers`` speakers (items, when records name no speakers) no interval, and then
    the disparities, which span every group, get none either.
    """

    pos_label: str | int | bool | None = None
    score_meaning: Literal["positive", "confidence"] = "positive"
    ece_bins: int = 10
    n_boot: int = 1000
    seed: int = 0
    confidence: float = 0.95
    reference: str | None = None
    intersect: bool = True
    min_items: int = 30
    min_speakers: int = 5

    def __post_init__(self) -> None:
        if self.n_boot < 10:
            raise ValueError("n_boot must be at least 10 (1000 is usual)")
        if not 0.5 <= self.confidence < 1.0:
            raise ValueError(f"confidence must be in [0.5, 1), got {self.confidence}")
        if self.ece_bins < 1:
            raise ValueError(f"ece_bins must be at least 1, got {self.ece_bins}")
