"""Contract tests run over every registered encoder (and a few variants of each).

Each encoder is built at a tiny size: generic small sizes for the config fields it has, or a
builder in ``SPECIAL_BUILDERS`` (``pretrained-audio`` and ``hf-text`` need a local checkpoint,
which the fixture writes with ``save_pretrained``; ``compact-bert`` learns its vocabulary from a
few texts). An encoder registered by a new plugin is picked up automatically; if its defaults
cannot be built small, the test says where to add a builder.

Text encoders (``encoder_takes_tokens``) get token ids instead of features: random ids above
the special ids, the padding filled with other random ids as junk.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import voxtext
from voxtext.protocols import (
    Encoder,
    TextEncoder,
    TextTokenizer,
    encoder_takes_tokens,
    encoder_takes_waveform,
)

#: Overrides applied to whichever of these fields an encoder's config has.
TINY_SIZES: dict[str, Any] = {
    "input_dim": 16,
    "d_model": 32,
    "num_heads": 4,
    "ffn_dim": 64,
    "num_layers": 2,
    "dropout": 0.1,
    "conv_kernel_size": 7,
}

#: Extra settings per encoder, each a variant the contract must hold for.
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "conformer": [
        {"position": "relative", "conv_norm": "batch"},
        {"position": "rotary", "conv_norm": "layer"},
        {"position": "relative", "subsampling": 1},
    ],
    "transformer": [{}, {"subsampling": 8, "input_dim": 20}],
    "pretrained-audio": [
        {"architecture": "wav2vec2"},
        {"architecture": "hubert"},
        {"architecture": "wavlm"},
    ],
    "hf-text": [{"attn_implementation": "sdpa"}, {"attn_implementation": "eager"}],
}


def build_pretrained_audio(entry: voxtext.Entry, variant: dict[str, Any], folder: Path) -> Any:
    from voxtext_encoders.testing import save_tiny_audio_model

    path = folder / variant["architecture"]
    if not path.exists():
        save_tiny_audio_model(path, variant["architecture"])
    return entry.create(path=str(path), freeze_feature_encoder=False)


def build_hf_text(entry: voxtext.Entry, variant: dict[str, Any], folder: Path) -> Any:
    from voxtext_text.testing import save_tiny_bert

    path = folder / "tiny-bert"
    if not path.exists():
        save_tiny_bert(path)
    return entry.create(path=str(path), **variant)


#: Training texts for the compact BERT's vocabulary: CJK characters, ASCII runs, punctuation.
COMPACT_TEXTS = (
    "这部电影很好看，演员的表演非常自然。",
    "服务太差了，等了一个小时 OK 吗？",
    "iPhone12 的屏幕不错，电池一般。",
    "物流很快，包装完好，五星好评！",
)


def build_compact_bert(entry: voxtext.Entry, variant: dict[str, Any], folder: Path) -> Any:
    sizes = {"hidden_size": 32, "num_layers": 2, "num_heads": 4, "intermediate_size": 64}
    return entry.create(texts=COMPACT_TEXTS, min_count=1, max_length=48, **sizes, **variant)


SPECIAL_BUILDERS: dict[str, Callable[[voxtext.Entry, dict[str, Any], Path], Any]] = {
    "pretrained-audio": build_pretrained_audio,
    "hf-text": build_hf_text,
    "compact-bert": build_compact_bert,
}


def cases() -> list[Any]:
    out = []
    for name in voxtext.registry("encoders").names():
        for index, variant in enumerate(VARIANTS.get(name, [{}])):
            out.append(pytest.param(name, variant, id=f"{name}-{index}"))
    return out


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("encoder-checkpoints")


def build(name: str, variant: dict[str, Any], checkpoints: Path) -> nn.Module:
    entry = voxtext.registry("encoders").get(name)
    torch.manual_seed(0)
    if name in SPECIAL_BUILDERS:
        return SPECIAL_BUILDERS[name](entry, variant, checkpoints)
    fields = {f.name for f in dataclasses.fields(entry.config)} if entry.config else set()
    settings = {k: v for k, v in TINY_SIZES.items() if k in fields} | variant
    try:
        return entry.create(**settings)
    except Exception as exc:  # a new encoder whose tiny build needs help
        pytest.fail(
            f"encoder '{name}' (from {entry.plugin}) cannot be built with {settings}: {exc}. "
            f"Add a builder for it to SPECIAL_BUILDERS in {__file__}"
        )


def example_batch(encoder: Any, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Three rows of different lengths; padding filled with junk to expose any leak."""
    generator = torch.Generator().manual_seed(1)
    if encoder_takes_tokens(encoder):
        return example_token_batch(encoder, device, generator)
    if encoder_takes_waveform(encoder):
        lengths = torch.tensor([4000, 2630, 1750])
        x = torch.randn(3, 4000, generator=generator) * 0.1
    else:
        lengths = torch.tensor([61, 40, 23])
        x = torch.randn(3, 61, encoder.input_dim, generator=generator)
    padding = torch.arange(x.shape[1])[None, :] >= lengths[:, None]
    junk = torch.randn(x.shape, generator=generator) * 50.0
    padding = padding.view(*padding.shape, *([1] * (x.dim() - 2)))
    x = torch.where(padding, junk, x)
    return x.to(device), lengths.to(device)


