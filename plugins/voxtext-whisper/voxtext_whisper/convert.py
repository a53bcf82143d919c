"""CTranslate2 Whisper folder -> transformers Whisper folder.

``convert_ct2_to_transformers(src, dst)`` reads ``src/model.bin`` with :mod:`ct2_format`
(no CTranslate2 needed), dequantises int8/int16 weights, maps every variable onto
``WhisperForConditionalGeneration`` and writes what ``from_pretrained(dst)`` loads:
``config.json`` + ``model.safetensors`` (dims derived from the weights, heads from the spec's
stored ``num_heads``), ``generation_config.json`` (token ids, suppressed tokens, languages and
alignment heads from ``src/config.json``), a ``WhisperTokenizerFast`` (from
``src/tokenizer.json``, when present) and ``preprocessor_config.json`` (a
``WhisperFeatureExtractor`` with the model's ``n_mels``: 80, or 128 for large-v3).

The mapping is the inverse of ctranslate2's ``WhisperLoader``: fused self-attention
``linear_0`` ``(3 d, d)`` splits into q/k/v; cross-attention ``linear_0`` is q and the fused
``linear_1`` ``(2 d, d)`` splits into k/v. Whisper's key projections have no bias, so the
k slice of every fused bias must be zero (ctranslate2 writes zeros there). Every ct2 variable
must be consumed and every transformers parameter filled, or conversion fails.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from voxtext.errors import ConfigError
from voxtext_whisper.ct2_format import dequantize, read_whisper_model_bin, scalars

#: Scalars of WhisperSpec's decoder that must hold these values for the mapping to be right
#: (Whisper: GELU = 3, pre-norm, unscaled embeddings, no ALiBi); others are metadata.
EXPECTED_SCALARS = {
    "decoder/activation": 3,
    "decoder/pre_norm": 1,
    "decoder/scale_embeddings": 0,
    "decoder/alibi": 0,
    "decoder/start_from_zero_embedding": 0,
}
METADATA_SCALARS = {
    "encoder/num_heads",
    "decoder/num_heads",
    "decoder/alignment_heads",
    "decoder/alignment_layer",
    "decoder/alibi_use_positive_positions",
    "decoder/scale_alibi",
}
LAYER = re.compile(r"^(encoder|decoder)/layer_(\d+)/(.+)$")
#: ct2 sub-path inside a layer -> transformers module inside that layer.
LAYER_MODULES = {
    "self_attention/layer_norm": "self_attn_layer_norm",
    "self_attention/linear_1": "self_attn.out_proj",
    "attention/layer_norm": "encoder_attn_layer_norm",
    "attention/linear_0": "encoder_attn.q_proj",
    "attention/linear_2": "encoder_attn.out_proj",
    "ffn/layer_norm": "final_layer_norm",
    "ffn/linear_0": "fc1",
    "ffn/linear_1": "fc2",
}
TOP_MODULES = {
    "encoder/conv1": "model.encoder.conv1",
    "encoder/conv2": "model.encoder.conv2",
    "encoder/layer_norm": "model.encoder.layer_norm",
    "decoder/layer_norm": "model.decoder.layer_norm",
    "decoder/embeddings": "model.decoder.embed_tokens",
}
LEAVES = {"weight": "weight", "bias": "bias", "gamma": "weight", "beta": "bias"}


def ct2_state_dict(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Float32 ct2 variables -> ``WhisperForConditionalGeneration`` state-dict entries.

    Raises ``ConfigError`` for a variable no rule maps, or a non-zero key bias."""
    out: dict[str, np.ndarray] = {}
    for name, value in weights.items():
        if name.endswith("position_encodings/encodings"):
            side = name.split("/")[0]
            out[f"model.{side}.embed_positions.weight"] = value
            continue
        if name == "decoder/projection/weight":
            out["proj_out.weight"] = value
            continue
        match = LAYER.match(name)
        if match is None:
            module, leaf = name.rsplit("/", 1)
            if module not in TOP_MODULES or leaf not in LEAVES:
                raise ConfigError(f"CTranslate2 variable '{name}' has no transformers mapping")
            out[f"{TOP_MODULES[module]}.{LEAVES[leaf]}"] = value
            continue
        side, index, rest = match.groups()
        prefix = f"model.{side}.layers.{index}"
        module, leaf = rest.rsplit("/", 1)
        if module == "self_attention/linear_0":
            _split(out, name, value, f"{prefix}.self_attn", ("q", "k", "v"), leaf)
        elif module == "attention/linear_1" and side == "decoder":
            _split(out, name, value, f"{prefix}.encoder_attn", ("k", "v"), leaf)
        elif module in LAYER_MODULES and leaf in LEAVES:
            out[f"{prefix}.{LAYER_MODULES[module]}.{LEAVES[leaf]}"] = value
        else:
            raise ConfigError(f"CTranslate2 variable '{name}' has no transformers mapping")
    return out


