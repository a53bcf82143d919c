"""``balanced-sampling``: group-balanced draws of training utterances.

Group g (with n_g training utterances) is drawn with probability p_g ∝ n_g^alpha, and within
a group every utterance alike, so an utterance's weight is p_g / n_g. alpha = 1 is natural
sampling (p_g ∝ n_g), alpha = 0 uniform over groups, alpha = 0.5 in between (the "temperature
sampling" of multilingual ASR and MT). The trainer's ``DurationBatchSampler`` draws with
replacement with these weights, as many utterances per epoch as the training set has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from voxtext.protocols import GroupContext
from voxtext_groups.configs import BalancedSamplingConfig


def group_probabilities(counts: dict[int, int], alpha: float) -> dict[int, float]:
    """p_g ∝ n_g^alpha over the groups with utterances."""
    powered = {g: float(n) ** alpha for g, n in counts.items() if n > 0}
    total = sum(powered.values())
    return {g: value / total for g, value in powered.items()}


def balanced_weights(group_ids: Sequence[int], alpha: float) -> list[float]:
    """One weight per utterance, p_g / n_g for an utterance of group g (they sum to 1)."""
    counts = Counter(group_ids)
    probabilities = group_probabilities(dict(counts), alpha)
    return [probabilities[g] / counts[g] for g in group_ids]


class BalancedSampling:
    """The ``balanced-sampling`` strategy: sampling weights only."""

    def __init__(self, config: BalancedSamplingConfig) -> None:
        self.config = config

    def sampling_weights(self, group_ids: Sequence[int], context: GroupContext) -> list[float]:
        return balanced_weights(group_ids, self.config.alpha)

    def build_module(self, context: GroupContext) -> None:
        return None

    def build_loss(self, context: GroupContext) -> None:
        return None
