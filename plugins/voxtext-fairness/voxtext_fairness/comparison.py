"""Paired comparison of two recognisers on the same utterances.

Both systems are resampled with the *same* speaker draws, so the interval of "B's rate minus
A's" reflects only how the systems differ, not how the test set happened to be drawn — far
narrower than comparing two separate intervals.
"""

from __future__ import annotations

import numpy as np

from voxtext.errors import DataError
from voxtext_fairness.alignment import METRIC_NAMES, ScoredPredictions
from voxtext_fairness.group_stats import GroupedCounts, StatsSettings
from voxtext_fairness.report import GroupDifference, SystemComparison, finite_or_none, too_few
from voxtext_fairness.resampling import (
    bootstrap_p_floor,
    bootstrap_pvalue,
    bootstrap_totals,
    cluster_sums,
    holm,
    make_rng,
    percentile_interval,
)


def compare_systems(
    scored_a: ScoredPredictions,
    scored_b: ScoredPredictions,
    counts_a: GroupedCounts,
    unit: str,
    attributes: tuple[str, ...],
    names: tuple[str, str],
    settings: StatsSettings,
) -> tuple[SystemComparison, list[str]]:
    """B minus A per group and in the worst-minus-best gap; returns notes for the report.

    One family of tests: every group's difference and the gap's, Holm-corrected together.
    A group with fewer than ``min_speakers`` speakers gets no interval and no test.
    """
    order, notes = _align(scored_a, scored_b, names)
    counts_b = scored_b.counts[unit]
    columns = np.stack(
        [counts_a.errors, counts_a.units, counts_b.errors[order], counts_b.reference_units[order]],
        axis=1,
    )
    sums = cluster_sums(columns, counts_a.group, counts_a.cluster, len(counts_a.labels))
    totals = sums.group_totals()
    boot = bootstrap_totals(sums, settings.n_boot, make_rng(settings.seed))
    rates_a, rates_b = _rates(totals[:, 0:2]), _rates(totals[:, 2:4])
    boot_a, boot_b = _rates(boot[..., 0:2]), _rates(boot[..., 2:4])
    diff = boot_b - boot_a
    sizes = sums.group_sizes()
    low, high = percentile_interval(diff, settings.confidence, sizes)
    p = bootstrap_pvalue(diff)
    short = sizes < settings.min_speakers
    p[short] = np.nan
    gap_a, samples_a, pair_a = _gap(rates_a, boot_a)
    gap_b, samples_b, pair_b = _gap(rates_b, boot_b)
    gap_diff = samples_b - samples_a
    gap_short = next((k for k in (*pair_a, *pair_b) if short[k]), None)
    gap_p = np.nan if gap_short is not None else bootstrap_pvalue(gap_diff[:, None])[0]
    adjusted = holm(np.append(p, gap_p))
    groups = []
    for k, label in enumerate(counts_a.labels):
        note = too_few(int(sizes[k]), settings.min_speakers) if short[k] else None
        groups.append(
            GroupDifference(
                label,
                finite_or_none(rates_a[k]),
                finite_or_none(rates_b[k]),
                finite_or_none(rates_b[k] - rates_a[k]),
                (None, None) if note else (finite_or_none(low[k]), finite_or_none(high[k])),
                finite_or_none(p[k]),
                finite_or_none(adjusted[k]),
                note,
            )
        )
    pair = (*pair_a, *pair_b)
    fewest = int(sizes[list(pair)].min()) if pair else 1
    gap_low, gap_high = percentile_interval(gap_diff[:, None], settings.confidence, fewest)
    comparison = SystemComparison(
        system_a=names[0],
        system_b=names[1],
        attributes=list(attributes),
        metric=METRIC_NAMES[unit],
        groups=groups,
        gap_a=finite_or_none(gap_a),
        gap_b=finite_or_none(gap_b),
        gap_difference=finite_or_none(gap_b - gap_a),
        gap_difference_ci=(None, None)
        if gap_short is not None
        else (finite_or_none(gap_low[0]), finite_or_none(gap_high[0])),
        gap_p_value=finite_or_none(gap_p),
        gap_p_holm=finite_or_none(adjusted[-1]),
        gap_note=None
        if gap_short is None
        else f"{groups[gap_short].group}: {groups[gap_short].note}",
        test=f"paired speaker-bootstrap test ({settings.n_boot} replicates, both systems "
        "resampled with the same speakers), Holm-corrected over the groups and the gap",
        p_floor=bootstrap_p_floor(settings.n_boot),
    )
    return comparison, notes


def _align(
    a: ScoredPredictions, b: ScoredPredictions, names: tuple[str, str]
) -> tuple[np.ndarray, list[str]]:
    """Positions in ``b`` of each of ``a``'s ids; both must hold the same utterances."""
    position = {p.id: i for i, p in enumerate(b.predictions)}
    missing = [p.id for p in a.predictions if p.id not in position]
    extra = len(b.predictions) - (len(a.predictions) - len(missing))
    if missing or extra:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise DataError(
            f"cannot compare '{names[0]}' with '{names[1]}': they must score the same "
            f"utterances, but {len(missing)} ids of '{names[0]}' are not in '{names[1]}'"
            f"{' (' + shown + ')' if missing else ''} and '{names[1]}' has {extra} ids "
            f"'{names[0]}' lacks — decode the same test set with both systems"
        )
    order = np.array([position[p.id] for p in a.predictions], dtype=np.int64)
    differing = sum(
        p.ref != b.predictions[i].ref for p, i in zip(a.predictions, order, strict=True)
    )
    notes = []
    if differing:
        notes.append(
            f"{differing} utterances have different references in '{names[0]}' and "
            f"'{names[1]}': each system is scored against its own references"
        )
    return order, notes


def _rates(totals: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        units = totals[..., 1].astype(float)
        return np.where(units > 0, totals[..., 0] / units, np.nan)


def _gap(rates: np.ndarray, boot: np.ndarray) -> tuple[float, np.ndarray, tuple[int, ...]]:
    """Worst minus best at the point estimate, the same two groups in every replicate, and
    which two groups they are."""
    defined = np.flatnonzero(np.isfinite(rates))
    if defined.size < 2:
        return float("nan"), np.full(len(boot), np.nan), ()
    worst = int(defined[np.argmax(rates[defined])])
    best = int(defined[np.argmin(rates[defined])])
    return float(rates[worst] - rates[best]), boot[:, worst] - boot[:, best], (worst, best)
