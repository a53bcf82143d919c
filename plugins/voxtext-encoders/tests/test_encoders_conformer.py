"""Conformer and Transformer encoders: attention maths against naive references, the
subsampling arithmetic against real convolutions, configuration errors, reference sizes, and a
Conformer-CTC model that learns."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from voxtext_encoders.conformer import (
    RelativePositionAttention,
    rotary_tables,
    rotate_pairs,
    sinusoid_angles,
)
from voxtext_encoders.subsampling import Conv2dSubsampling, sinusoids

import voxtext
from voxtext.errors import ConfigError


@pytest.mark.parametrize("frames", [7, 150])
def test_relative_attention_matches_a_naive_reference(frames: int) -> None:
    """Transformer-XL's formula written out with explicit sinusoids p_{i-j} per pair."""
    torch.manual_seed(0)
    d_model, heads = 16, 2
    attention = RelativePositionAttention(d_model, heads, dropout=0.0).eval()
    x = torch.randn(2, frames, d_model)
    lengths = torch.tensor([frames, frames * 4 // 7])
    key_mask = (torch.arange(frames)[None, :] < lengths[:, None])[:, None, None, :]
    with torch.no_grad():
        got = attention(x, key_mask, sinusoid_angles(frames, d_model, torch.device("cpu")))

        head_dim = d_model // heads
        q, k, v = attention.qkv(x).view(2, frames, 3, heads, head_dim).unbind(2)
        expected = torch.zeros(2, frames, heads, head_dim)
        for b in range(2):
            keys = int(lengths[b])
            for i in range(frames):
                p = attention.linear_pos(sinusoids(i - torch.arange(keys), d_model))
                p = p.view(keys, heads, head_dim)  # p[j] is W_pos p_{i-j}, split by head
                content = ((q[b, i] + attention.pos_bias_u)[None] * k[b, :keys]).sum(-1)
                position = ((q[b, i] + attention.pos_bias_v)[None] * p).sum(-1)
                weights = ((content + position) / math.sqrt(head_dim)).softmax(0)  # (keys, heads)
                expected[b, i] = torch.einsum("jh,jhd->hd", weights, v[b, :keys])
        expected = attention.out(expected.reshape(2, frames, d_model))
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_rotary_scores_depend_only_on_relative_position() -> None:
    torch.manual_seed(0)
    head_dim, frames = 8, 12
    cos, sin = rotary_tables(frames, head_dim, 10000.0, torch.device("cpu"))
    q, k = torch.randn(head_dim), torch.randn(head_dim)
    rotated_q = rotate_pairs(q.expand(frames, head_dim), cos, sin)
    rotated_k = rotate_pairs(k.expand(frames, head_dim), cos, sin)
    scores = rotated_q @ rotated_k.T  # scores[m, n] for q at position m, k at position n
    for offset in range(-3, 4):
        along = torch.diagonal(scores, offset=offset)
        torch.testing.assert_close(along, along[0].expand_as(along))
    assert not torch.allclose(scores[0, 0], scores[0, 5])  # positions do matter
    torch.testing.assert_close(scores[0, 0], q @ k)  # position 0 is the identity rotation


@pytest.mark.parametrize("factor", [1, 2, 4, 8])
def test_subsampled_lengths_match_the_convolutions(factor: int) -> None:
    frontend = Conv2dSubsampling(input_dim=20, d_model=8, factor=factor, channels=4)
    for frames in range(2 * factor - 1, 40):
        out, out_lengths = frontend(torch.randn(1, frames, 20), torch.tensor([frames]))
        assert out.shape[1] == int(out_lengths[0]) >= 1


@pytest.mark.parametrize(
    ("name", "settings", "field"),
    [
        ("conformer", {"d_model": 30, "num_heads": 4}, "d_model"),
        ("conformer", {"d_model": 36, "num_heads": 4, "position": "rotary"}, "rotary"),
        ("conformer", {"d_model": 81, "num_heads": 3}, "must be even"),
        ("conformer", {"conv_kernel_size": 30}, "conv_kernel_size"),
        ("conformer", {"subsampling": 3}, "subsampling"),
        ("conformer", {"input_dim": 5, "subsampling": 4}, "input_dim"),
        ("conformer", {"position": "absolute"}, "position"),
        ("transformer", {"dropout": 1.5}, "dropout"),
        ("transformer", {"num_layers": 0}, "num_layers"),
    ],
)
def test_bad_settings_name_the_field(name: str, settings: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        voxtext.registry("encoders").create(name, **settings)


@pytest.mark.parametrize("name", ["conformer", "transformer"])
def test_bad_inputs_say_what_was_expected(name: str) -> None:
    encoder = voxtext.registry("encoders").create(
        name, input_dim=16, d_model=16, num_heads=2, ffn_dim=32, num_layers=1
    )
    with pytest.raises(ValueError, match=r"\(batch, frames, 16\)"):
        encoder(torch.randn(2, 30, 80), torch.tensor([30, 20]))
    with pytest.raises(ValueError, match="shorter than the 7 frames"):
        encoder(torch.randn(2, 30, 16), torch.tensor([30, 5]))
    with pytest.raises(ValueError, match="exceeds the 30 frames"):
        encoder(torch.randn(2, 30, 16), torch.tensor([31, 20]))


def count_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_reference_sizes_are_configurable() -> None:
    encoders = voxtext.registry("encoders")
    small = encoders.create("conformer", d_model=80, num_heads=4, ffn_dim=256, num_layers=4)
    assert 0.70e6 < count_parameters(small) < 0.76e6  # BENCHMARKS.md's ~0.75 M Conformer-CTC
    with torch.device("meta"):  # no memory or init time for the weights
        large = encoders.create("conformer", d_model=256, ffn_dim=1024, num_layers=18)
    assert 29e6 < count_parameters(large) < 31e6  # the ~30 M GPU configuration (docstring)


@pytest.mark.parametrize("position", ["relative", "rotary"])
def test_tiny_conformer_ctc_learns_fixed_targets(position: str) -> None:
    torch.manual_seed(0)
    encoder = voxtext.registry("encoders").create(
        "conformer",
        input_dim=16,
        d_model=32,
        num_heads=4,
        ffn_dim=64,
        num_layers=2,
        dropout=0.0,
        conv_kernel_size=7,
        position=position,
    )
    vocabulary = 6  # blank 0 + 5 symbols
    head = torch.nn.Linear(encoder.output_dim, vocabulary)
    features = torch.randn(4, 80, 16)
    lengths = torch.tensor([80, 72, 64, 60])
    targets = torch.tensor([[1, 2, 3, 4], [2, 2, 5, 0], [5, 4, 1, 0], [3, 1, 0, 0]])
    target_lengths = torch.tensor([4, 3, 3, 2])
    parameters = [*encoder.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=3e-3)
    losses = []
    for _ in range(60):
        encoded, out_lengths = encoder(features, lengths)
        log_probs = head(encoded).log_softmax(-1).transpose(0, 1)  # (T, batch, vocab) for CTC
        loss = F.ctc_loss(log_probs, targets, out_lengths, target_lengths, blank=0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(math.isfinite(value) for value in losses)
    print(f"{position}: CTC loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    assert losses[-1] < 0.5 * losses[0], f"CTC loss {losses[0]:.3f} -> {losses[-1]:.3f}"