def _split(
    out: dict[str, np.ndarray],
    name: str,
    value: np.ndarray,
    prefix: str,
    parts: tuple[str, ...],
    leaf: str,
) -> None:
    """A fused projection ``(len(parts) * d, ...)`` -> one ``<part>_proj`` per slice."""
    if value.shape[0] % len(parts):
        raise ConfigError(f"'{name}' of shape {value.shape} does not split into {parts}")
    for part, chunk in zip(parts, np.split(value, len(parts)), strict=True):
        if part == "k" and leaf == "bias":
            if np.abs(chunk).max(initial=0.0) > 0.0:
                raise ConfigError(
                    f"'{name}': the key slice of the bias is non-zero, but Whisper's k_proj "
                    "has no bias; this is not a Whisper model ctranslate2 converted"
                )
            continue
        out[f"{prefix}.{part}_proj.{LEAVES[leaf]}"] = chunk


def check_scalars(values: dict[str, float | int], src: Path) -> None:
    """Fail on a scalar that changes the maths (activation, norm order) or is unknown."""
    for name, value in values.items():
        if name in EXPECTED_SCALARS and value != EXPECTED_SCALARS[name]:
            raise ConfigError(
                f"{src}: spec scalar {name}={value}, expected {EXPECTED_SCALARS[name]} for Whisper"
            )
        if name not in EXPECTED_SCALARS and name not in METADATA_SCALARS:
            raise ConfigError(f"{src}: unknown WhisperSpec scalar '{name}' ({value})")


