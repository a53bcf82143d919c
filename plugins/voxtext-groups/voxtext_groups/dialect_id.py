"""``dialect-id``: an auxiliary dialect-identification head (multitask learning).

    encoded (B, T', D) --masked mean over valid frames--> (B, D) --[MLP]--> logits (B, G-1)

The head classifies among the known dialects (the unknown group is never a target). Its
cross-entropy, weighted by ``weight`` (λ), is added to the CTC loss, pushing the shared
encoder to represent dialect (with ``detach``, only the head learns from it: a probe). It
trains only on rows whose dialect no other module saw: with dialect conditioning or adapters
in the same model the label would otherwise be readable from the input, so those rows (all
but the ``unknown_probability`` share) are left out. Dev evaluation runs it with every
dialect hidden and reports ``dev_dialect_id_acc``. At test time ``predict_groups`` lets the
model pick the dialect its conditioning and adapters use when the speaker's dialect is not
known.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from voxtext.errors import ConfigError
from voxtext.protocols import AuxiliaryOutput, GroupContext
from voxtext_groups.configs import DialectIdConfig


def masked_mean(encoded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean over each row's valid frames: ``(B, T, D)`` -> ``(B, D)``."""
    frames = encoded.shape[1]
    mask = torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]
    mask = mask.unsqueeze(-1).to(encoded.dtype)
    return (encoded * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


class DialectIdHead(nn.Module):
    """The group module: no change to the encoder's input or output, an auxiliary loss."""

    reads_groups = False
    unknown_probability = 0.0
    needs_hidden_rows = True

    def __init__(self, input_dim: int, num_known: int, config: DialectIdConfig) -> None:
        super().__init__()
        self.weight = config.weight
        self.detach = config.detach
        if config.hidden_dim:
            self.classifier: nn.Module = nn.Sequential(
                nn.Linear(input_dim, config.hidden_dim),
                nn.GELU(),
                nn.Linear(config.hidden_dim, num_known),
            )
        else:
            self.classifier = nn.Linear(input_dim, num_known)

    def logits(self, encoded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Scores of the known dialects ``(B, G-1)``: column k is group id k + 1."""
        pooled = masked_mean(encoded, lengths)
        return self.classifier(pooled.detach() if self.detach else pooled).float()

    def predict_groups(self, encoded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The most likely known dialect of each row, as group ids ``(B,)`` (never unknown)."""
        return self.logits(encoded, lengths).argmax(dim=-1) + 1

    def before_encoder(
        self, x: torch.Tensor, lengths: torch.Tensor, group_ids: torch.Tensor
    ) -> torch.Tensor:
        return x

    def after_encoder(
        self, encoded: torch.Tensor, lengths: torch.Tensor, group_ids: torch.Tensor
    ) -> torch.Tensor:
        return encoded

    def auxiliary(
        self,
        encoded: torch.Tensor,
        lengths: torch.Tensor,
        group_ids: torch.Tensor,
        hidden: torch.Tensor,
    ) -> AuxiliaryOutput:
        logits = self.logits(encoded, lengths)
        counted = hidden & (group_ids > 0)
        targets = (group_ids - 1).clamp(min=0)
        per_row = F.cross_entropy(logits, targets, reduction="none")
        count = int(counted.sum())
        # every parameter stays in the graph even when no row counts (DDP expects that)
        loss = (per_row * counted).sum() / max(count, 1)
        correct = float(((logits.argmax(dim=-1) == targets) & counted).sum())
        return AuxiliaryOutput(
            loss=self.weight * loss, ratios={"dialect_id_acc": (correct, float(count))}
        )


class DialectId:
    """The ``dialect-id`` strategy: a model module (the head) only."""

    def __init__(self, config: DialectIdConfig) -> None:
        self.config = config

    def sampling_weights(self, group_ids: object, context: GroupContext) -> None:
        return None

    def build_module(self, context: GroupContext) -> DialectIdHead:
        known = context.num_groups - 1
        if known < 2:
            raise ConfigError(
                f"strategies: dialect-id needs at least 2 values of '{context.attribute}' in the "
                f"training data to tell apart, found {known}"
            )
        return DialectIdHead(int(context.encoder.output_dim), known, self.config)

    def build_loss(self, context: GroupContext) -> None:
        return None
