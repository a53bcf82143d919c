"""Conformer encoder (Gulati et al. 2020): Conv2d subsampling, then blocks of
half-step feed-forward -> self-attention -> convolution module -> half-step feed-forward ->
layer norm. Attention uses relative positions (Transformer-XL / ESPnet style, learned biases
``pos_bias_u`` and ``pos_bias_v``) or rotary positions (RoFormer), set by ``position``.

``forward(x, lengths)``: ``x`` float ``(batch, frames, input_dim)``, ``lengths`` int64
``(batch,)`` -> ``(encoded (batch, frames', d_model), out_lengths (batch,))`` where
``frames' = subsampled_lengths(frames, subsampling)``. Padded frames never influence valid
ones: attention masks padded keys, and the convolution module zeroes padded frames before its
depthwise convolution, so row ``i`` of a batch equals that utterance encoded alone (in eval
mode). Frames past a row's length are zero in the output.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from voxtext_encoders.configs import ConformerEncoderConfig
from voxtext_encoders.subsampling import (
    Conv2dSubsampling,
    check_encoder_input,
    valid_frame_mask,
)


class FeedForward(nn.Module):
    """LN -> Linear -> Swish -> Dropout -> Linear -> Dropout (used twice, half-step, per block)."""

    def __init__(self, d_model: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(d_model),
            nn.Linear(d_model, ffn_dim),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(ffn_dim, d_model),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def sinusoid_angles(
    frames: int, dim: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sin, cos)`` of ``t * w_f`` for frames ``t < frames`` and the ``dim / 2`` frequencies
    ``w_f`` of the sinusoid table (``sinusoids`` puts ``sin(m w_f)`` in channel ``2f`` and
    ``cos(m w_f)`` in ``2f + 1``); each ``(frames, dim / 2)``."""
    inverse_frequencies = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim)
    )
    angles = torch.arange(frames, device=device, dtype=torch.float32)[:, None] * inverse_frequencies
    return angles.sin(), angles.cos()


class RelativePositionAttention(nn.Module):
    """Multi-head attention with Transformer-XL relative positions (Dai et al. 2019, sec. 3.3):
    ``score(i, j) = [(q_i + u) . k_j + (q_i + v) . W_pos p_{i-j}] / sqrt(head_dim)``, with
    learned per-head biases ``u`` (``pos_bias_u``), ``v`` (``pos_bias_v``) and sinusoids ``p``.

    The usual implementation scores every query against all ``2T - 1`` relative positions and
    shifts the ``(batch, heads, T, 2T - 1)`` result into place; that tensor dominates the layer's
    time and memory. Here the angle-difference identities
    ``sin((i-j)w) = sin(iw)cos(jw) - cos(iw)sin(jw)``, ``cos((i-j)w) = cos(iw)cos(jw) +
    sin(iw)sin(jw)`` split the position term exactly into a query part (``r_i = W_pos^T (q_i +
    v)`` rotated by ``i``) dotted with a key part (``[cos(jw), sin(jw)]``). Appending those to
    the queries and keys turns the whole score into one ``scaled_dot_product_attention`` call
    with only a boolean padding mask: the same numbers, fused kernels, no ``T x 2T`` tensor.
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = d_model // num_heads
        self.dropout = dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.linear_pos = nn.Linear(d_model, d_model, bias=False)
        self.pos_bias_u = nn.Parameter(torch.empty(num_heads, self.head_dim))
        self.pos_bias_v = nn.Parameter(torch.empty(num_heads, self.head_dim))
        nn.init.xavier_uniform_(self.pos_bias_u)
        nn.init.xavier_uniform_(self.pos_bias_v)
        self.out = nn.Linear(d_model, d_model)

    def forward(
        self, x: torch.Tensor, key_mask: torch.Tensor, angles: tuple[torch.Tensor, torch.Tensor]
    ) -> torch.Tensor:
        """``x`` ``(batch, T, d)``, ``key_mask`` bool ``(batch, 1, 1, T)``, ``angles`` the
        ``(sin, cos)`` tables of :func:`sinusoid_angles`, each ``(T, d / 2)``."""
        batch, frames, d_model = x.shape
        qkv = self.qkv(x).view(batch, frames, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (batch, heads, T, head_dim)
        dtype = q.dtype  # autocast: keep every operand in the compute dtype
        sin, cos = (table.to(dtype) for table in angles)
        w_pos = self.linear_pos.weight.to(dtype).view(self.num_heads, self.head_dim, d_model)
        # r_i . p_{i-j} summed over frequencies, with r_i = W_pos^T (q_i + v) per head.
        r = (q + self.pos_bias_v.to(dtype)[:, None, :]) @ w_pos  # (batch, heads, T, d)
        r_sin, r_cos = r[..., 0::2], r[..., 1::2]
        query = torch.cat(
            (
                q + self.pos_bias_u.to(dtype)[:, None, :],
                r_sin * sin + r_cos * cos,  # pairs with cos(jw)
                r_cos * sin - r_sin * cos,  # pairs with sin(jw)
            ),
            dim=-1,
        )
        expand = (batch, self.num_heads, frames, -1)
        key = torch.cat((k, cos.expand(expand), sin.expand(expand)), dim=-1)
        attended = F.scaled_dot_product_attention(
            query,
            key,
            v,
            attn_mask=key_mask,
            dropout_p=self.dropout if self.training else 0.0,
            scale=1.0 / math.sqrt(self.head_dim),
        )
        return self.out(attended.transpose(1, 2).reshape(batch, frames, d_model))


def rotate_pairs(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding (Su et al. 2021), half-split layout: channel c pairs with c + D/2."""
    first, second = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-second, first), dim=-1) * sin