def whisper_config_kwargs(
    weights: dict[str, np.ndarray], values: dict[str, float | int], vocab: list[str]
) -> dict[str, Any]:
    """``WhisperConfig`` fields derived from the weights (shapes) and stored head counts."""
    d_model = int(weights["encoder/conv1/weight"].shape[0])
    layer_count = {
        side: len({m.group(2) for n in weights if (m := LAYER.match(n)) and m.group(1) == side})
        for side in ("encoder", "decoder")
    }
    heads = {
        side: int(values.get(f"{side}/num_heads", max(d_model // 64, 1)))  # Whisper: 64 per head
        for side in ("encoder", "decoder")
    }
    ids = special_token_ids(vocab, int(weights["decoder/embeddings/weight"].shape[0]))
    return {
        "vocab_size": int(weights["decoder/embeddings/weight"].shape[0]),
        "num_mel_bins": int(weights["encoder/conv1/weight"].shape[1]),
        "d_model": d_model,
        "encoder_layers": layer_count["encoder"],
        "decoder_layers": layer_count["decoder"],
        "encoder_attention_heads": heads["encoder"],
        "decoder_attention_heads": heads["decoder"],
        "encoder_ffn_dim": int(weights["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
        "decoder_ffn_dim": int(weights["decoder/layer_0/ffn/linear_0/weight"].shape[0]),
        "max_source_positions": int(weights["encoder/position_encodings/encodings"].shape[0]),
        "max_target_positions": int(weights["decoder/position_encodings/encodings"].shape[0]),
        "tie_word_embeddings": "decoder/projection/weight" not in weights,
        "bos_token_id": ids["eot"],
        "eos_token_id": ids["eot"],
        "pad_token_id": ids["eot"],
        "decoder_start_token_id": ids["sot"],
    }


def special_token_ids(vocab: list[str], vocab_size: int) -> dict[str, int]:
    """Ids of ``<|endoftext|>``, ``<|startoftranscript|>`` etc. from the vocabulary, or
    Whisper's fixed ids when the folder has none (51864 English-only, 51865 multilingual)."""
    names = {
        "eot": "<|endoftext|>",
        "sot": "<|startoftranscript|>",
        "translate": "<|translate|>",
        "transcribe": "<|transcribe|>",
        "no_timestamps": "<|notimestamps|>",
        "prev": "<|startofprev|>",
    }
    index = {token: i for i, token in enumerate(vocab)}
    if all(token in index for token in names.values()):
        return {key: index[token] for key, token in names.items()}
    if vocab_size not in (51864, 51865):  # large-v3's 51866 shifts the ids: need the file
        raise ConfigError(
            f"the CTranslate2 folder has no vocabulary.json/vocabulary.txt with Whisper's special "
            f"tokens, and its {vocab_size}-token vocabulary has no known fixed ids"
        )
    offset = 1 if vocab_size == 51865 else 0
    return {
        "eot": 50256,
        "sot": 50257 + offset,
        "translate": 50357 + offset,
        "transcribe": 50358 + offset,
        "prev": 50360 + offset,
        "no_timestamps": 50362 + offset,
    }


def read_vocabulary(src: Path) -> list[str]:
    """Token strings by id from ``vocabulary.json`` / ``vocabulary.txt`` (empty if neither)."""
    if (src / "vocabulary.json").is_file():
        return list(json.loads((src / "vocabulary.json").read_text(encoding="utf-8")))
    if (src / "vocabulary.txt").is_file():
        return (src / "vocabulary.txt").read_text(encoding="utf-8").split("\n")[:-1]
    return []


def build_model(weights: dict[str, np.ndarray], kwargs: dict[str, Any]) -> Any:
    """A ``WhisperForConditionalGeneration`` holding exactly ``weights`` (mapped); fails when
    a parameter is left unfilled or a mapped tensor has no parameter."""
    import torch
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    # Own copies: aliased variables and fused slices must not share storage in safetensors.
    state = {
        k: torch.from_numpy(np.array(v, copy=True)) for k, v in ct2_state_dict(weights).items()
    }
    with torch.device("meta"):
        model = WhisperForConditionalGeneration(WhisperConfig(**kwargs))
    if kwargs["tie_word_embeddings"]:
        state["proj_out.weight"] = state["model.decoder.embed_tokens.weight"]
    expected = dict(model.state_dict())
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ConfigError(
            f"conversion mismatch: transformers parameters left unfilled {missing[:8]}, "
            f"ct2 tensors without a parameter {unexpected[:8]}"
        )
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ConfigError(
                f"'{name}': ct2 shape {tuple(tensor.shape)} but transformers expects "
                f"{tuple(expected[name].shape)}"
            )
    model.load_state_dict(state, strict=True, assign=True)
    if kwargs["tie_word_embeddings"]:
        model.tie_weights()
    left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise ConfigError(f"conversion left tensors unfilled: {left[:8]}")
    return model.eval()


def convert_ct2_to_transformers(src: str | Path, dst: str | Path, force: bool = False) -> Path:
    """Convert the CTranslate2 Whisper folder ``src`` (or a packaged name, ``tiny.en``/
    ``base``) into a transformers folder ``dst``; returns ``dst``.

    ``dst`` must not exist or be empty, unless ``force`` (files are then overwritten)."""
    from voxtext_whisper.packaged import resolve_ct2_model

    source = resolve_ct2_model(src, field="src")
    target = Path(dst).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())) and not force:
        raise ConfigError(f"dst: '{target}' exists and is not empty; pass --force to overwrite")
    ct2 = read_whisper_model_bin(source)
    values = scalars(ct2)
    check_scalars(values, source)
    weights = dequantize(ct2)
    projection = weights.get("decoder/projection/weight")
    if projection is not None and np.array_equal(projection, weights["decoder/embeddings/weight"]):
        del weights["decoder/projection/weight"]  # tied (ctranslate2 stores it as an alias)
    vocab = read_vocabulary(source)
    kwargs = whisper_config_kwargs(weights, values, vocab)
    model = build_model(weights, kwargs)
    target.mkdir(parents=True, exist_ok=True)
    model.generation_config = generation_config(source, kwargs, vocab)
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # one shard: a bar would only clutter recipe logs
    try:
        model.save_pretrained(target, safe_serialization=True)
    finally:
        if shown:
            hf_logging.enable_progress_bar()
    save_tokenizer(source, target, kwargs)
    save_preprocessor(target, kwargs["num_mel_bins"])
    return target


def generation_config(source: Path, kwargs: dict[str, Any], vocab: list[str]) -> Any:
    """Whisper's ``GenerationConfig`` from ``source/config.json`` (suppress ids, languages,
    alignment heads) and the special-token ids."""
    from transformers import GenerationConfig

    ct2_config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    ids = special_token_ids(vocab, kwargs["vocab_size"])
    settings: dict[str, Any] = {
        "bos_token_id": ids["eot"],
        "eos_token_id": ids["eot"],
        "pad_token_id": ids["eot"],
        "decoder_start_token_id": ids["sot"],
        "no_timestamps_token_id": ids["no_timestamps"],
        "prev_sot_token_id": ids["prev"],
        "is_multilingual": kwargs["vocab_size"] >= 51865,
        "max_length": kwargs["max_target_positions"],
        "task_to_id": {"transcribe": ids["transcribe"], "translate": ids["translate"]},
    }
    if ct2_config.get("suppress_ids") is not None:
        settings["suppress_tokens"] = list(ct2_config["suppress_ids"])
    if ct2_config.get("suppress_ids_begin") is not None:
        settings["begin_suppress_tokens"] = list(ct2_config["suppress_ids_begin"])
    if ct2_config.get("alignment_heads"):
        settings["alignment_heads"] = [list(pair) for pair in ct2_config["alignment_heads"]]
    lang_ids = ct2_config.get("lang_ids") or []
    if lang_ids and vocab:
        settings["lang_to_id"] = {vocab[i]: int(i) for i in lang_ids if i < len(vocab)}
    return GenerationConfig(**settings)


def save_tokenizer(source: Path, target: Path, kwargs: dict[str, Any]) -> bool:
    """``source/tokenizer.json`` -> a saved ``WhisperTokenizerFast``; False when absent."""
    if not (source / "tokenizer.json").is_file():
        return False
    from transformers import WhisperTokenizerFast

    tokenizer = WhisperTokenizerFast(
        tokenizer_file=str(source / "tokenizer.json"),
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        model_max_length=kwargs["max_target_positions"],
    )
    tokenizer.save_pretrained(target)
    return True


def save_preprocessor(target: Path, n_mels: int) -> None:
    """``preprocessor_config.json`` of Whisper's front end with ``n_mels`` mel bins."""
    from transformers import WhisperFeatureExtractor

    WhisperFeatureExtractor(feature_size=n_mels).save_pretrained(target)


def transformers_folder(spec: str | Path, field: str) -> Path:
    """A transformers Whisper folder for a config's ``path``: an existing folder as it is, or
    a packaged model name (``tiny.en``, ``base``) converted once into
    ``$VOXTEXT_CACHE/whisper/<name>-<package versions>-transformers`` (written under a
    temporary name and renamed, so an interrupted conversion leaves nothing half-made). A
    config can then name ``tiny.en`` and a checkpoint rebuilds from the same name anywhere."""
    import importlib.metadata as md
    import os
    import shutil

    from voxtext_whisper.packaged import PACKAGED, cache_root

    path = Path(spec).expanduser()
    if path.is_dir() or str(spec) not in PACKAGED:
        if (path / "model.bin").is_file() and not any(path.glob("model*.safetensors")):
            raise ConfigError(
                f"{field}: '{path}' is a CTranslate2 Whisper folder; convert it first with "
                f"'voxtext convert whisper-ct2 {path} DST' and give DST here"
            )
        return path  # the caller checks that it holds what it needs
    name = str(spec)
    versions = "-".join(md.version(dist) for dist in PACKAGED[name])
    target = cache_root() / "whisper" / f"{name}-{versions}-transformers"
    if (target / "config.json").is_file():
        return target
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    convert_ct2_to_transformers(name, partial)
    try:
        partial.replace(target)
    except OSError:  # another process finished first: keep its copy
        shutil.rmtree(partial, ignore_errors=True)
    return target
