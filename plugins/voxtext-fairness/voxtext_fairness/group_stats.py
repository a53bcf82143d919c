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
    too_few,
)
from voxtext_fairness.resampling import (
    ClusterSums,
    bootstrap_p_floor,
    bootstrap_pvalue,
    bootstrap_totals,
    cluster_sums,
    holm,
    make_rng,
    percentile_interval,
    permutation_p_floor,
    permutation_rate_pvalues,
)

# Shuffled cluster labels per report under test="auto" before the bootstrap test takes over:
# numpy's row-wise shuffle runs at ~30 M elements/s, so this keeps tests under a second.
_PERMUTATION_BUDGET = 20_000_000


@dataclass(frozen=True)
class StatsSettings:
    """How intervals and tests are computed, and when a group earns a warning.

    ``min_speakers``: below it a group (or the whole set, for the overall rate) gets no
    interval and no p-value — a speaker bootstrap over 2 voices has a handful of distinct
    replicates and an interval that spans only those voices.
    """

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
    """The analysis of one grouping, and the ``(n_boot, groups)`` bootstrap rates behind it.

    Groups are resampled within themselves (stratified: each replicate keeps every group's
    number of speakers). The overall rate is too, unless a group has a single speaker: then
    speakers are resampled across the whole set, so eight groups of one speaker each still
    give an overall interval over eight voices.
    """
    n_groups = len(counts.labels)
    columns = np.stack([counts.errors, counts.units], axis=1)
    sums = cluster_sums(columns, counts.group, counts.cluster, n_groups)
    totals = sums.group_totals()
    rates = _rates(totals)
    boot = bootstrap_totals(sums, settings.n_boot, make_rng(settings.seed))
    boot_rates = _rates(boot)
    sizes = sums.group_sizes()
    low, high = percentile_interval(boot_rates, settings.confidence, sizes)
    groups = _group_results(counts, settings, totals, rates, low, high, sizes)
    ref_index = _reference_index(counts.labels, reference)
    if ref_index is not None:
        _add_reference_differences(groups, rates, boot_rates, ref_index, settings)
    test_name, p_floor = "", None
    if with_tests and n_groups > 1:
        test_name, p_floor = _add_tests(groups, sums, boot_rates, boot, settings, ref_index)
    overall_ci, overall_note, overall_resampling = _overall_interval(
        columns, counts, sizes, settings
    )
    analysis = GroupAnalysis(
        attributes=list(attributes),
        metric=metric,
        unit=unit,
        overall_rate=finite_or_none(_rates(totals.sum(axis=0))),
        overall_ci=overall_ci,
        groups=groups,
        gap=_gap(groups, rates, boot_rates, settings, reference, test_name),
        overall_note=overall_note,
        overall_resampling=overall_resampling,
        p_floor=p_floor,
    )
    analysis.warnings = [f"{g.group}: {w}" for g in groups for w in g.warnings]
    return analysis, boot_rates


def _overall_interval(
    columns: np.ndarray, counts: GroupedCounts, sizes: np.ndarray, settings: StatsSettings
) -> tuple[Interval, str | None, str]:
    """The overall rate's interval, the reason it is missing, and what was resampled.

    Stratified by group (each keeps its speakers) when every group has two speakers or
    more; otherwise — one speaker in some group, where a stratified replicate could not vary
    it — speakers are resampled across the whole set.
    """
    stratified = bool((sizes[sizes > 0] >= 2).all())
    group = counts.group if stratified else np.zeros(len(counts.group), dtype=np.int64)
    strata = len(counts.labels) if stratified else 1
    sums = cluster_sums(columns, group, counts.cluster, strata)
    clusters = int(sums.group_sizes().sum())
    what = "speakers within each group" if stratified else "speakers across all groups"
    if clusters < settings.min_speakers:
        return (None, None), too_few(clusters, settings.min_speakers), what
    boot = bootstrap_totals(sums, settings.n_boot, make_rng(settings.seed + 2))
    # degrees of freedom of a stratified total: the sum of (clusters - 1) over strata
    df = int((sums.group_sizes()[sums.group_sizes() > 0] - 1).sum()) + 1
    low, high = percentile_interval(_rates(boot.sum(axis=1))[:, None], settings.confidence, df)
    return (finite_or_none(low[0]), finite_or_none(high[0])), None, what


def _add_reference_differences(
    groups: list[GroupResult],
    rates: np.ndarray,
    boot_rates: np.ndarray,
    ref_index: int,
    settings: StatsSettings,
) -> None:
    reference = groups[ref_index]
    fewest = np.minimum([g.clusters for g in groups], reference.clusters)
    diff_low, diff_high = percentile_interval(
        boot_rates - boot_rates[:, [ref_index]], settings.confidence, fewest
    )
    for k, result in enumerate(groups):
        result.diff_to_reference = finite_or_none(rates[k] - rates[ref_index])
        if _resolvable(result, settings) and _resolvable(reference, settings):
            result.diff_ci = (finite_or_none(diff_low[k]), finite_or_none(diff_high[k]))