class RotaryAttention(nn.Module):
    """Multi-head attention with rotary positions on queries and keys; the rest is plain
    ``scaled_dot_product_attention`` with a boolean key padding mask (fused kernels)."""

    def __init__(self, d_model: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = d_model // num_heads
        self.dropout = dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(
        self, x: torch.Tensor, key_mask: torch.Tensor, rotary: tuple[torch.Tensor, torch.Tensor]
    ) -> torch.Tensor:
        """``rotary``: ``(cos, sin)`` tables of shape ``(T, head_dim)``."""
        batch, frames, d_model = x.shape
        qkv = self.qkv(x).view(batch, frames, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (batch, heads, T, head_dim)
        cos, sin = (table.to(q.dtype) for table in rotary)
        attended = F.scaled_dot_product_attention(
            rotate_pairs(q, cos, sin),
            rotate_pairs(k, cos, sin),
            v,
            attn_mask=key_mask,
            dropout_p=self.dropout if self.training else 0.0,
        )
        return self.out(attended.transpose(1, 2).reshape(batch, frames, d_model))


def rotary_tables(
    frames: int, head_dim: int, base: float, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(cos, sin)`` of shape ``(frames, head_dim)`` for :func:`rotate_pairs`."""
    inverse_frequencies = base ** (
        -torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim
    )
    angles = torch.arange(frames, device=device, dtype=torch.float32)[:, None] * inverse_frequencies
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos(), angles.sin()


class ConvolutionModule(nn.Module):
    """LN -> pointwise (2d) + GLU -> depthwise conv -> batch/layer norm -> Swish -> pointwise.

    Pointwise convolutions are ``Linear`` layers on ``(batch, T, d)`` (the same maths, no
    transposes). Padded frames are zeroed right before the depthwise convolution, so a valid
    frame near the end of a row sees zeros there, exactly as the same utterance alone would.
    """

    def __init__(self, d_model: int, kernel_size: int, norm: str, dropout: float) -> None:
        super().__init__()
        self.layer_norm = nn.LayerNorm(d_model)
        self.pointwise_in = nn.Linear(d_model, 2 * d_model)
        self.depthwise = nn.Conv1d(
            d_model, d_model, kernel_size, padding=kernel_size // 2, groups=d_model
        )
        self.batch_norm = nn.BatchNorm1d(d_model) if norm == "batch" else None
        self.depthwise_norm = nn.LayerNorm(d_model) if norm == "layer" else None
        self.pointwise_out = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """``valid`` bool ``(batch, T, 1)``."""
        x = F.glu(self.pointwise_in(self.layer_norm(x)), dim=-1)
        x = x.masked_fill(~valid, 0.0).transpose(1, 2)  # (batch, d, T) for the convolution
        x = self.depthwise(x)
        if self.batch_norm is not None:
            x = self.batch_norm(x)
        x = x.transpose(1, 2)
        if self.depthwise_norm is not None:
            x = self.depthwise_norm(x)
        return self.dropout(self.pointwise_out(F.silu(x)))


class ConformerBlock(nn.Module):
    """``x + FF/2``, ``+ attention``, ``+ convolution``, ``+ FF/2``, then layer norm."""

    def __init__(self, config: ConformerEncoderConfig) -> None:
        super().__init__()
        d = config.d_model
        self.ffn1 = FeedForward(d, config.ffn_dim, config.dropout)
        self.attention_norm = nn.LayerNorm(d)
        attention = RelativePositionAttention if config.position == "relative" else RotaryAttention
        self.attention = attention(d, config.num_heads, config.dropout)
        self.attention_dropout = nn.Dropout(config.dropout)
        self.convolution = ConvolutionModule(
            d, config.conv_kernel_size, config.conv_norm, config.dropout
        )
        self.ffn2 = FeedForward(d, config.ffn_dim, config.dropout)
        self.final_norm = nn.LayerNorm(d)

    def forward(
        self,
        x: torch.Tensor,
        key_mask: torch.Tensor,
        valid: torch.Tensor,
        positions: tuple[torch.Tensor, torch.Tensor],
    ) -> torch.Tensor:
        x = x + 0.5 * self.ffn1(x)
        attended = self.attention(self.attention_norm(x), key_mask, positions)
        x = x + self.attention_dropout(attended)
        x = x + self.convolution(x, valid)
        x = x + 0.5 * self.ffn2(x)
        return self.final_norm(x)


class ConformerEncoder(nn.Module):
    """The ``conformer`` encoder (see the module docstring for shapes)."""

    takes_waveform = False

    def __init__(self, config: ConformerEncoderConfig) -> None:
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
        self.layers = nn.ModuleList(ConformerBlock(config) for _ in range(config.num_layers))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_encoder_input(x, lengths, self.input_dim, self.config.subsampling, "conformer")
        x, lengths = self.subsampling(x, lengths)
        x = self.input_dropout(x)
        frames = x.shape[1]
        valid = valid_frame_mask(lengths, frames)
        key_mask = valid[:, None, None, :]  # (batch, 1, 1, T): broadcast over heads, queries
        positions = self._positions(frames, x.device)
        for layer in self.layers:
            x = layer(x, key_mask, valid.unsqueeze(-1), positions)
        return x.masked_fill(~valid.unsqueeze(-1), 0.0), lengths

    def _positions(self, frames: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Shared by every block: the ``(sin, cos)`` angle tables of the relative-position
        sinusoids, or the rotary ``(cos, sin)`` tables."""
        if self.config.position == "relative":
            return sinusoid_angles(frames, self.output_dim, device)
        head_dim = self.output_dim // self.config.num_heads
        return rotary_tables(frames, head_dim, self.config.rotary_base, device)
