"""Transformer encoder: Conv2d subsampling, sinusoidal absolute positions, pre-norm
self-attention layers with key padding masks, and a final layer norm.

``forward(x, lengths)``: ``x`` float ``(batch, frames, input_dim)``, ``lengths`` int64
``(batch,)`` -> ``(encoded (batch, frames', d_model), out_lengths (batch,))`` where
``frames' = subsampled_lengths(frames, subsampling)``; frames past a row's length are zero.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from voxtext_encoders.configs import TransformerEncoderConfig
from voxtext_encoders.subsampling import (
    Conv2dSubsampling,
    check_encoder_input,
    sinusoids,
    valid_frame_mask,
)


class SelfAttention(nn.Module):
    """Multi-head self-attention through ``scaled_dot_product_attention`` (fused kernels)."""

    def __init__(self, d_model: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.dropout = dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        batch, frames, d_model = x.shape
        qkv = self.qkv(x).view(batch, frames, 3, self.num_heads, d_model // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (batch, heads, frames, head_dim)
        attended = F.scaled_dot_product_attention(
            q, k, v, attn_mask=key_mask, dropout_p=self.dropout if self.training else 0.0
        )
        return self.out(attended.transpose(1, 2).reshape(batch, frames, d_model))


class TransformerLayer(nn.Module):
    """Pre-norm: ``x + attn(LN(x))`` then ``x + FFN(LN(x))`` (stable without warm-up tricks)."""

    def __init__(self, config: TransformerEncoderConfig) -> None:
        super().__init__()
        d = config.d_model
        self.attention_norm = nn.LayerNorm(d)
        self.attention = SelfAttention(d, config.num_heads, config.dropout)
        self.ffn_norm = nn.LayerNorm(d)
        self.ffn = nn.Sequential(
            nn.Linear(d, config.ffn_dim),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.ffn_dim, d),
        )
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(self.attention(self.attention_norm(x), key_mask))
        return x + self.dropout(self.ffn(self.ffn_norm(x)))


class TransformerEncoder(nn.Module):
    """The ``transformer`` encoder (see the module docstring for shapes)."""

    takes_waveform = False

    def __init__(self, config: TransformerEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.input_dim = config.input_dim
        self.output_dim = config.d_model
        self.subsampling = Conv2dSubsampling(
            config.input_dim,
            config.d_model,
            config.subsampling,
            config.subsampling_channels or config.d_model,
        )
        self.input_dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(TransformerLayer(config) for _ in range(config.num_layers))
        self.final_norm = nn.LayerNorm(config.d_model)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_encoder_input(x, lengths, self.input_dim, self.config.subsampling, "transformer")
        x, lengths = self.subsampling(x, lengths)
        frames = x.shape[1]
        positions = sinusoids(torch.arange(frames, device=x.device), self.output_dim)
        # Scale before adding positions so they do not swamp the projected features.
        x = self.input_dropout(x * math.sqrt(self.output_dim) + positions.to(x.dtype))
        valid = valid_frame_mask(lengths, frames)
        key_mask = valid[:, None, None, :]  # (batch, 1, 1, frames): broadcast over heads, queries
        for layer in self.layers:
            x = layer(x, key_mask)
        x = self.final_norm(x)
        return x.masked_fill(~valid.unsqueeze(-1), 0.0), lengths
