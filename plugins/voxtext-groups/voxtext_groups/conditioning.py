"""``dialect-conditioning``: a learned dialect embedding added to the encoder input.

    features (B, T, F) + mask(B, T) * W · E[group] (B, 1, F) --> encoder

``E`` has one row per group, the unknown group's included: the fallback an utterance without
a (known) dialect gets. The projection ``W`` (embedding_dim -> F) starts at zero, so training
starts from the plain model and the embeddings still receive gradients once W moves. Padding
frames stay zero. Training hides the true dialect (uses unknown) with probability
``unknown_probability`` so that the fallback is learnt on every dialect's audio.
"""

from __future__ import annotations

import torch
from torch import nn

from voxtext.errors import ConfigError
from voxtext.protocols import GroupContext
from voxtext_groups.configs import DialectConditioningConfig


def valid_frames(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """bool ``(B, frames)``: True where a frame is within its row's length."""
    return torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]


class DialectEmbedding(nn.Module):
    """The group module: adds the projected dialect embedding to every valid input frame."""

    reads_groups = True

    def __init__(self, num_groups: int, feature_dim: int, config: DialectConditioningConfig):
        super().__init__()
        self.unknown_probability = config.unknown_probability
        self.embedding = nn.Embedding(num_groups, config.embedding_dim)
        self.projection = nn.Linear(config.embedding_dim, feature_dim, bias=False)
        nn.init.zeros_(self.projection.weight)

    def before_encoder(
        self, x: torch.Tensor, lengths: torch.Tensor, group_ids: torch.Tensor
    ) -> torch.Tensor:
        offset = self.projection(self.embedding(group_ids)).to(x.dtype)  # (B, F)
        mask = valid_frames(lengths, x.shape[1]).unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        return x + offset.unsqueeze(1) * mask

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
    ) -> None:
        return None


class DialectConditioning:
    """The ``dialect-conditioning`` strategy: a model module only."""

    def __init__(self, config: DialectConditioningConfig) -> None:
        self.config = config

    def sampling_weights(self, group_ids: object, context: GroupContext) -> None:
        return None

    def build_module(self, context: GroupContext) -> DialectEmbedding:
        if context.input_dim is None:
            raise ConfigError(
                "strategies: dialect-conditioning adds to encoder input features, but the "
                "encoder takes raw waveforms; use dialect-adapters with it instead"
            )
        return DialectEmbedding(context.num_groups, context.input_dim, self.config)

    def build_loss(self, context: GroupContext) -> None:
        return None
