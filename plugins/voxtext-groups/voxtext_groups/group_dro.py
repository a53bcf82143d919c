"""``group-dro``: a CTC-aware group distributionally robust loss (after Sagawa et al. 2020,
"Distributionally Robust Neural Networks for Group Shifts").

For each batch:

1. every utterance's CTC loss is divided by its target length (long utterances would
   otherwise dominate their group), and averaged per group present: L_g;
2. the smoothed group losses follow an exponential moving average,
   ē_g ← (1 − smoothing)·ē_g + smoothing·L_g (the first observation sets ē_g);
3. the group weights q (a distribution over the groups met so far; a group joins at the
   mean weight of the others) take an exponentiated-gradient step for the groups present,
   q_g ← q_g·exp(step_size·ē_g), renormalised so that their total stays what it was (an
   absent group neither gains nor loses weight); then every weight is kept at or above
   ``floor`` / G, G the groups met (the others scaled down to make room), so no group is
   ever ignored;
4. the loss is Σ_g q_g L_g / Σ_g q_g over the groups present (on the scale of a per-token
   mean: equal group losses give exactly their common value).

The weights move only while gradients are taken (training), not under ``torch.no_grad``.
Under several processes the group loss sums and counts are summed over ranks first, so every
rank holds the same weights. The weights and the averages are the loss's state, saved with the
trainer state (exact resume), and logged as ``dro_weight/<group>``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.distributed as dist

from voxtext.protocols import GroupContext
from voxtext_groups.configs import GroupDroConfig


def group_means(
    values: torch.Tensor, group_ids: torch.Tensor, num_groups: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-group sums of ``values`` and counts, both float ``(num_groups,)``."""
    sums = torch.zeros(num_groups, dtype=values.dtype, device=values.device)
    counts = torch.zeros(num_groups, dtype=values.dtype, device=values.device)
    sums = sums.index_add(0, group_ids, values)
    counts = counts.index_add(0, group_ids, torch.ones_like(values))
    return sums, counts


def floored(weights: torch.Tensor, minimum: float) -> torch.Tensor:
    """The distribution closest to ``weights`` (same ratios among the rest) with every entry
    >= ``minimum``: entries below it are raised to it, the others scaled down to make room."""
    fixed = torch.zeros_like(weights, dtype=torch.bool)
    result = weights
    for _ in range(len(weights)):  # each round fixes at least one more entry, or stops
        low = ~fixed & (result < minimum)
        if not bool(low.any()):
            break
        fixed |= low
        free = weights[~fixed]
        room = 1.0 - minimum * int(fixed.sum())
        result = torch.where(fixed, torch.full_like(weights, minimum), weights)
        if free.numel():
            result = torch.where(fixed, result, weights * room / free.sum())
    return result


class GroupDroLoss:
    """The group loss (``protocols.GroupLoss``); see the module docstring."""

    def __init__(self, values: tuple[str, ...], config: GroupDroConfig) -> None:
        self.values, self.config = values, config
        count = len(values)
        self.weights = torch.full((count,), 1.0 / count, dtype=torch.float64)
        self.averages = torch.zeros(count, dtype=torch.float64)
        self.seen = torch.zeros(count, dtype=torch.bool)

    def __call__(
        self, utterance_losses: torch.Tensor, target_lengths: torch.Tensor, group_ids: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        per_token = utterance_losses.float() / target_lengths.clamp(min=1).float()
        sums, counts = group_means(per_token, group_ids, len(self.values))
        totals = _sum_over_ranks(torch.cat([sums.detach(), counts]).double())
        present = (totals[len(self.values) :] > 0).cpu()
        observed = (totals[: len(self.values)] / totals[len(self.values) :].clamp(min=1)).cpu()
        if torch.is_grad_enabled() and bool(torch.isfinite(observed).all()):
            self.update(observed, present)
        local = counts > 0
        group_loss = sums / counts.clamp(min=1)
        weights = self.weights.to(per_token.device, per_token.dtype) * local
        loss = (weights * group_loss).sum() / weights.sum().clamp(min=1e-12)
        return loss, self.stats()

    def update(self, observed: torch.Tensor, present: torch.Tensor) -> None:
        """One smoothed exponentiated-gradient step with the groups' mean losses ``observed``
        (float64 ``(G,)``) for the groups ``present`` (bool ``(G,)``)."""
        c = self.config
        if not bool(present.any()):
            return
        self._admit(present & ~self.seen, observed)
        blended = (1 - c.smoothing) * self.averages + c.smoothing * observed
        self.averages = torch.where(present, blended, self.averages)
        exponent = c.step_size * self.averages
        exponent -= exponent[present].max()  # the normalisation cancels it; keeps exp() finite
        stepped = self.weights * exponent.exp()
        mass = self.weights[present].sum()
        stepped = torch.where(present, stepped * mass / stepped[present].sum(), self.weights)
        weights = torch.zeros_like(stepped)
        seen = self.seen
        weights[seen] = floored(stepped[seen] / stepped[seen].sum(), c.floor / int(seen.sum()))
        self.weights = weights

    def _admit(self, newcomers: torch.Tensor, observed: torch.Tensor) -> None:
        """Groups seen for the first time join the distribution (until then it spans only the
        groups met so far) at the mean weight of those already in it; their loss average
        starts at the observed loss."""
        if not bool(newcomers.any()):
            return
        old = self.seen
        weights = torch.where(old, self.weights, 0.0)
        weights[newcomers] = float(weights[old].mean()) if bool(old.any()) else 1.0
        self.weights = weights / weights.sum()
        self.averages = torch.where(newcomers, observed, self.averages)
        self.seen = old | newcomers

    def stats(self) -> dict[str, float]:
        return {
            f"dro_weight/{value}": float(w)
            for value, w in zip(self.values, self.weights, strict=True)
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "values": list(self.values),
            "weights": self.weights.tolist(),
            "averages": self.averages.tolist(),
            "seen": self.seen.tolist(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if list(state["values"]) != list(self.values):
            raise ValueError(
                f"group-dro: the checkpoint's groups {state['values']} differ from this run's "
                f"{list(self.values)}; resume with the same training data"
            )
        self.weights = torch.tensor(state["weights"], dtype=torch.float64)
        self.averages = torch.tensor(state["averages"], dtype=torch.float64)
        self.seen = torch.tensor(state["seen"], dtype=torch.bool)
        if not math.isclose(float(self.weights.sum()), 1.0, rel_tol=1e-6):
            raise ValueError("group-dro: saved weights do not sum to 1; the state is corrupt")


def _sum_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """``values`` summed over every process (the device must fit the backend: the losses'
    device is the training device, which does)."""
    if dist.is_available() and dist.is_initialized():
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


class GroupDro:
    """The ``group-dro`` strategy: a group loss only."""

    def __init__(self, config: GroupDroConfig) -> None:
        self.config = config

    def sampling_weights(self, group_ids: object, context: GroupContext) -> None:
        return None

    def build_module(self, context: GroupContext) -> None:
        return None

    def build_loss(self, context: GroupContext) -> GroupDroLoss:
        return GroupDroLoss(context.values, self.config)
