"""Vectorised cluster bootstrap, permutation tests and multiple-testing correction.

Utterances of one speaker are not independent (the same voice, microphone and accent), so a
bootstrap that resamples utterances gives intervals that are too narrow. Here the unit of
resampling is a *cluster* — a speaker within a group, or an utterance when speakers are
unknown — and resampling happens within each group (stratified), so every replicate keeps
each group's number of speakers.

Everything is array arithmetic on per-cluster sums: a replicate of group ``k`` draws
``m_k`` cluster indices, gathers their sums and adds them up. Error counts and reference
lengths are packed into one int64 (``errors << 32 | units``) so one gather and one sum serve
both; the fallback for counts too large to pack keeps them in separate columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

# Elements gathered per chunk: bounds memory (~32 MB of int64) whatever the data size.
_CHUNK_ELEMENTS = 4_000_000
_LOW_BITS = 32
_LOW_MASK = (1 << _LOW_BITS) - 1


def make_rng(seed: int) -> np.random.Generator:
    """The generator every resampling here uses: SFC64 is the fastest numpy offers."""
    return np.random.Generator(np.random.SFC64(seed))


@dataclass(frozen=True)
class ClusterSums:
    """Per-cluster sums of per-utterance values, clusters sorted by group.

    ``values``: int64 ``(clusters, columns)``; ``group_starts``: int64 ``(groups + 1,)``,
    cluster offsets, so group ``k`` owns clusters ``group_starts[k]:group_starts[k + 1]``.
    """

    values: np.ndarray
    group_starts: np.ndarray

    @property
    def n_groups(self) -> int:
        return len(self.group_starts) - 1

    def group_sizes(self) -> np.ndarray:
        return np.diff(self.group_starts)

    def group_totals(self) -> np.ndarray:
        """``(groups, columns)`` totals over each group's clusters."""
        totals = np.zeros((self.n_groups, self.values.shape[1]), dtype=np.int64)
        nonempty = self.group_sizes() > 0
        if nonempty.any():
            starts = self.group_starts[:-1][nonempty]
            totals[nonempty] = np.add.reduceat(self.values, starts, axis=0)
        return totals


def cluster_sums(
    values: np.ndarray, group: np.ndarray, cluster: np.ndarray, n_groups: int
) -> ClusterSums:
    """Sum ``values`` ``(utterances, columns)`` per (group, cluster) pair.

    ``group``: int codes in ``[0, n_groups)``; ``cluster``: int codes (speaker ids, or
    ``arange`` for utterance-level resampling). A speaker heard in two groups is two
    clusters, one per group, because resampling happens within each group.
    """
    values = np.asarray(values, dtype=np.int64).reshape(len(group), -1)
    group = np.asarray(group, dtype=np.int64)
    cluster = np.asarray(cluster, dtype=np.int64)
    key = group * (int(cluster.max(initial=0)) + 1) + cluster
    unique_keys, inverse = np.unique(key, return_inverse=True)
    sums = np.zeros((len(unique_keys), values.shape[1]), dtype=np.int64)
    np.add.at(sums, inverse, values)
    cluster_group = unique_keys // (int(cluster.max(initial=0)) + 1)
    starts = np.searchsorted(cluster_group, np.arange(n_groups + 1)).astype(np.int64)
    return ClusterSums(sums, starts)


