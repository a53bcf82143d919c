"""Frozen configs of voxtext-whisper's components (no torch import here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voxtext.errors import ConfigError

#: Whisper tiny's encoder sizes: what ``whisper`` builds (randomly initialised) without a path.
TINY_ENCODER = {"input_dim": 80, "d_model": 384, "num_heads": 6, "ffn_dim": 1536, "num_layers": 4}


@dataclass(frozen=True)
class WhisperLogMelConfig:
    """``whisper-log-mel``: Whisper's log-mel front end on variable-length batches.

    ``n_mels``: mel bins (80; 128 for large-v3). ``path``: a packaged model name (``tiny.en``,
    ``base``) or a transformers Whisper folder (what ``voxtext convert whisper-ct2`` writes),
    whose ``preprocessor_config.json`` gives ``feature_size`` (n_mels), ``n_fft``,
    ``hop_length`` and ``sampling_rate``; when set, a different explicit ``n_mels`` is an
    error. Without it: 400-point FFT, hop 160, 16 kHz.
    """

    n_mels: int | None = None
    path: Path | None = None

    def __post_init__(self) -> None:
        if self.n_mels is not None and self.n_mels < 1:
            raise ConfigError(f"whisper-log-mel.n_mels must be >= 1, got {self.n_mels}")


@dataclass(frozen=True)
class WhisperEncoderConfig:
    """``whisper``: a Whisper encoder on log-mel features ``(batch, frames, n_mels)``.

    ``path``: a packaged model name (``tiny.en``, ``base``: converted once into the cache) or
    a transformers Whisper folder (``voxtext convert whisper-ct2 SRC DST`` writes one;
    ``save_pretrained`` of ``WhisperModel``/``WhisperForConditionalGeneration`` too); only the
    encoder's weights are loaded. Without ``path`` the encoder is randomly
    initialised with ``input_dim`` (n_mels), ``d_model``, ``num_heads``, ``ffn_dim`` and
    ``num_layers`` (Whisper tiny's sizes by default); with one, those fields must be left
    unset or agree with the checkpoint.
    ``dropout``: residual dropout (``None``: the checkpoint's, 0.0 without one).
    ``freeze_conv_frontend``: keep the two input convolutions fixed.
    ``freeze_layers``: also fix transformer layers ``0 .. N-1`` (and the convolutions).
    """

    path: Path | None = None
    freeze_conv_frontend: bool = False
    freeze_layers: int = 0
    dropout: float | None = None
    input_dim: int | None = None
    d_model: int | None = None
    num_heads: int | None = None
    ffn_dim: int | None = None
    num_layers: int | None = None

    def __post_init__(self) -> None:
        if self.freeze_layers < 0:
            raise ConfigError(f"whisper.freeze_layers must be >= 0, got {self.freeze_layers}")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"whisper.dropout must be in [0, 1), got {self.dropout}")
        for name in TINY_ENCODER:
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"whisper.{name} must be >= 1, got {value}")
        if self.path is None:
            d_model = self.d_model or TINY_ENCODER["d_model"]
            heads = self.num_heads or TINY_ENCODER["num_heads"]
            if d_model % heads:
                raise ConfigError(
                    f"whisper.d_model={d_model} must be divisible by num_heads={heads}"
                )
