"""Contract tests over every registered head.

Heads are the registered decoders whose config has a ``num_labels`` field (CTC decoders have
``symbols`` and ``blank_id`` instead; see ``test_decoders_tokenizers.py``). Each is built with
``input_dim=16, num_labels=5`` (and the variants below) and checked against
:class:`voxtext.protocols.Head`: ``level`` and output shape, determinism, batch-versus-single
consistency, gradients, bf16 autocast. A head registered by a new plugin is picked up
automatically.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch
from torch import nn

import voxtext
from voxtext.protocols import Head

INPUT_DIM, NUM_LABELS = 16, 5
LENGTHS = [9, 4, 6]


def _config_fields(name: str) -> set[str]:
    config = voxtext.registry("decoders").get(name).config
    return {f.name for f in dataclasses.fields(config)} if config is not None else set()


HEADS = [n for n in voxtext.registry("decoders").names() if "num_labels" in _config_fields(n)]
#: Extra settings per head, each a variant the contract must hold for.
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "sequence-classification": [{"pooling": "cls"}, {"pooling": "mean", "hidden_dim": 8}],
}
CASES = [
    pytest.param(name, variant, id=f"{name}-{index}")
    for name in HEADS
    for index, variant in enumerate(VARIANTS.get(name, [{}]))
]
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
    ),
]


def build(name: str, variant: dict[str, Any]) -> nn.Module:
    entry = voxtext.registry("decoders").get(name)
    settings = {"input_dim": INPUT_DIM, "num_labels": NUM_LABELS, **variant}
    if "dropout" in _config_fields(name):
        settings["dropout"] = 0.1  # dropout on, so eval mode must switch it off
    torch.manual_seed(0)
    try:
        return entry.create(**settings)
    except Exception as exc:  # a new head whose build needs help
        pytest.fail(f"head '{name}' (from {entry.plugin}) cannot be built with {settings}: {exc}")


def example_batch(device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Three rows of different lengths; padding filled with large junk to expose any leak."""
    generator = torch.Generator().manual_seed(1)
    lengths = torch.tensor(LENGTHS)
    x = torch.randn(len(LENGTHS), max(LENGTHS), INPUT_DIM, generator=generator)
    padding = torch.arange(x.shape[1])[None, :] >= lengths[:, None]
    junk = torch.randn(x.shape, generator=generator) * 1e4
    x = torch.where(padding[:, :, None], junk, x)
    return x.to(device), lengths.to(device)


def expected_shape(head: Any, x: torch.Tensor) -> tuple[int, ...]:
    if head.level == "sequence":
        return (x.shape[0], NUM_LABELS)
    return (x.shape[0], x.shape[1], NUM_LABELS)


def valid_outputs(head: Any, logits: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The logits a task uses: all of a sequence head's, a token head's at valid positions."""
    if head.level == "sequence":
        return logits
    valid = torch.arange(logits.shape[1], device=logits.device)[None, :] < lengths[:, None]
    return logits[valid]


def test_heads_are_found():
    assert {"sequence-classification", "token-classification", "masked-lm"} <= set(HEADS)
    assert not {"ctc-greedy", "ctc-beam"} & set(HEADS)


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_conforms_to_the_head_protocol(name: str, variant: dict) -> None:
    head = build(name, variant)
    assert isinstance(head, nn.Module)
    assert isinstance(head, Head)
    assert head.num_labels == NUM_LABELS
    assert head.level in {"sequence", "token"}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("name", "variant"), CASES)
def test_shapes_and_batch_consistency(name: str, variant: dict, device: str) -> None:
    head = build(name, variant).to(device).eval()
    x, lengths = example_batch(device)
    with torch.no_grad():
        logits = head(x, lengths)
        assert logits.shape == expected_shape(head, x)
        assert logits.dtype == torch.float32
        assert torch.isfinite(valid_outputs(head, logits, lengths)).all()
        for row, length in enumerate(LENGTHS):
            alone = head(x[row : row + 1, :length], lengths[row : row + 1])
            assert alone.shape == expected_shape(head, x[row : row + 1, :length])
            if head.level == "sequence":
                torch.testing.assert_close(logits[row], alone[0], atol=1e-5, rtol=1e-5)
            else:
                torch.testing.assert_close(logits[row, :length], alone[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_deterministic_in_eval_mode(name: str, variant: dict) -> None:
    head = build(name, variant).eval()
    x, lengths = example_batch("cpu")
    with torch.no_grad():
        first = head(x, lengths)
        assert torch.equal(first, head(x, lengths))
        rebuilt = build(name, variant).eval()  # same seed, same weights
        torch.testing.assert_close(rebuilt(x, lengths), first)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("name", "variant"), CASES)
def test_gradients_reach_every_trainable_parameter(name: str, variant: dict, device: str) -> None:
    head = build(name, variant).to(device).train()
    x, lengths = example_batch(device)
    x.requires_grad_(True)
    logits = head(x, lengths)
    loss = valid_outputs(head, logits, lengths).pow(2).sum()
    loss.backward()
    trainable = [(n, p) for n, p in head.named_parameters() if p.requires_grad]
    assert trainable, f"{name} has no trainable parameters"
    missing = [n for n, p in trainable if p.grad is None]
    assert not missing, f"no gradient reached {missing}"
    assert all(torch.isfinite(p.grad).all() for _, p in trainable)
    assert all(p.grad.count_nonzero() > 0 for _, p in trainable)
    assert x.grad is not None and torch.isfinite(x.grad).all()
    padding = torch.arange(x.shape[1], device=device)[None, :] >= lengths[:, None]
    # The loss reads valid outputs only and padding cannot leak, so padding gets no gradient.
    assert x.grad[padding].abs().max() == 0


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_bf16_autocast_forward_on_cpu(name: str, variant: dict) -> None:
    head = build(name, variant).eval()
    x, lengths = example_batch("cpu")
    with torch.no_grad():
        reference = head(x, lengths)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = head(x, lengths)
    assert logits.shape == reference.shape
    assert logits.dtype == torch.bfloat16  # autocast really ran the head's matmuls in bf16
    used = valid_outputs(head, logits, lengths).float()
    expected = valid_outputs(head, reference, lengths)
    assert torch.isfinite(used).all()
    error = (used - expected).abs().mean()
    scale = expected.abs().mean()
    assert error < 0.05 * scale, f"bf16 drifted: mean abs error {error:.3g} vs scale {scale:.3g}"
