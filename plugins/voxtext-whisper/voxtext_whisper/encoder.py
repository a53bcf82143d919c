"""``whisper``: transformers' ``WhisperEncoder`` on variable-length log-mel batches.

``forward(x, lengths)``: ``x`` float ``(batch, frames, n_mels)`` (``whisper-log-mel``
features, 100 frames per second), ``lengths`` int64 ``(batch,)``. Returns ``(encoded
(batch, frames', d_model), out_lengths (batch,))`` with ``out_lengths = (lengths - 1) // 2 + 1``
(conv2: kernel 3, stride 2, padding 1); frames past a row's length are zero.

``WhisperEncoder.forward`` only takes 30 s windows (3000 frames) and no mask, so the forward
here runs the module's own layers: input and conv1 output are zeroed past each row's length
(so the convolutions see the zero padding an unpadded row would), the positional embedding is
sliced to the input length (at most ``max_source_positions`` = 1500 output frames = 30 s;
longer inputs are an error), and self-attention gets a key-padding mask. A padded batch then
equals its rows run alone, and a full 3000-frame input equals ``WhisperEncoder`` itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from voxtext.errors import ConfigError
from voxtext_whisper.configs import TINY_ENCODER, WhisperEncoderConfig
from voxtext_whisper.convert import transformers_folder

EXPECTED = (
    "a transformers Whisper folder (config.json + model.safetensors), e.g. from "
    "'voxtext convert whisper-ct2 tiny.en DST' or save_pretrained() of a Whisper model"
)
#: Config field -> WhisperConfig attribute (checked against a checkpoint's values).
SIZE_FIELDS = {
    "input_dim": "num_mel_bins",
    "d_model": "d_model",
    "num_heads": "encoder_attention_heads",
    "ffn_dim": "encoder_ffn_dim",
    "num_layers": "encoder_layers",
}


def whisper_config(config: WhisperEncoderConfig) -> Any:
    """The ``WhisperConfig`` to build: the checkpoint's (sizes checked) or one from sizes."""
    from transformers import WhisperConfig

    if config.path is None:
        sizes = {f: getattr(config, f) or TINY_ENCODER[f] for f in SIZE_FIELDS}
        model_config = WhisperConfig(
            **{SIZE_FIELDS[f]: v for f, v in sizes.items()},
            decoder_layers=1,
            vocab_size=8,  # the decoder is never built; its token ids only need to fit
            pad_token_id=0,
            bos_token_id=0,
            eos_token_id=0,
            decoder_start_token_id=1,
            begin_suppress_tokens=None,
            dropout=config.dropout or 0.0,
        )
    else:
        path = transformers_folder(config.path, "whisper.path")
        if not (path / "config.json").is_file():
            raise ConfigError(f"whisper.path: '{path}' has no config.json; expected {EXPECTED}")
        model_config = WhisperConfig.from_pretrained(path, local_files_only=True)
        if model_config.model_type != "whisper":
            raise ConfigError(
                f"whisper.path: '{path}' holds a '{model_config.model_type}' model; "
                f"expected {EXPECTED}"
            )
        for field, attribute in SIZE_FIELDS.items():
            wanted, stored = getattr(config, field), getattr(model_config, attribute)
            if wanted is not None and wanted != stored:
                raise ConfigError(
                    f"whisper.{field}={wanted} but '{path}' has {attribute}={stored}; leave "
                    f"{field} unset to follow the checkpoint"
                )
        if config.dropout is not None:
            model_config.dropout = config.dropout
    model_config._attn_implementation = "sdpa"
    return model_config


