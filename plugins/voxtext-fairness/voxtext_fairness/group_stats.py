"""Per-group error rates, intervals, gaps and tests from per-utterance count arrays.

Rates are micro averages — a group's errors over its reference units — never a mean of
per-utterance rates, which would let a one-word utterance weigh as much as a paragraph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxtext_fairness.report import (
    GapResult,
    GroupAnalysis,
    GroupResult,
    Interval,
    finite_or_none,
)
from voxtext_fairness.resampling import (
    ClusterSums,
    bootstrap_pvalue,
    bootstrap_totals,
    cluster_sums,
    holm,
    make_rng,
    percentile_interval,
    permutation_rate_pvalues,
)

# Shuffled cluster labels per report under test="auto" before the bootstrap test takes over:
# numpy's row-wise shuffle runs at ~30 M elements/s, so this keeps tests under a second.
_PERMUTATION_BUDGET = 20_000_000


@dataclass(frozen=True)
class StatsSettings:
    """How intervals and tests are computed, and when a group earns a warning."""

    n_boot: int = 1000
    seed: int = 0
    confidence: float = 0.95
    test: str = "auto"
    n_permutations: int = 1000
    alpha: float = 0.05
    min_speakers: int = 5
    min_units: int = 200
    max_ci_width: float = 0.1


@dataclass
class GroupedCounts:
    """Per-utterance arrays for one grouping; ``group`` indexes ``labels``.

    ``cluster`` holds speaker codes, and a fresh code for each utterance without a speaker,
    so the bootstrap resamples speakers where they are known and utterances elsewhere.
    ``durations`` is NaN where unknown.
    """

    labels: list[str]
    values: list[dict[str, str]]
    group: np.ndarray
    cluster: np.ndarray
    speaker_known: np.ndarray
    substitutions: np.ndarray
    deletions: np.ndarray
    insertions: np.ndarray
    units: np.ndarray
    durations: np.ndarray

    @property
    def errors(self) -> np.ndarray:
        return self.substitutions + self.deletions + self.insertions

    @classmethod
    def from_arrays(
        cls,
        errors: Sequence[int] | np.ndarray,
        units: Sequence[int] | np.ndarray,
        groups: Sequence[str] | np.ndarray,
        clusters: Sequence[str | int] | np.ndarray | None = None,
    ) -> GroupedCounts:
        """Counts from plain arrays (errors all counted as substitutions)."""
        labels, group = np.unique(np.asarray(groups).astype(str), return_inverse=True)
        size = len(group)
        if clusters is None:
            cluster, known = np.arange(size), np.zeros(size, dtype=bool)
        else:
            cluster = np.unique(np.asarray(clusters).astype(str), return_inverse=True)[1]
            known = np.ones(size, dtype=bool)
        zeros = np.zeros(size, dtype=np.int64)
        return cls(
            [str(v) for v in labels],
            [{"group": str(v)} for v in labels],
            group,
            cluster,
            known,
            np.asarray(errors, dtype=np.int64),
            zeros,
            zeros,
            np.asarray(units, dtype=np.int64),
            np.full(size, np.nan),
        )


def analyse_groups(
    counts: GroupedCounts,
    settings: StatsSettings,
    *,
    attributes: Sequence[str] = ("group",),
    metric: str = "WER",
    unit: str = "word",
    reference: str | None = None,
    with_tests: bool = True,
) -> tuple[GroupAnalysis, np.ndarray]:
    """The analysis of one grouping, and the ``(n_boot, groups)`` bootstrap rates behind it."""
    n_groups = len(counts.labels)
    columns = np.stack([counts.errors, counts.units], axis=1)
    sums = cluster_sums(columns, counts.group, counts.cluster, n_groups)
    totals = sums.group_totals()
    rates = _rates(totals)
    boot = bootstrap_totals(sums, settings.n_boot, make_rng(settings.seed))
    boot_rates = _rates(boot)
    low, high = percentile_interval(boot_rates, settings.confidence)
    overall_boot = _rates(boot.sum(axis=1))
    overall_low, overall_high = percentile_interval(overall_boot[:, None], settings.confidence)
    groups = _group_results(counts, settings, totals, rates, low, high, sums.group_sizes())
    ref_index = _reference_index(counts.labels, reference)
    if ref_index is not None:
        diff = boot_rates - boot_rates[:, [ref_index]]
        diff_low, diff_high = percentile_interval(diff, settings.confidence)
        for k, result in enumerate(groups):
            result.diff_to_reference = finite_or_none(rates[k] - rates[ref_index])
            result.diff_ci = (finite_or_none(diff_low[k]), finite_or_none(diff_high[k]))
    test_name = ""
    if with_tests and n_groups > 1:
        test_name = _add_tests(groups, sums, boot_rates, boot, settings, ref_index)
    overall = _rates(totals.sum(axis=0))
    analysis = GroupAnalysis(
        attributes=list(attributes),
        metric=metric,
        unit=unit,
        overall_rate=finite_or_none(overall),
        overall_ci=(finite_or_none(overall_low[0]), finite_or_none(overall_high[0])),
        groups=groups,
        gap=_gap(groups, rates, boot_rates, settings, reference, test_name),
    )
    analysis.warnings = [f"{g.group}: {w}" for g in groups for w in g.warnings]
    return analysis, boot_rates


def _rates(totals: np.ndarray) -> np.ndarray:
    """errors / units along the last axis ([errors, units]); NaN where there are no units."""
    with np.errstate(all="ignore"):
        units = totals[..., 1].astype(float)
        return np.where(units > 0, totals[..., 0] / units, np.nan)


def _group_results(
    counts: GroupedCounts,
    settings: StatsSettings,
    totals: np.ndarray,
    rates: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    clusters_per_group: np.ndarray,
) -> list[GroupResult]:
    k = len(counts.labels)
    utterances = np.bincount(counts.group, minlength=k)
    bins = {
        name: np.bincount(counts.group, weights=getattr(counts, name), minlength=k)
        for name in ("substitutions", "deletions", "insertions")
    }
    known = ~np.isnan(counts.durations)
    seconds = np.bincount(counts.group[known], weights=counts.durations[known], minlength=k)
    all_timed = np.bincount(counts.group, weights=known, minlength=k) == utterances
    speakers = _speakers_per_group(counts, k)
    results = []
    for g in range(k):
        ci = (finite_or_none(low[g]), finite_or_none(high[g]))
        result = GroupResult(
            group=counts.labels[g],
            values=counts.values[g],
            utterances=int(utterances[g]),
            speakers=speakers[g],
            hours=float(seconds[g] / 3600) if all_timed[g] else None,
            units=int(totals[g, 1]),
            substitutions=int(bins["substitutions"][g]),
            deletions=int(bins["deletions"][g]),
            insertions=int(bins["insertions"][g]),
            rate=finite_or_none(rates[g]),
            ci=ci,
        )
        result.warnings = _warnings(result, int(clusters_per_group[g]), settings)
        if result.warnings and int(clusters_per_group[g]) < 2:
            result.ci = (None, None)  # one cluster: every replicate is the same, no interval
        results.append(result)
    return results


def _speakers_per_group(counts: GroupedCounts, k: int) -> list[int | None]:
    """Distinct speakers per group; None for a group where no utterance names one."""
    out: list[int | None] = []
    for g in range(k):
        mask = (counts.group == g) & counts.speaker_known
        out.append(int(np.unique(counts.cluster[mask]).size) if mask.any() else None)
    return out


def _warnings(result: GroupResult, clusters: int, settings: StatsSettings) -> list[str]:
    notes = []
    if result.units == 0:
        notes.append("no reference units: its error rate is undefined (empty references)")
        return notes
    if clusters < 2:
        what = "speaker" if result.speakers else "utterance"
        notes.append(f"only one {what}: no confidence interval can be estimated")
    elif result.speakers is not None and result.speakers < settings.min_speakers:
        notes.append(
            f"only {result.speakers} speakers (< {settings.min_speakers}): the "
            "interval rests on very few voices"
        )
    if result.units < settings.min_units:
        notes.append(f"only {result.units} reference units (< {settings.min_units})")
    low, high = result.ci
    if low is not None and high is not None and high - low > settings.max_ci_width:
        notes.append(
            f"wide interval ({high - low:.3f} > {settings.max_ci_width}): collect "
            "more data for this group before drawing conclusions"
        )
    return notes


def _reference_index(labels: list[str], reference: str | None) -> int | None:
    if reference is None:
        return None
    return labels.index(reference) if reference in labels else None


def _add_tests(
    groups: list[GroupResult],
    sums: ClusterSums,
    boot_rates: np.ndarray,
    boot: np.ndarray,
    settings: StatsSettings,
    ref_index: int | None,
) -> str:
    """Fill p-values (and Holm-adjusted ones) per group; return the test's description."""
    test = settings.test
    if test == "auto":  # exact permutations while they are cheap, the bootstrap beyond that
        cost = len(sums.values) * settings.n_permutations
        test = "permutation" if cost <= _PERMUTATION_BUDGET else "bootstrap"
    if test == "permutation":
        p = permutation_rate_pvalues(
            sums, settings.n_permutations, make_rng(settings.seed + 1), ref_index
        )
        name = "cluster permutation test"
    else:
        if ref_index is None:
            rest = boot.sum(axis=1, keepdims=True) - boot
            diff = boot_rates - _rates(rest)
        else:
            diff = boot_rates - boot_rates[:, [ref_index]]
        p = bootstrap_pvalue(diff)
        if ref_index is not None:
            p[ref_index] = np.nan
        name = "cluster bootstrap test"
    adjusted = holm(p)
    for k, result in enumerate(groups):
        result.p_value, result.p_holm = finite_or_none(p[k]), finite_or_none(adjusted[k])
    against = "the reference group" if ref_index is not None else "the rest of the data"
    return f"{name} of each group against {against}, Holm-corrected"


