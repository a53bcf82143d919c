"""Fixtures of the voxtext-whisper tests: a tiny random Whisper saved by transformers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from voxtext_whisper.packaged import resolve_ct2_model


@pytest.fixture(scope="session")
def tiny_hf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2+2-layer, 64-wide random Whisper with tiny.en's tokenizer, saved by transformers."""
    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperTokenizerFast,
    )

    folder = tmp_path_factory.mktemp("tiny-hf")
    tokenizer_file = resolve_ct2_model("tiny.en") / "tokenizer.json"
    tokenizer = WhisperTokenizerFast(tokenizer_file=str(tokenizer_file))
    config = WhisperConfig(
        vocab_size=51864,
        d_model=64,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        init_std=0.1,  # larger than the default so greedy decoding does not repeat one token
    )
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    with torch.no_grad():  # non-trivial biases and norms, so no two variables are aliased
        for name, parameter in model.named_parameters():
            if name.endswith("bias") or "layer_norm" in name:
                parameter.add_(torch.randn_like(parameter) * 0.1)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    WhisperFeatureExtractor().save_pretrained(folder)  # 80 mels: what whisper-log-mel reads
    return folder