def encoder_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The encoder's weights from a saved Whisper model, prefix stripped (``model.encoder.``
    for ``WhisperForConditionalGeneration``, ``encoder.`` for ``WhisperModel``)."""
    from safetensors import safe_open

    files = sorted(path.glob("model*.safetensors"))
    if not files:
        raise ConfigError(f"whisper.path: '{path}' has no model.safetensors; expected {EXPECTED}")
    index = path / "model.safetensors.index.json"
    if index.is_file():  # sharded: only the shards the index names
        names = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        files = [path / name for name in sorted(names)]
    state: dict[str, torch.Tensor] = {}
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            for key in handle.keys():  # noqa: SIM118 (safe_open is not iterable)
                for prefix in ("model.encoder.", "encoder."):
                    if key.startswith(prefix):
                        state[key[len(prefix) :]] = handle.get_tensor(key)
    if not state:
        raise ConfigError(f"whisper.path: '{path}' holds no Whisper encoder weights")
    return state


def load_encoder(config: WhisperEncoderConfig) -> nn.Module:
    """A ``WhisperEncoder``: the checkpoint's weights (strictly: every parameter filled) or a
    random initialisation when ``config.path`` is None."""
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    model_config = whisper_config(config)
    encoder = WhisperEncoder(model_config)
    if config.path is not None:
        state = encoder_state_dict(transformers_folder(config.path, "whisper.path"))
        result = encoder.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise ConfigError(
                f"whisper.path: '{config.path}' encoder weights do not fit its config: missing "
                f"{result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}"
            )
    return encoder


def key_padding_mask(out_lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """Bool ``(batch, 1, 1, frames)``: True where a key is a valid frame (sdpa's convention)."""
    valid = torch.arange(frames, device=out_lengths.device)[None, :] < out_lengths[:, None]
    return valid[:, None, None, :]


class WhisperAudioEncoder(nn.Module):
    """The ``whisper`` encoder (see the module docstring for shapes). ``module``: an existing
    ``WhisperEncoder`` to run (a whole Whisper's, weights shared) instead of loading one."""

    def __init__(self, config: WhisperEncoderConfig, module: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config
        self.model = load_encoder(config) if module is None else module
        self.input_dim = int(self.model.config.num_mel_bins)
        self.output_dim = int(self.model.config.d_model)
        self.max_frames = int(self.model.config.max_source_positions)
        self._freeze(config)

    def _freeze(self, config: WhisperEncoderConfig) -> None:
        layers = self.model.layers
        if config.freeze_layers > len(layers):
            raise ConfigError(
                f"whisper.freeze_layers={config.freeze_layers} but the encoder has only "
                f"{len(layers)} layers"
            )
        frozen: list[nn.Module] = []
        if config.freeze_conv_frontend or config.freeze_layers > 0:
            frozen.extend([self.model.conv1, self.model.conv2])
        frozen.extend(layers[: config.freeze_layers])
        for module in frozen:
            module.requires_grad_(False)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_input(x, lengths)
        model = self.model
        frames = torch.arange(x.shape[1], device=x.device)[None, :]
        valid_in = (frames < lengths[:, None]).unsqueeze(1)  # (batch, 1, frames)
        hidden = x.transpose(1, 2).masked_fill(~valid_in, 0.0)
        hidden = nn.functional.gelu(model.conv1(hidden)).masked_fill(~valid_in, 0.0)
        hidden = nn.functional.gelu(model.conv2(hidden)).transpose(1, 2)
        out_lengths = (lengths - 1) // 2 + 1
        hidden = hidden + model.embed_positions.weight[: hidden.shape[1]].to(hidden.dtype)
        hidden = nn.functional.dropout(hidden, p=model.dropout, training=self.training)
        mask = key_padding_mask(out_lengths, hidden.shape[1])
        for layer in model.layers:
            hidden = layer(hidden, mask)
        hidden = model.layer_norm(hidden)
        valid_out = torch.arange(hidden.shape[1], device=x.device)[None, :] < out_lengths[:, None]
        return hidden.masked_fill(~valid_out.unsqueeze(-1), 0.0), out_lengths.long()

    def _check_input(self, x: torch.Tensor, lengths: torch.Tensor) -> None:
        if x.dim() != 3 or x.shape[-1] != self.input_dim:
            raise ValueError(
                f"whisper takes log-mel features (batch, frames, {self.input_dim}), got "
                f"{tuple(x.shape)}"
            )
        if lengths.shape != (x.shape[0],):
            raise ValueError(f"whisper: lengths must have shape ({x.shape[0]},)")
        limit = 2 * self.max_frames
        if x.shape[1] > limit:
            raise ValueError(
                f"whisper: {x.shape[1]} input frames exceed the encoder's {limit} "
                f"({self.max_frames} positions, 30 s for Whisper); split longer audio"
            )
