"""``dialect-adapters``: per-dialect residual bottleneck adapters on a shared encoder.

    h (B, T, D) --> h + up_g(act(down_g(h)))      g = the row's dialect

Each known dialect has its own down-projection (D -> bottleneck), activation and
up-projection (bottleneck -> D); the unknown group's adapter is the identity, so utterances
of an unseen dialect run the shared encoder unchanged. The up-projections start at zero:
at initialisation the model is exactly the shared one (Houlsby et al. 2019).

Where (``placement``): ``"output"`` adapts the encoder output, which works with every
encoder. ``"layers"`` also adapts the output of each block of an encoder that keeps them in
an ``nn.ModuleList`` named ``layers`` (the Conformer and Transformer encoders do), through
forward hooks, so no encoder needs to know about dialects; ``"both"`` does both. A block's
padding frames get an adapter offset too; the encoders mask padding in attention and
convolution and zero it on output, so it does not reach valid frames.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from voxtext.errors import ConfigError
from voxtext.protocols import GroupContext
from voxtext_groups.configs import DialectAdaptersConfig

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "gelu": F.gelu,
    "silu": F.silu,
}


class GroupAdapter(nn.Module):
    """One bottleneck adapter per known group, applied row by row by group id."""

    def __init__(self, num_known: int, dim: int, bottleneck: int, activation: str) -> None:
        super().__init__()
        self.dim = dim
        self.activation = ACTIVATIONS[activation]
        scale = dim**-0.5
        self.down = nn.Parameter(torch.randn(num_known, dim, bottleneck) * scale)
        self.down_bias = nn.Parameter(torch.zeros(num_known, bottleneck))
        self.up = nn.Parameter(torch.zeros(num_known, bottleneck, dim))
        self.up_bias = nn.Parameter(torch.zeros(num_known, dim))

    def forward(self, h: torch.Tensor, group_ids: torch.Tensor) -> torch.Tensor:
        """``h`` ``(B, T, D)`` plus each row's adapter output (none for unknown rows)."""
        if h.shape[-1] != self.dim:
            raise ValueError(f"adapter of width {self.dim} got features of width {h.shape[-1]}")
        known = (group_ids > 0).to(h.dtype)[:, None, None]
        index = (group_ids - 1).clamp(min=0)
        inner = torch.bmm(h, self.down[index].to(h.dtype)) + self.down_bias[index, None].to(h.dtype)
        delta = torch.bmm(self.activation(inner), self.up[index].to(h.dtype))
        delta = delta + self.up_bias[index, None].to(h.dtype)
        return h + delta * known


class DialectAdapterSet(nn.Module):
    """The group module: adapters on the encoder output and/or after each encoder block."""

    reads_groups = True

    def __init__(self, context: GroupContext, config: DialectAdaptersConfig) -> None:
        super().__init__()
        self.unknown_probability = config.unknown_probability
        known, dim = context.num_groups - 1, int(context.encoder.output_dim)
        size = (config.bottleneck, config.activation)
        self.output = (
            GroupAdapter(known, dim, *size) if config.placement in ("output", "both") else None
        )
        self.layers = nn.ModuleList()
        self._group_ids: torch.Tensor | None = None
        if config.placement in ("layers", "both"):
            blocks = _encoder_blocks(context.encoder)
            self.layers.extend(GroupAdapter(known, dim, *size) for _ in blocks)
            for block, adapter in zip(blocks, self.layers, strict=True):
                block.register_forward_hook(self._hook(adapter))

    def _hook(self, adapter: nn.Module) -> Callable[[nn.Module, Any, Any], Any]:
        def adapt_block_output(module: nn.Module, inputs: Any, output: Any) -> Any:
            if self._group_ids is None:  # the encoder called outside CTCModel: shared path
                return output
            if isinstance(output, tuple):  # transformers' blocks return (hidden, ...)
                return (adapter(output[0], self._group_ids), *output[1:])
            return adapter(output, self._group_ids)

        return adapt_block_output

    def before_encoder(
        self, x: torch.Tensor, lengths: torch.Tensor, group_ids: torch.Tensor
    ) -> torch.Tensor:
        self._group_ids = group_ids if len(self.layers) else None  # for the block hooks
        return x

    def after_encoder(
        self, encoded: torch.Tensor, lengths: torch.Tensor, group_ids: torch.Tensor
    ) -> torch.Tensor:
        self._group_ids = None
        if self.output is None:
            return encoded
        frames = encoded.shape[1]
        valid = torch.arange(frames, device=lengths.device)[None, :] < lengths[:, None]
        return self.output(encoded, group_ids).masked_fill(~valid.unsqueeze(-1), 0.0)

    def auxiliary(
        self,
        encoded: torch.Tensor,
        lengths: torch.Tensor,
        group_ids: torch.Tensor,
        hidden: torch.Tensor,
    ) -> None:
        return None


def _encoder_blocks(encoder: Any) -> nn.ModuleList:
    blocks = getattr(encoder, "layers", None)
    if not isinstance(blocks, nn.ModuleList) or len(blocks) == 0:
        raise ConfigError(
            f"strategies: dialect-adapters placement 'layers'/'both' needs an encoder that keeps "
            f"its blocks in an nn.ModuleList named 'layers'; {type(encoder).__name__} does not. "
            'Use placement = "output"'
        )
    return blocks


class DialectAdapters:
    """The ``dialect-adapters`` strategy: a model module only."""

    def __init__(self, config: DialectAdaptersConfig) -> None:
        self.config = config

    def sampling_weights(self, group_ids: object, context: GroupContext) -> None:
        return None

    def build_module(self, context: GroupContext) -> DialectAdapterSet:
        if context.num_groups < 2:
            raise ConfigError(
                f"strategies: dialect-adapters found no value of '{context.attribute}' in the "
                "training data to make an adapter for"
            )
        return DialectAdapterSet(context, self.config)

    def build_loss(self, context: GroupContext) -> None:
        return None