def example_token_batch(
    encoder: Any, device: str, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Three rows of random ids above the special ids (lengths capped at the tokenizer's
    ``max_length``); padding holds other random ids, which must not leak into valid rows."""
    tokenizer = encoder.tokenizer
    lengths = torch.tensor([61, 40, 23]).clamp_max(tokenizer.max_length)
    first_plain = max(tokenizer.special_ids) + 1
    shape = (3, int(lengths.max()))
    ids = torch.randint(first_plain, tokenizer.vocab_size, shape, generator=generator)
    junk = torch.randint(0, tokenizer.vocab_size, shape, generator=generator)
    padding = torch.arange(shape[1])[None, :] >= lengths[:, None]
    return torch.where(padding, junk, ids).to(device), lengths.to(device)


DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
    ),
]


@pytest.mark.parametrize(("name", "variant"), cases())
def test_conforms_to_the_encoder_protocol(name: str, variant: dict, checkpoints: Path) -> None:
    encoder = build(name, variant, checkpoints)
    assert isinstance(encoder, nn.Module)
    assert isinstance(encoder, Encoder)
    assert isinstance(encoder.output_dim, int) and encoder.output_dim > 0
    assert isinstance(encoder_takes_waveform(encoder), bool)
    if encoder_takes_tokens(encoder):
        assert isinstance(encoder, TextEncoder) and not encoder_takes_waveform(encoder)
        tokenizer = encoder.tokenizer
        assert isinstance(tokenizer, TextTokenizer)
        assert tokenizer.max_length > 0 and tokenizer.pad_id in tokenizer.special_ids
        assert max(tokenizer.special_ids) + 1 < tokenizer.vocab_size
        assert encoder.lora_targets and all(isinstance(t, str) for t in encoder.lora_targets)
        embeddings = encoder.input_embeddings()
        assert isinstance(embeddings, nn.Embedding)
        assert embeddings.num_embeddings >= tokenizer.vocab_size
        ids = tokenizer.encode("a text")
        assert len(ids) <= tokenizer.max_length and tokenizer.encode_batch(["a text"]) == [ids]
    elif encoder_takes_waveform(encoder):
        assert isinstance(encoder.sample_rate, int) and encoder.sample_rate > 0
    else:
        assert isinstance(encoder.input_dim, int) and encoder.input_dim > 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("name", "variant"), cases())
def test_shapes_lengths_and_batch_consistency(
    name: str, variant: dict, device: str, checkpoints: Path
) -> None:
    encoder = build(name, variant, checkpoints).to(device).eval()
    x, lengths = example_batch(encoder, device)
    with torch.no_grad():
        encoded, out_lengths = encoder(x, lengths)
        assert encoded.dim() == 3 and encoded.shape[0] == x.shape[0]
        assert encoded.shape[2] == encoder.output_dim
        assert out_lengths.dtype == torch.int64 and out_lengths.shape == lengths.shape
        assert int(out_lengths.max()) == encoded.shape[1]  # the longest row fills the batch
        assert torch.isfinite(encoded).all()
        assert bool((out_lengths[:-1] >= out_lengths[1:]).all())  # rows are longest first
        for row, length in enumerate(lengths.tolist()):
            alone, alone_length = encoder(x[row : row + 1, :length], lengths[row : row + 1])
            # Alone, an utterance's every output frame is valid: this pins the length rule.
            assert int(alone_length) == alone.shape[1] == int(out_lengths[row])
            valid = int(out_lengths[row])
            torch.testing.assert_close(encoded[row, :valid], alone[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("name", "variant"), cases())
def test_lengths_follow_the_subsampling_arithmetic(
    name: str, variant: dict, checkpoints: Path
) -> None:
    encoder = build(name, variant, checkpoints).eval()
    x, lengths = example_batch(encoder, "cpu")
    with torch.no_grad():
        _, out_lengths = encoder(x, lengths)
    if encoder_takes_tokens(encoder):  # one hidden state per token: nothing is subsampled
        expected = lengths
    elif encoder_takes_waveform(encoder):  # the model's own conv stack: floor((L - k) / s) + 1
        expected = lengths.clone()
        config = encoder.model.config
        for kernel, stride in zip(config.conv_kernel, config.conv_stride, strict=True):
            expected = (expected - kernel) // stride + 1
    elif hasattr(encoder, "config") and hasattr(encoder.config, "subsampling"):
        expected = lengths.clone()  # each stride-2, kernel-3 unpadded conv: (L - 1) // 2
        factor = encoder.config.subsampling
        while factor > 1:
            expected, factor = (expected - 1) // 2, factor // 2
    else:
        pytest.skip(f"{name}: no known subsampling rule; batch consistency covers its lengths")
    assert out_lengths.tolist() == expected.tolist()


@pytest.mark.parametrize(("name", "variant"), cases())
def test_deterministic_in_eval_mode(name: str, variant: dict, checkpoints: Path) -> None:
    encoder = build(name, variant, checkpoints).eval()
    x, lengths = example_batch(encoder, "cpu")
    with torch.no_grad():
        first, _ = encoder(x, lengths)
        second, _ = encoder(x, lengths)
    assert torch.equal(first, second)
    rebuilt = build(name, variant, checkpoints).eval()  # same seed, same weights
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x, lengths)[0], first)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("name", "variant"), cases())
def test_gradients_reach_every_trainable_parameter(
    name: str, variant: dict, device: str, checkpoints: Path
) -> None:
    encoder = build(name, variant, checkpoints).to(device).train()
    x, lengths = example_batch(encoder, device)
    if encoder_takes_tokens(encoder):  # ids take no gradient: watch the embedded tokens instead
        embedded: list[torch.Tensor] = []
        hook = encoder.input_embeddings().register_forward_hook(lambda m, i, o: embedded.append(o))
    else:
        x.requires_grad_(True)
    encoded, out_lengths = encoder(x, lengths)
    if encoder_takes_tokens(encoder):
        hook.remove()
        x = embedded[0]
        x.retain_grad()
    valid = torch.arange(encoded.shape[1], device=device)[None, :] < out_lengths[:, None]
    loss = (encoded.pow(2).sum(-1) * valid).sum()
    loss.backward()
    trainable = [(n, p) for n, p in encoder.named_parameters() if p.requires_grad]
    assert trainable, f"{name} has no trainable parameters"
    missing = [n for n, p in trainable if p.grad is None]
    assert not missing, f"no gradient reached {missing}"
    assert all(torch.isfinite(p.grad).all() for _, p in trainable)
    assert sum(int(p.grad.count_nonzero()) for _, p in trainable) > 0
    assert x.grad is not None and torch.isfinite(x.grad).all()
    padding = torch.arange(x.shape[1], device=device)[None, :] >= lengths[:, None]
    # The loss ignores padding and padding cannot leak, so padded input gets no gradient.
    assert x.grad[padding].abs().max() == 0


@pytest.mark.parametrize(("name", "variant"), cases())
def test_bf16_autocast_forward_on_cpu(name: str, variant: dict, checkpoints: Path) -> None:
    encoder = build(name, variant, checkpoints).eval()
    x, lengths = example_batch(encoder, "cpu")
    with torch.no_grad():
        reference, reference_lengths = encoder(x, lengths)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            encoded, out_lengths = encoder(x, lengths)
    assert encoded.shape == reference.shape and torch.equal(out_lengths, reference_lengths)
    assert torch.isfinite(encoded).all()
    valid = torch.arange(encoded.shape[1])[None, :] < out_lengths[:, None]
    error = (encoded.float() - reference)[valid].abs().mean()
    scale = reference[valid].abs().mean()
    assert error < 0.05 * scale, f"bf16 drifted: mean abs error {error:.3g} vs scale {scale:.3g}"


@pytest.mark.parametrize(("name", "variant"), cases())
def test_token_encoders_rebuild_from_to_dict(
    name: str, variant: dict, checkpoints: Path, tmp_path: Path
) -> None:
    """``create(name, to_dict())`` (through JSON, as a checkpoint stores it) rebuilds the same
    tokenizer and architecture; with the weights loaded, the same outputs. An encoder with
    ``save_files`` also rebuilds from the files it writes alone."""
    encoder = build(name, variant, checkpoints).eval()
    if not encoder_takes_tokens(encoder):
        pytest.skip(f"{name} takes features, not token ids")
    x, lengths = example_batch(encoder, "cpu")
    settings = json.loads(json.dumps(encoder.to_dict()))
    if hasattr(encoder, "save_files"):
        encoder.save_files(tmp_path / "files")
        settings["path"] = str(tmp_path / "files")
    rebuilt = voxtext.registry("encoders").create(name, settings).eval()
    rebuilt.load_state_dict(encoder.state_dict())
    text = "这部电影 the movie 很好 42!"
    assert rebuilt.tokenizer.encode(text) == encoder.tokenizer.encode(text)
    assert rebuilt.tokenizer.max_length == encoder.tokenizer.max_length
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x, lengths)[0], encoder(x, lengths)[0])