def bootstrap_totals(sums: ClusterSums, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_boot, groups, columns)`` group totals of stratified cluster-bootstrap replicates.

    Each replicate sums ``m - 1`` clusters drawn with replacement from a group's ``m`` and
    scales the sum by ``m / (m - 1)`` (float64, exact for counts below 2**53). A group with
    no clusters gets zeros. Columns are packed two by two into single int64s
    when the largest possible replicate total fits, which halves the memory traffic.
    """
    values = sums.values
    sizes = sums.group_sizes()
    columns = values.shape[1]
    largest = int(sizes.max(initial=0)) * np.abs(values).max(axis=0, initial=0)
    packable = (
        columns % 2 == 0
        and bool((values >= 0).all())
        and bool((largest[0::2] < 2**31).all() and (largest[1::2] < 2**32).all())
    )
    work = (values[:, 0::2] << _LOW_BITS) | values[:, 1::2] if packable else values
    out = np.zeros((n_boot, sums.n_groups, work.shape[1]), dtype=np.int64)
    for k in range(sums.n_groups):
        size = int(sizes[k])
        if size == 0:
            continue
        block = work[sums.group_starts[k] : sums.group_starts[k + 1]]
        rows = max(1, _CHUNK_ELEMENTS // (size * work.shape[1]))
        index_type = np.uint16 if size <= 2**16 else np.int64
        # Rao & Wu's rescaled bootstrap: m - 1 draws of m clusters make the bootstrap
        # variance of a mean unbiased (m draws understate it by (m - 1) / m, which matters
        # for groups of 10-30 speakers).
        draws = max(size - 1, 1)
        for first in range(0, n_boot, rows):
            count = min(rows, n_boot - first)
            index = rng.integers(0, size, size=(count, draws), dtype=index_type)
            out[first : first + count, k] = _gather_sum(block, index)
    if packable:
        unpacked = np.empty((n_boot, sums.n_groups, columns), dtype=np.int64)
        unpacked[..., 0::2] = out >> _LOW_BITS
        unpacked[..., 1::2] = out & _LOW_MASK
        out = unpacked
    # Back to the scale of m clusters, so totals summed across groups keep their weights.
    scale = sizes / np.maximum(sizes - 1, 1)
    return out * scale[None, :, None]


def _gather_sum(block: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Sum of ``block`` rows picked by each row of ``index``: ``(count, columns)``."""
    if block.shape[1] == 1:  # one column: a flat gather is the fastest path numpy has
        return block[:, 0][index].sum(axis=1)[:, None]
    return block[index].sum(axis=1)