def _gap(
    groups: list[GroupResult],
    rates: np.ndarray,
    boot_rates: np.ndarray,
    settings: StatsSettings,
    reference: str | None,
    test_name: str,
) -> GapResult | None:
    defined = np.flatnonzero(np.isfinite(rates))
    if defined.size < 2:
        return None
    worst = int(defined[np.argmax(rates[defined])])
    best = int(defined[np.argmin(rates[defined])])
    gap_low, gap_high = percentile_interval(
        (boot_rates[:, worst] - boot_rates[:, best])[:, None], settings.confidence
    )
    with np.errstate(all="ignore"):
        ratio_samples = boot_rates[:, worst] / boot_rates[:, best]
        ratio = rates[worst] / rates[best] if rates[best] > 0 else np.nan
    ratio_low, ratio_high = percentile_interval(ratio_samples[:, None], settings.confidence)
    ratio_ci: Interval = (finite_or_none(ratio_low[0]), finite_or_none(ratio_high[0]))
    return GapResult(
        worst=groups[worst].group,
        best=groups[best].group,
        gap=float(rates[worst] - rates[best]),
        gap_ci=(finite_or_none(gap_low[0]), finite_or_none(gap_high[0])),
        ratio=finite_or_none(ratio),
        ratio_ci=ratio_ci if np.isfinite(ratio) else (None, None),
        reference=reference,
        test=test_name,
        significant=[g.group for g in groups if g.p_holm is not None and g.p_holm < settings.alpha],
    )
