"""The ASR training losses: the plain CTC loss, and the group-aware one (group ids in, group
modules' auxiliary objectives added, a strategy's group loss replacing the CTC mean)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from voxtext.protocols import GroupLoss
from voxtext.speech.groups import reduce_per_utterance
from voxtext.train import LossFn, LossOutput, float32_loss


def ctc_loss(
    model: torch.nn.Module, batch: Mapping[str, Any], generator: torch.Generator
) -> LossOutput:
    """CTC loss summed over the batch, normalised by its target tokens (so accumulation over
    batches of different lengths weighs every token alike)."""
    log_probs, out_lengths = model(batch["waveforms"], batch["lengths"], generator)
    with float32_loss():
        loss = F.ctc_loss(
            log_probs.float().transpose(0, 1),
            batch["targets"],
            out_lengths,
            batch["target_lengths"],
            reduction="sum",
            zero_infinity=True,
        )
    return LossOutput(
        loss_sum=loss,
        units=int(batch["target_lengths"].sum()),
        stats={"too_short_for_ctc": _too_short(out_lengths, batch["target_lengths"])},
    )


def group_aware_loss(group_loss: GroupLoss | None) -> LossFn:
    """The loss for a model with group ids (see ``voxtext.speech.groups``).

    Without ``group_loss`` the CTC part is the plain per-token mean (units: target tokens);
    with one, it is ``group_loss``'s value per utterance (units: utterances). A group module's
    auxiliary loss (a weighted mean, e.g. dialect-ID cross-entropy) is added per unit, so the
    step's objective is ``CTC mean + Σ auxiliary``.
    """

    def loss_fn(
        model: torch.nn.Module, batch: Mapping[str, Any], generator: torch.Generator
    ) -> LossOutput:
        group_ids, target_lengths = batch["group_ids"], batch["target_lengths"]
        log_probs, out_lengths, auxiliary = model(
            batch["waveforms"], batch["lengths"], generator, group_ids, return_auxiliary=True
        )
        with float32_loss():
            per_utterance = F.ctc_loss(
                log_probs.float().transpose(0, 1),
                batch["targets"],
                out_lengths,
                target_lengths,
                reduction="none",
                zero_infinity=True,
            )
            loss_sum, units, stats = reduce_per_utterance(
                per_utterance, target_lengths, group_ids, group_loss
            )
            stats["too_short_for_ctc"] = _too_short(out_lengths, target_lengths)
            if auxiliary is not None:
                loss_sum = loss_sum + auxiliary.loss.float() * units
                stats.update({k: n / d for k, (n, d) in auxiliary.ratios.items() if d > 0})
        return LossOutput(loss_sum=loss_sum, units=units, stats=stats)

    return loss_fn


def _too_short(out_lengths: torch.Tensor, target_lengths: torch.Tensor) -> float:
    """Utterances whose encoder output has fewer frames than targets (CTC cannot align)."""
    return float(int((out_lengths < target_lengths).sum()))
