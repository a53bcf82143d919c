"""balanced-sampling: weights p_g / n_g with p_g ∝ n_g^alpha, checked by drawing through the
trainer's DurationBatchSampler many times and a chi-square goodness-of-fit test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from voxtext_groups.balanced_sampling import balanced_weights, group_probabilities

import voxtext
from voxtext.errors import ConfigError
from voxtext.protocols import GroupContext, GroupStrategy
from voxtext.train import DurationBatchSampler

COUNTS = {1: 600, 2: 300, 3: 100}  # group id -> utterances: an imbalanced training set
CONTEXT = GroupContext("dialect", ("<unknown>", "a", "b", "c"), 40, None)


def training_group_ids() -> list[int]:
    ids = [g for g, n in COUNTS.items() for _ in range(n)]
    return list(np.random.default_rng(0).permutation(ids))


def drawn_group_counts(weights: list[float], group_ids: list[int], epochs: int) -> np.ndarray:
    durations = np.random.default_rng(1).uniform(0.5, 2.0, len(group_ids)).tolist()
    sampler = DurationBatchSampler(durations, 20.0, weights=weights, seed=7, world_size=1, rank=0)
    drawn = np.zeros(len(COUNTS) + 1, dtype=np.int64)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for batch in sampler:
            np.add.at(drawn, [group_ids[i] for i in batch], 1)
    return drawn[1:]


def expected_probabilities(alpha: float) -> np.ndarray:
    powered = np.array([n**alpha for n in COUNTS.values()], dtype=np.float64)
    return powered / powered.sum()


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_drawn_group_frequencies_follow_n_to_the_alpha(alpha):
    strategy = voxtext.registry("group_strategies").create("balanced-sampling", {"alpha": alpha})
    assert isinstance(strategy, GroupStrategy)
    group_ids = training_group_ids()
    weights = list(strategy.sampling_weights(group_ids, CONTEXT))
    drawn = drawn_group_counts(weights, group_ids, epochs=10)  # 10 000 draws
    expected = expected_probabilities(alpha) * drawn.sum()
    assert stats.chisquare(drawn, expected).pvalue > 1e-3
    # the test has power: the draws reject the distribution of a different alpha
    other = expected_probabilities(1.0 - alpha if alpha != 0.5 else 1.0) * drawn.sum()
    assert stats.chisquare(drawn, other).pvalue < 1e-6


def test_weights_are_group_probability_over_group_size():
    group_ids = [1, 1, 1, 2]
    weights = balanced_weights(group_ids, alpha=0.0)
    assert weights == pytest.approx([1 / 6, 1 / 6, 1 / 6, 1 / 2])
    assert sum(balanced_weights(group_ids, alpha=0.5)) == pytest.approx(1.0)
    assert group_probabilities({1: 9, 2: 1}, 0.5) == pytest.approx({1: 0.75, 2: 0.25})
    assert group_probabilities({1: 9, 2: 1}, 1.0) == pytest.approx({1: 0.9, 2: 0.1})


def test_balanced_sampling_adds_no_module_or_loss():
    strategy = voxtext.registry("group_strategies").create("balanced-sampling")
    assert strategy.build_module(CONTEXT) is None
    assert strategy.build_loss(CONTEXT) is None


def test_negative_alpha_is_a_config_error():
    with pytest.raises(ConfigError, match="alpha must be >= 0"):
        voxtext.registry("group_strategies").create("balanced-sampling", {"alpha": -1})
