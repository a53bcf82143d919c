"""Calibration by simulation: intervals cover a known gap in 93-97 % of repetitions at 95 %,
and tests without a gap reject at most 7 % of the time at alpha = 0.05 — for the per-group
analysis and for the paired comparison of two systems.

1000 repetitions: the binomial standard error of a coverage of 0.95 is then 0.007, so the
[0.93, 0.97] band is about three standard errors wide on each side.
"""

from __future__ import annotations

import numpy as np
import pytest
from voxtext_fairness.alignment import ErrorCounts, ScoredPredictions
from voxtext_fairness.comparison import compare_systems
from voxtext_fairness.group_stats import GroupedCounts, StatsSettings, analyse_groups
from voxtext_fairness.records import Prediction

REPETITIONS = 1000


def _speakers(rng, rates, speakers=30, utterances=8):
    """Per utterance (group, speaker, units, speaker error rate): speakers have their own
    rate around the group's (Beta, concentration 40), so utterances of one speaker are
    correlated, as they are in real test sets."""
    rows = []
    for group, rate in rates.items():
        speaker_rates = rng.beta(rate * 40, (1 - rate) * 40, size=speakers)
        for s, speaker_rate in enumerate(speaker_rates):
            for n in rng.poisson(10, size=utterances) + 1:
                rows.append((group, f"{group}-{s}", int(n), float(speaker_rate)))
    return rows


def _simulate(rng, rates, speakers=30, utterances=8) -> GroupedCounts:
    rows = _speakers(rng, rates, speakers, utterances)
    units = np.array([r[2] for r in rows])
    errors = rng.binomial(units, [r[3] for r in rows])
    return GroupedCounts.from_arrays(errors, units, [r[0] for r in rows], [r[1] for r in rows])


def test_intervals_cover_a_known_gap_and_the_overall_rate_in_93_to_97_percent():
    rng = np.random.default_rng(2024)
    true_gap, true_overall = 0.30 - 0.15, (0.30 + 0.15) / 2
    covered = {"difference": 0, "gap": 0, "overall": 0}
    for repetition in range(REPETITIONS):
        counts = _simulate(rng, {"wuu": 0.30, "cmn": 0.15})
        settings = StatsSettings(n_boot=1000, seed=repetition, test="bootstrap")
        analysis, _ = analyse_groups(counts, settings, reference="cmn")
        wuu = next(g for g in analysis.groups if g.group == "wuu")
        covered["difference"] += wuu.diff_ci[0] <= true_gap <= wuu.diff_ci[1]
        covered["gap"] += analysis.gap.gap_ci[0] <= true_gap <= analysis.gap.gap_ci[1]
        covered["overall"] += analysis.overall_ci[0] <= true_overall <= analysis.overall_ci[1]
    for name, hits in covered.items():
        assert 0.93 <= hits / REPETITIONS <= 0.97, (name, hits / REPETITIONS)


@pytest.mark.parametrize("test", ["permutation", "bootstrap"])
def test_without_a_gap_the_test_rejects_at_most_7_percent(test):
    rng = np.random.default_rng(7)
    rejections = 0
    for repetition in range(REPETITIONS):
        counts = _simulate(rng, {"wuu": 0.2, "cmn": 0.2})
        settings = StatsSettings(n_boot=500, n_permutations=500, seed=repetition, test=test)
        analysis, _ = analyse_groups(counts, settings, reference="cmn")
        wuu = next(g for g in analysis.groups if g.group == "wuu")
        rejections += wuu.p_holm < 0.05
    assert rejections / REPETITIONS <= 0.07


def test_with_a_real_gap_the_test_has_power():
    rng = np.random.default_rng(11)
    detected = 0
    for repetition in range(50):
        counts = _simulate(rng, {"wuu": 0.30, "cmn": 0.15})
        analysis, _ = analyse_groups(
            counts, StatsSettings(n_boot=200, n_permutations=200, seed=repetition), reference="cmn"
        )
        detected += "wuu" in analysis.gap.significant
    assert detected / 50 >= 0.9


def _paired(rng, rates, delta):
    """Two systems on the same utterances: B's speaker rate is A's plus ``delta``, each
    utterance's errors drawn independently given it."""
    rows = _speakers(rng, rates, speakers=30, utterances=8)
    units = np.array([r[2] for r in rows])
    rate_a = np.array([r[3] for r in rows])
    errors_a = rng.binomial(units, rate_a)
    errors_b = rng.binomial(units, np.clip(rate_a + delta, 0, 1))
    predictions = [
        Prediction(str(i), "x", "x", r[1], {"dialect": r[0]}) for i, r in enumerate(rows)
    ]
    zeros = np.zeros(len(rows), dtype=np.int64)

    def scored(errors):
        return ScoredPredictions(
            predictions, {}, {"word": ErrorCounts(errors, zeros, zeros, units)}
        )

    counts = GroupedCounts.from_arrays(errors_a, units, [r[0] for r in rows], [r[1] for r in rows])
    return scored(errors_a), scored(errors_b), counts


@pytest.mark.parametrize("delta", [0.0, 0.05])
def test_paired_comparison_covers_the_true_difference_and_rejects_rarely_without_one(delta):
    rng = np.random.default_rng(5)
    covered = rejected = 0
    for repetition in range(REPETITIONS):
        a, b, counts = _paired(rng, {"wuu": 0.25, "cmn": 0.15}, delta)
        settings = StatsSettings(n_boot=500, seed=repetition)
        comparison, _ = compare_systems(a, b, counts, "word", ("dialect",), ("a", "b"), settings)
        wuu = next(g for g in comparison.groups if g.group == "wuu")
        covered += wuu.ci[0] <= delta <= wuu.ci[1]
        rejected += wuu.p_holm < 0.05
    assert 0.93 <= covered / REPETITIONS <= 0.97
    if delta == 0.0:
        assert rejected / REPETITIONS <= 0.07
    else:
        assert rejected / REPETITIONS >= 0.8  # and a real 5-point change is found
