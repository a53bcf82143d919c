"""The loop guards of ``voxtext_whisper.guard``: a model state whose greedy decoding loops
(the same token over and over, never the end of text) is stopped by the token cap and the
compression-ratio check, and the temperature fallback finds the hypothesis that ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from voxtext_whisper.guard import (
    COMPRESSION_RATIO_THRESHOLD,
    compression_ratio,
    decode_guarded,
    token_limit,
)
from voxtext_whisper.seq2seq_model import build_seq2seq


@pytest.fixture(scope="module")
def looping(tiny_hf: Path) -> Any:
    """The tiny Whisper made confident (logits sharpened, as a trained model's are) with its
    end-of-text logit held just under the best token's at every step: greedy decoding never
    ends (it repeats itself to the token limit), while sampling at a low temperature soon
    draws the end of text, whose probability is near the best token's."""
    model, targets = build_seq2seq(tiny_hf, language=None)
    model.eval()
    step = model.decode_step

    def decode_step(*args: Any, **kwargs: Any) -> torch.Tensor:
        logits = 50.0 * step(*args, **kwargs)
        logits[..., targets.end] = logits.max(dim=-1).values - 0.05
        return logits

    model.decode_step = decode_step
    return model, targets


def batch(seconds: tuple[float, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    lengths = torch.tensor([round(s * 16000) for s in seconds])
    return 0.1 * torch.randn(len(seconds), int(lengths.max()), generator=generator), lengths


def test_plain_greedy_decoding_loops_to_its_limit(looping):
    model, targets = looping
    waveforms, lengths = batch((2.0, 1.0))
    plain = decode_guarded(model, targets, waveforms, lengths, max_new_tokens=96, guard=False)
    for decoded in plain:
        assert decoded.capped and decoded.temperature == 0.0
        assert decoded.compression_ratio > COMPRESSION_RATIO_THRESHOLD
        assert len(targets.tokenizer.encode(decoded.text, add_special_tokens=False)) >= 90


def test_the_guard_stops_the_loop_and_falls_back_to_a_hypothesis_that_ends(looping):
    model, targets = looping
    waveforms, lengths = batch((2.0, 1.0))
    guarded = decode_guarded(model, targets, waveforms, lengths, max_new_tokens=96)
    for decoded, seconds in zip(guarded, (2.0, 1.0), strict=True):
        assert decoded.temperature > 0.0  # greedy failed, a sampled decoding was kept
        assert not decoded.capped and not decoded.failed
        words = targets.tokenizer.encode(decoded.text, add_special_tokens=False)
        assert len(words) < token_limit(seconds, 96)
    again = decode_guarded(model, targets, waveforms, lengths, max_new_tokens=96)
    assert again == guarded  # the fallback's sampling is seeded


def test_the_cap_follows_the_audio_length():
    assert token_limit(1.0, 128) == 20 and token_limit(30.0, 128) == 128
    assert token_limit(0.0, 128) == 10 and token_limit(5.0, 30) == 30


def test_repeated_text_compresses_well():
    loop = "toward the lighthouse" + " house" * 40
    assert compression_ratio(loop) > COMPRESSION_RATIO_THRESHOLD
    plain = "The quick brown fox jumps over the lazy dog."
    assert compression_ratio(plain) < COMPRESSION_RATIO_THRESHOLD
    assert compression_ratio("") == 0.0
