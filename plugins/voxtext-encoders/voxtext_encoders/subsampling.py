"""Pieces the Transformer and Conformer encoders share: the Conv2d front end that subsamples
frames in time, its length arithmetic, padding masks and sinusoidal position tables.

Shapes: ``x`` is ``(batch, frames, input_dim)``, ``lengths`` int64 ``(batch,)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from voxtext_encoders.configs import KERNEL, STRIDE, minimum_frames, num_conv_layers
from voxtext_encoders.configs import SUBSAMPLING_FACTORS as SUBSAMPLING_FACTORS  # re-exported
from voxtext_encoders.configs import check_subsampling as check_subsampling  # re-exported


def subsampled_lengths(lengths: torch.Tensor, factor: int) -> torch.Tensor:
    """Valid output frames after the front end: ``(L - 1) // 2`` per unpadded kernel-3 stride-2
    conv, so output frame ``t`` only ever sees input frames ``< L`` (no padding leaks in)."""
    for _ in range(num_conv_layers(factor)):
        lengths = torch.div(lengths - (KERNEL - STRIDE), STRIDE, rounding_mode="floor")
    return lengths.clamp_min(0)


def valid_frame_mask(lengths: torch.Tensor, max_frames: int) -> torch.Tensor:
    """Bool ``(batch, max_frames)``: True where a frame is inside its row's length."""
    frames = torch.arange(max_frames, device=lengths.device)
    return frames.unsqueeze(0) < lengths.unsqueeze(1)


def sinusoids(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Vaswani et al. table ``(len(positions), dim)``: sin on even, cos on odd channels."""
    inverse_frequencies = torch.exp(
        torch.arange(0, dim, 2, device=positions.device, dtype=torch.float32)
        * (-math.log(10000.0) / dim)
    )
    angles = positions.float().unsqueeze(1) * inverse_frequencies
    table = torch.zeros(positions.shape[0], dim, device=positions.device)
    table[:, 0::2] = torch.sin(angles)
    table[:, 1::2] = torch.cos(angles[:, : dim // 2])
    return table


def check_encoder_input(
    x: torch.Tensor, lengths: torch.Tensor, input_dim: int, factor: int, name: str
) -> None:
    """Clear errors for the shape and length mistakes a caller can make."""
    if x.dim() != 3 or x.shape[-1] != input_dim:
        raise ValueError(
            f"{name} expects features of shape (batch, frames, {input_dim}), got "
            f"{tuple(x.shape)}; set the encoder's input_dim to the feature extractor's feature_dim"
        )
    if lengths.shape != (x.shape[0],):
        raise ValueError(
            f"{name}: lengths must have shape ({x.shape[0]},) (one per row), got "
            f"{tuple(lengths.shape)}"
        )
    if torch.compiler.is_compiling():  # the checks below need the values (a device sync)
        return
    shortest, longest = int(lengths.min()), int(lengths.max())
    if longest > x.shape[1]:
        raise ValueError(f"{name}: a length of {longest} exceeds the {x.shape[1]} frames given")
    if shortest < minimum_frames(factor):
        raise ValueError(
            f"{name}: an utterance of {shortest} frames is shorter than the "
            f"{minimum_frames(factor)} frames subsampling={factor} needs for one output "
            "frame; drop such utterances when building the data set"
        )


class Conv2dSubsampling(nn.Module):
    """``(batch, frames, input_dim)`` -> ``(batch, frames', d_model)``, ``frames'`` from
    :func:`subsampled_lengths`. Stride-2 ``Conv2d`` + ReLU layers over (time, feature), then a
    linear map of channels x remaining features to ``d_model`` (ESPnet's Conv2dSubsampling).
    Factor 1 is just the linear map."""

    def __init__(self, input_dim: int, d_model: int, factor: int, channels: int) -> None:
        super().__init__()
        self.factor = factor
        convs: list[nn.Module] = []
        in_channels, features = 1, input_dim
        for _ in range(num_conv_layers(factor)):
            convs.append(nn.Conv2d(in_channels, channels, KERNEL, STRIDE))
            in_channels, features = channels, (features - KERNEL) // STRIDE + 1
        self.convs = nn.ModuleList(convs)
        self.project = nn.Linear(in_channels * features, d_model)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.convs:
            # Zero the padding (a valid output frame never reads it, so it must not matter),
            # and convolve in float32 under autocast: the first layers sum many terms much
            # larger than their result, and bf16 conv kernels (native on AVX-512 bf16 CPUs)
            # lost a fifth of the signal there. The convolutions are a small share of the
            # encoder's work.
            padding = torch.arange(x.shape[1], device=x.device)[None, :] >= lengths[:, None]
            x = x.to(self.convs[0].weight.dtype).masked_fill(padding.unsqueeze(-1), 0.0)
            x = x.unsqueeze(1)  # (batch, 1, frames, features): time and features as an image
            with torch.autocast(device_type=x.device.type, enabled=False):
                for conv in self.convs:
                    x = torch.relu(conv(x))
            batch, channels, frames, features = x.shape
            x = x.transpose(1, 2).reshape(batch, frames, channels * features)
        return self.project(x), subsampled_lengths(lengths, self.factor)