def _resolvable(group: GroupResult, settings: StatsSettings) -> bool:
    """Enough clusters for an interval or a p-value (and a defined rate)."""
    return group.rate is not None and group.clusters >= settings.min_speakers


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
        clusters = int(clusters_per_group[g])
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
            ci=(finite_or_none(low[g]), finite_or_none(high[g])),
            clusters=clusters,
        )
        if clusters < settings.min_speakers:
            what = "speakers" if speakers[g] else "utterances"
            result.ci, result.ci_note = (None, None), too_few(clusters, settings.min_speakers, what)
        result.warnings = _warnings(result, settings)
        results.append(result)
    return results


def _speakers_per_group(counts: GroupedCounts, k: int) -> list[int | None]:
    """Distinct speakers per group; None for a group where no utterance names one."""
    out: list[int | None] = []
    for g in range(k):
        mask = (counts.group == g) & counts.speaker_known
        out.append(int(np.unique(counts.cluster[mask]).size) if mask.any() else None)
    return out


def _warnings(result: GroupResult, settings: StatsSettings) -> list[str]:
    notes = []
    if result.units == 0:
        notes.append("no reference units: its error rate is undefined (empty references)")
        return notes
    if result.ci_note is not None:
        notes.append(f"{result.ci_note}: no interval, no difference and no test are shown")
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
) -> tuple[str, float]:
    """Fill p-values (and Holm-adjusted ones) per group; return the test's description and
    the smallest p-value it can give. Groups with too few speakers get no test."""
    test = settings.test
    if test == "auto":  # exact permutations while they are cheap, the bootstrap beyond that
        cost = len(sums.values) * settings.n_permutations
        test = "permutation" if cost <= _PERMUTATION_BUDGET else "bootstrap"
    if test == "permutation":
        p = permutation_rate_pvalues(
            sums, settings.n_permutations, make_rng(settings.seed + 1), ref_index
        )
        name = f"speaker permutation test ({settings.n_permutations} permutations)"
        floor = permutation_p_floor(settings.n_permutations)
    else:
        if ref_index is None:
            rest = boot.sum(axis=1, keepdims=True) - boot
            diff = boot_rates - _rates(rest)
        else:
            diff = boot_rates - boot_rates[:, [ref_index]]
        p = bootstrap_pvalue(diff)
        name = f"speaker-bootstrap test ({settings.n_boot} replicates)"
        floor = bootstrap_p_floor(settings.n_boot)
    eligible = np.array([_resolvable(g, settings) for g in groups])
    if ref_index is None:  # each group against the rest: the rest needs enough speakers too
        rest_clusters = sums.group_sizes().sum() - sums.group_sizes()
        eligible &= rest_clusters >= settings.min_speakers
    else:
        eligible[ref_index] = False
        eligible &= _resolvable(groups[ref_index], settings)
    p = np.where(eligible, p, np.nan)
    adjusted = holm(p)
    for k, result in enumerate(groups):
        result.p_value, result.p_holm = finite_or_none(p[k]), finite_or_none(adjusted[k])
    against = "the reference group" if ref_index is not None else "the rest of the data"
    return f"{name} of each group against {against}, Holm-corrected over this table", floor


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
    with np.errstate(all="ignore"):
        ratio = rates[worst] / rates[best] if rates[best] > 0 else np.nan
    result = GapResult(
        worst=groups[worst].group,
        best=groups[best].group,
        gap=float(rates[worst] - rates[best]),
        gap_ci=(None, None),
        ratio=finite_or_none(ratio),
        ratio_ci=(None, None),
        reference=reference,
        test=test_name,
        significant=[g.group for g in groups if g.p_holm is not None and g.p_holm < settings.alpha],
    )
    short = [groups[k] for k in (worst, best) if not _resolvable(groups[k], settings)]
    if short:
        result.note = f"{short[0].group}: {short[0].ci_note}"
        return result
    fewest = min(groups[worst].clusters, groups[best].clusters)
    gap_low, gap_high = percentile_interval(
        (boot_rates[:, worst] - boot_rates[:, best])[:, None], settings.confidence, fewest
    )
    result.gap_ci = (finite_or_none(gap_low[0]), finite_or_none(gap_high[0]))
    if np.isfinite(ratio):
        with np.errstate(all="ignore"):
            samples = boot_rates[:, worst] / boot_rates[:, best]
        ratio_low, ratio_high = percentile_interval(samples[:, None], settings.confidence, fewest)
        result.ratio_ci = (finite_or_none(ratio_low[0]), finite_or_none(ratio_high[0]))
    return result
