"""Calibration by simulation: intervals cover a known gap; tests reject rarely without one."""

from __future__ import annotations

import numpy as np
import pytest
from voxtext_fairness.group_stats import GroupedCounts, StatsSettings, analyse_groups

REPETITIONS = 200


def _simulate(
    rng: np.random.Generator, rates: dict[str, float], speakers: int = 30, utterances: int = 8
) -> GroupedCounts:
    """Speakers with their own error rate around the group's (Beta, concentration 40), so
    utterances of one speaker are correlated, as they are in real test sets."""
    errors, units, groups, clusters = [], [], [], []
    for group, rate in rates.items():
        speaker_rates = rng.beta(rate * 40, (1 - rate) * 40, size=speakers)
        for s, speaker_rate in enumerate(speaker_rates):
            n = rng.poisson(10, size=utterances) + 1
            errors.append(rng.binomial(n, speaker_rate))
            units.append(n)
            groups += [group] * utterances
            clusters += [f"{group}-{s}"] * utterances
    return GroupedCounts.from_arrays(
        np.concatenate(errors), np.concatenate(units), groups, clusters
    )


def test_interval_covers_a_known_gap_in_at_least_90_percent_of_repetitions():
    rng = np.random.default_rng(2024)
    settings = StatsSettings(n_boot=1000, seed=0, test="bootstrap")
    true_gap = 0.30 - 0.15
    covered_diff = covered_gap = 0
    for repetition in range(REPETITIONS):
        counts = _simulate(rng, {"wuu": 0.30, "cmn": 0.15})
        analysis, _ = analyse_groups(
            counts, StatsSettings(**{**settings.__dict__, "seed": repetition}), reference="cmn"
        )
        wuu = next(g for g in analysis.groups if g.group == "wuu")
        covered_diff += wuu.diff_ci[0] <= true_gap <= wuu.diff_ci[1]
        low, high = analysis.gap.gap_ci
        covered_gap += low <= true_gap <= high
    assert covered_diff / REPETITIONS >= 0.90
    assert covered_gap / REPETITIONS >= 0.90


@pytest.mark.parametrize("test", ["permutation", "bootstrap"])
def test_without_a_gap_the_test_rejects_at_most_10_percent(test):
    rng = np.random.default_rng(7)
    rejections = 0
    for repetition in range(REPETITIONS):
        counts = _simulate(rng, {"wuu": 0.2, "cmn": 0.2})
        settings = StatsSettings(n_boot=400, n_permutations=400, seed=repetition, test=test)
        analysis, _ = analyse_groups(counts, settings, reference="cmn")
        wuu = next(g for g in analysis.groups if g.group == "wuu")
        rejections += wuu.p_holm < 0.05
    assert rejections / REPETITIONS <= 0.10


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