def percentile_interval(
    samples: np.ndarray, confidence: float, clusters: np.ndarray | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval along axis 0, ignoring undefined (NaN) replicates.

    With ``clusters`` (per column: how many clusters the replicates resampled) it is the
    *expanded* percentile interval (Hesterberg 2015): quantiles at the level that makes a
    t distribution with ``clusters - 1`` degrees of freedom reach ``confidence``. The plain
    percentile interval is too narrow with few clusters (measured: 92 % coverage at 95 %
    with 30 speakers per group); the rescaled resampling (``m - 1`` draws) already corrects
    the variance, this corrects the tails.
    """
    samples = np.asarray(samples, dtype=float)
    shape = samples.shape[1:]
    levels = np.broadcast_to(
        confidence if clusters is None else expanded_confidence(confidence, clusters), shape
    ).ravel()
    columns = samples.reshape(len(samples), -1)
    low = np.full(columns.shape[1], np.nan)
    high = np.full(columns.shape[1], np.nan)
    for j in range(columns.shape[1]):
        column = columns[:, j][np.isfinite(columns[:, j])]
        if column.size:
            tail = (1.0 - float(levels[j])) / 2.0
            low[j], high[j] = np.quantile(column, [tail, 1.0 - tail])
    return low.reshape(shape), high.reshape(shape)


def expanded_confidence(confidence: float, clusters: np.ndarray | int) -> np.ndarray:
    """The normal-scale level matching a t interval on ``clusters - 1`` degrees of freedom."""
    from scipy import stats

    df = np.maximum(np.asarray(clusters, dtype=float) - 1.0, 1.0)
    return 2.0 * stats.norm.cdf(stats.t.ppf((1.0 + confidence) / 2.0, df)) - 1.0


def bootstrap_pvalue(differences: np.ndarray) -> np.ndarray:
    """Two-sided p-value of "the difference is zero" from its bootstrap replicates (axis 0).

    The test that rejects exactly when the percentile interval excludes zero, with the +1
    correction so a finite number of replicates never claims p = 0.
    """
    finite = np.isfinite(differences)
    count = finite.sum(axis=0)
    at_most = ((differences <= 0) & finite).sum(axis=0)
    at_least = ((differences >= 0) & finite).sum(axis=0)
    with np.errstate(all="ignore"):
        p = 2.0 * np.minimum(at_most + 1, at_least + 1) / (count + 1)
    return np.where(count > 0, np.minimum(p, 1.0), np.nan)


def bootstrap_p_floor(n_boot: int) -> float:
    """The smallest p-value :func:`bootstrap_pvalue` can return from ``n_boot`` replicates."""
    return min(1.0, 2.0 / (n_boot + 1))


def permutation_p_floor(n_permutations: int) -> float:
    """The smallest p-value of a Monte-Carlo permutation test: ``1 / (B + 1)``."""
    return 1.0 / (n_permutations + 1)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (NaN entries left out)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    if present.size == 0:
        return adjusted
    order = present[np.argsort(p[present], kind="stable")]
    factors = present.size - np.arange(present.size)
    stepped = np.maximum.accumulate(np.minimum(1.0, p[order] * factors))
    adjusted[order] = stepped
    return adjusted


def permutation_rate_pvalues(
    sums: ClusterSums, n_permutations: int, rng: np.random.Generator, reference: int | None
) -> np.ndarray:
    """Two-sided permutation p-value per group for "this group's rate equals the others'".

    ``sums.values`` holds ``[errors, units]`` per cluster; a rate is errors over units
    (micro average). Without a ``reference`` group each group is tested against the rest of
    the data, with one shuffle of cluster-to-group labels serving every group at once; with
    one, each group is tested against the reference, shuffling the two groups' clusters.
    Clusters are shuffled whole, so a speaker's utterances move together. NaN for a group
    with no clusters (and for the reference itself).
    """
    totals = sums.group_totals()
    sizes = sums.group_sizes()
    p_values = np.full(sums.n_groups, np.nan)
    if reference is None:
        observed = _rate_differences(totals, totals.sum(axis=0) - totals)
        exceed = np.zeros(sums.n_groups)
        nonempty = np.flatnonzero(sizes > 0)
        starts = sums.group_starts[:-1][nonempty]
        for shuffled in _shuffled_chunks(sums.values, n_permutations, rng):
            group = np.zeros((shuffled.shape[0], sums.n_groups, 2), dtype=np.int64)
            group[:, nonempty] = np.add.reduceat(shuffled, starts, axis=1)
            permuted = _rate_differences(group, totals.sum(axis=0) - group)
            exceed += _at_least_as_extreme(permuted, observed).sum(axis=0)
        p_values[nonempty] = (exceed[nonempty] + 1) / (n_permutations + 1)
        p_values[~np.isfinite(observed)] = np.nan  # a group with no reference units
        return p_values
    ref = sums.values[sums.group_starts[reference] : sums.group_starts[reference + 1]]
    for k in np.flatnonzero(sizes > 0):
        if k == reference or len(ref) == 0:
            continue
        own = sums.values[sums.group_starts[k] : sums.group_starts[k + 1]]
        pool = np.concatenate([own, ref])
        observed = _rate_differences(totals[k], totals[reference])
        if not np.isfinite(observed):
            continue
        exceed = 0
        for shuffled in _shuffled_chunks(pool, n_permutations, rng):
            first = shuffled[:, : len(own)].sum(axis=1)
            permuted = _rate_differences(first, pool.sum(axis=0) - first)
            exceed += int(_at_least_as_extreme(permuted, observed).sum())
        p_values[k] = (exceed + 1) / (n_permutations + 1)
    return p_values


def _shuffled_chunks(
    values: np.ndarray, count: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Yield ``(rows, clusters, 2)`` arrays: ``count`` independent shuffles of ``values``."""
    rows = max(1, _CHUNK_ELEMENTS // max(1, len(values)))
    for first in range(0, count, rows):
        n = min(rows, count - first)
        order = rng.permuted(np.broadcast_to(np.arange(len(values)), (n, len(values))), axis=1)
        yield values[order]


def _rate_differences(group: np.ndarray, other: np.ndarray) -> np.ndarray:
    """``errors/units`` of ``group`` minus that of ``other``; the last axis is [errors, units]."""
    with np.errstate(all="ignore"):
        return group[..., 0] / group[..., 1] - other[..., 0] / other[..., 1]


def _at_least_as_extreme(permuted: np.ndarray, observed: np.ndarray) -> np.ndarray:
    # A relative tolerance so ties with the observed statistic count, as they must.
    return np.abs(permuted) >= np.abs(observed) * (1 - 1e-9) - 1e-12
