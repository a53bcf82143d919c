"""Tiny randomly initialised wav2vec2-family checkpoints for tests (no downloads).

``save_tiny_audio_model(folder, "wavlm")`` writes what ``save_pretrained`` writes for a real
model (config.json, model.safetensors) plus a ``preprocessor_config.json``, so tests go through
the same ``AutoModel.from_pretrained`` path a real checkpoint takes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

Architecture = Literal["wav2vec2", "hubert", "wavlm"]

#: A 2-layer, 32-wide model; two convolutions with a 20-sample hop keep sequences short.
TINY_SIZES: dict[str, Any] = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "conv_dim": (16, 16),
    "conv_stride": (5, 4),
    "conv_kernel": (10, 8),
    "num_conv_pos_embeddings": 8,
    "num_conv_pos_embedding_groups": 2,
    "mask_time_prob": 0.0,  # SpecAugment-style masks need longer sequences than tests use
    "layerdrop": 0.0,  # a dropped layer would get no gradient in the gradient-flow test
}


def save_tiny_audio_model(
    folder: Path,
    architecture: Architecture = "wav2vec2",
    *,
    feat_extract_norm: Literal["layer", "group"] = "layer",
    seed: int = 0,
    **overrides: Any,
) -> Path:
    """Build, seed and ``save_pretrained`` a tiny model into ``folder``; returns ``folder``.

    ``feat_extract_norm="layer"`` (with pre-norm transformer layers) is the variant whose
    batched outputs do not depend on padding; ``"group"`` mimics wav2vec2-base / HuBERT Base.
    """
    import torch
    from transformers import (
        HubertConfig,
        HubertModel,
        Wav2Vec2Config,
        Wav2Vec2Model,
        WavLMConfig,
        WavLMModel,
    )

    classes = {
        "wav2vec2": (Wav2Vec2Config, Wav2Vec2Model),
        "hubert": (HubertConfig, HubertModel),
        "wavlm": (WavLMConfig, WavLMModel),
    }
    config_class, model_class = classes[architecture]
    sizes = {**TINY_SIZES, **overrides}
    config = config_class(
        **sizes,
        feat_extract_norm=feat_extract_norm,
        do_stable_layer_norm=feat_extract_norm == "layer",
    )
    torch.manual_seed(seed)
    model = model_class(config)
    folder = Path(folder)
    model.save_pretrained(folder)
    preprocessor = {
        "feature_extractor_type": "Wav2Vec2FeatureExtractor",
        "do_normalize": True,
        "sampling_rate": 16000,
        "feature_size": 1,
        "padding_value": 0.0,
        "return_attention_mask": feat_extract_norm == "layer",
    }
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor), encoding="utf-8")
    return folder
