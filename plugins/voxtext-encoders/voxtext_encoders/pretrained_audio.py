"""A pretrained transformers audio encoder (Wav2Vec2, HuBERT, WavLM and their relatives) loaded
offline from a local folder, fine-tuned under a new CTC head that the trainer puts on
``output_dim``.

This encoder takes **raw waveforms**, not features: it sets ``takes_waveform = True`` (see
``voxtext.protocols.Encoder``), and ``forward(x, lengths)`` takes ``x`` float
``(batch, samples)`` (or ``(batch, samples, 1)``, ``input_dim == 1``) at ``sample_rate`` with
``lengths`` int64 ``(batch,)`` in samples. It returns ``(encoded (batch, frames', output_dim),
out_lengths (batch,))``, ``out_lengths`` from the model's own convolution arithmetic
(``_get_feat_extract_output_lengths``; 320 samples per frame for the usual models); frames past
a row's length are zero.

Waveforms are normalised per utterance (zero mean, unit variance over the valid samples) when
the checkpoint's ``preprocessor_config.json`` says ``do_normalize`` (as its feature extractor
would), so callers pass plain audio in [-1, 1].
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from voxtext.errors import ConfigError
from voxtext_encoders.configs import PretrainedAudioEncoderConfig
from voxtext_encoders.subsampling import valid_frame_mask

EXPECTED = (
    "a folder written by save_pretrained() of a Wav2Vec2, HuBERT or WavLM model (config.json "
    "with a convolutional feature encoder, plus model.safetensors or pytorch_model.bin)"
)


def load_audio_model(config: PretrainedAudioEncoderConfig) -> nn.Module:
    """``AutoModel.from_pretrained(path)`` offline, after checking the folder holds an audio
    model, so a wrong path fails with a message saying what was expected."""
    from transformers import AutoConfig, AutoModel

    path = Path(config.path).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"pretrained-audio.path: '{path}' does not exist or is not a folder; expected "
            f"{EXPECTED}. Models are never downloaded: save one locally first."
        )
    if not (path / "config.json").is_file():
        raise ConfigError(
            f"pretrained-audio.path: '{path}' has no config.json; expected {EXPECTED}"
        )
    model_config = AutoConfig.from_pretrained(path, local_files_only=True)
    if not hasattr(model_config, "conv_stride"):  # every wav2vec2-family config has one
        raise ConfigError(
            f"pretrained-audio.path: '{path}' holds a '{model_config.model_type}' model, which "
            f"is not a waveform audio encoder; expected {EXPECTED}"
        )
    overrides: dict[str, Any] = {}
    if config.mask_time_prob is not None:
        overrides["mask_time_prob"] = config.mask_time_prob
    if config.layerdrop is not None:
        overrides["layerdrop"] = config.layerdrop
    try:
        model = AutoModel.from_pretrained(path, local_files_only=True, **overrides)
    except OSError as exc:
        raise ConfigError(
            f"pretrained-audio.path: cannot load '{path}' ({exc}); expected {EXPECTED}"
        ) from exc
    needed = ("feature_extractor", "encoder", "_get_feat_extract_output_lengths")
    if not all(hasattr(model, name) for name in needed):
        raise ConfigError(
            f"pretrained-audio.path: '{path}' loaded as {type(model).__name__}, which lacks a "
            f"convolutional feature encoder; expected {EXPECTED}"
        )
    return model


def read_preprocessor_config(path: Path) -> dict[str, Any]:
    """The checkpoint's feature-extractor settings (``do_normalize``, ``sampling_rate``)."""
    file = Path(path).expanduser() / "preprocessor_config.json"
    if not file.is_file():
        return {}
    try:
        return dict(json.loads(file.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise ConfigError(f"pretrained-audio.path: {file} is not valid JSON ({exc})") from exc


def normalise_per_utterance(waveforms: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance over each row's valid samples, padding left at zero (what
    ``Wav2Vec2FeatureExtractor(do_normalize=True)`` does, eps 1e-7)."""
    counts = valid.sum(dim=1, keepdim=True).clamp_min(1)
    masked = waveforms.masked_fill(~valid, 0.0)
    mean = masked.sum(dim=1, keepdim=True) / counts
    variance = ((masked - mean).masked_fill(~valid, 0.0) ** 2).sum(dim=1, keepdim=True) / counts
    return ((masked - mean) / torch.sqrt(variance + 1e-7)).masked_fill(~valid, 0.0)


class PretrainedAudioEncoder(nn.Module):
    """The ``pretrained-audio`` encoder (see the module docstring for shapes)."""

    takes_waveform = True
    input_dim = 1

    def __init__(self, config: PretrainedAudioEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.model = load_audio_model(config)
        model_config = self.model.config
        preprocessor = read_preprocessor_config(config.path)
        self.sample_rate = int(preprocessor.get("sampling_rate", 16000))
        self.normalize_waveform = (
            config.normalize_waveform
            if config.normalize_waveform is not None
            else bool(preprocessor.get("do_normalize", True))
        )
        self.use_attention_mask = (
            config.use_attention_mask
            if config.use_attention_mask is not None
            else getattr(model_config, "feat_extract_norm", "layer") == "layer"
        )
        adapter = getattr(model_config, "add_adapter", False)
        self.output_dim = int(
            model_config.output_hidden_size if adapter else model_config.hidden_size
        )
        self._freeze(config)

    def _freeze(self, config: PretrainedAudioEncoderConfig) -> None:
        layers = self.model.encoder.layers
        if config.freeze_layers > len(layers):
            raise ConfigError(
                f"pretrained-audio.freeze_layers={config.freeze_layers} but '{config.path}' has "
                f"only {len(layers)} transformer layers"
            )
        # HF's feature encoder sets requires_grad on its input in training mode when this flag
        # is on (for reentrant gradient checkpointing, which we do not use); that fails when the
        # input is a non-leaf tensor (normalised audio that requires grad), so turn it off. The
        # conv weights still get gradients when they require them.
        if hasattr(self.model.feature_extractor, "_requires_grad"):
            self.model.feature_extractor._requires_grad = False
        frozen: list[nn.Module] = []
        if config.freeze_feature_encoder or config.freeze_layers > 0:
            frozen.append(self.model.feature_extractor)
        if config.freeze_layers > 0:
            frozen.append(self.model.feature_projection)
            encoder = self.model.encoder
            frozen.append(encoder.pos_conv_embed)
            if not getattr(self.model.config, "do_stable_layer_norm", False):
                frozen.append(encoder.layer_norm)  # post-norm models apply it before layer 0
            frozen.extend(layers[: config.freeze_layers])
        for module in frozen:
            for parameter in module.parameters():
                parameter.requires_grad_(False)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        waveforms = self._check_input(x, lengths)
        valid = valid_frame_mask(lengths, waveforms.shape[1])
        if self.normalize_waveform:
            waveforms = normalise_per_utterance(waveforms, valid)
        mask = valid.long() if self.use_attention_mask else None
        encoded = self.model(waveforms, attention_mask=mask).last_hidden_state
        out_lengths = self.model._get_feat_extract_output_lengths(lengths).long()
        frames_valid = valid_frame_mask(out_lengths, encoded.shape[1])
        return encoded.masked_fill(~frames_valid.unsqueeze(-1), 0.0), out_lengths

    def _check_input(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(batch, samples)`` waveforms, accepting the protocol's ``(batch, samples, 1)``."""
        if x.dim() == 3 and x.shape[-1] == 1:
            x = x.squeeze(-1)
        if x.dim() != 2:
            raise ValueError(
                "pretrained-audio takes raw waveforms (batch, samples) at "
                f"{self.sample_rate} Hz, got shape {tuple(x.shape)}; do not run a feature "
                "extractor before it (check encoder.takes_waveform)"
            )
        if lengths.shape != (x.shape[0],):
            raise ValueError(
                f"pretrained-audio: lengths must have shape ({x.shape[0]},), got "
                f"{tuple(lengths.shape)}"
            )
        if not torch.compiler.is_compiling():
            frames = self.model._get_feat_extract_output_lengths(lengths.min())
            if int(frames) < 1 or int(lengths.max()) > x.shape[1]:
                raise ValueError(
                    f"pretrained-audio: lengths must be within the {x.shape[1]} samples given "
                    f"and long enough for one frame; got {lengths.tolist()}"
                )
        return x
