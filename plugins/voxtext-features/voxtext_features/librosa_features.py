"""``librosa-mel`` and ``librosa-mfcc``: librosa's own feature code, one utterance at a time.

For users whose models were trained on librosa features: these call
``librosa.feature.melspectrogram`` / ``librosa.feature.mfcc`` on each unpadded utterance (CPU,
numpy), so the numbers are librosa's exactly. Input is float audio in [-1, 1], as
``librosa.load`` returns it (no rescaling). Output goes back to the input's device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from voxtext.errors import ConfigError
from voxtext_features.batch_checks import check_padded_batch, valid_mask

PadMode = Literal["constant", "edge", "reflect", "symmetric", "linear_ramp"]


@dataclass(frozen=True)
class LibrosaMelConfig:
    """``librosa.feature.melspectrogram`` arguments, then an optional log.

    ``log``: ``"none"`` (mel power as is), ``"log"`` (``ln(S + log_offset)``) or ``"db"``
    (``librosa.power_to_db(S, ref=1.0, amin=amin, top_db=top_db)``; ``top_db`` is relative to
    each utterance's maximum, as in librosa). ``win_length`` 0 means ``n_fft``; ``fmax`` 0
    means Nyquist; ``mel_norm`` "none" means no area normalisation.
    """

    sample_rate: int = 16000
    n_fft: int = 400
    hop_length: int = 160
    win_length: int = 0
    window: str = "hann"
    center: bool = True
    pad_mode: PadMode = "constant"
    power: float = 2.0
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 0.0
    htk: bool = False
    mel_norm: Literal["slaney", "none"] = "slaney"
    log: Literal["none", "log", "db"] = "log"
    log_offset: float = 1e-6
    amin: float = 1e-10
    top_db: float | None = 80.0

    def __post_init__(self) -> None:
        _check_stft_options(self)


@dataclass(frozen=True)
class LibrosaMfccConfig:
    """``librosa.feature.mfcc`` arguments (which takes ``power_to_db`` of the mel spectrogram
    with top_db 80 internally), with the same mel/STFT fields as ``librosa-mel``."""

    sample_rate: int = 16000
    n_mfcc: int = 13
    dct_type: Literal[1, 2, 3] = 2
    dct_norm: Literal["ortho", "none"] = "ortho"
    lifter: float = 0.0
    n_fft: int = 400
    hop_length: int = 160
    win_length: int = 0
    window: str = "hann"
    center: bool = True
    pad_mode: PadMode = "constant"
    power: float = 2.0
    n_mels: int = 40
    fmin: float = 0.0
    fmax: float = 0.0
    htk: bool = False
    mel_norm: Literal["slaney", "none"] = "slaney"

    def __post_init__(self) -> None:
        _check_stft_options(self)
        if not 1 <= self.n_mfcc <= self.n_mels:
            raise ConfigError(f"n_mfcc={self.n_mfcc} must lie in [1, n_mels={self.n_mels}]")
        if self.lifter < 0:
            raise ConfigError(f"lifter={self.lifter} must be >= 0")


def mel_kwargs(config: LibrosaMelConfig | LibrosaMfccConfig) -> dict[str, Any]:
    """Keyword arguments for librosa's melspectrogram (also passed through its mfcc)."""
    return {
        "sr": config.sample_rate,
        "n_fft": config.n_fft,
        "hop_length": config.hop_length,
        "win_length": config.win_length or None,
        "window": config.window,
        "center": config.center,
        "pad_mode": config.pad_mode,
        "power": config.power,
        "n_mels": config.n_mels,
        "fmin": config.fmin,
        "fmax": config.fmax or None,
        "htk": config.htk,
    }


def _check_stft_options(config: LibrosaMelConfig | LibrosaMfccConfig) -> None:
    problems = [
        f"{name}={getattr(config, name)} must be > 0"
        for name in ("sample_rate", "n_fft", "hop_length", "n_mels", "power")
        if not getattr(config, name) > 0
    ]
    if not 0 <= config.win_length <= config.n_fft:
        problems.append(
            f"win_length={config.win_length} must lie in [0, n_fft={config.n_fft}] (0: n_fft)"
        )
    if not 0 <= config.fmin < (config.fmax or config.sample_rate / 2) <= config.sample_rate / 2:
        problems.append(
            f"fmin={config.fmin}, fmax={config.fmax} must satisfy 0 <= fmin < fmax "
            f"<= {config.sample_rate / 2} (fmax 0: Nyquist)"
        )
    if problems:
        raise ConfigError("; ".join(problems))


class _PerUtterance:
    """Runs ``self._compute(audio) -> (dim, frames)`` on each row and pads the results."""

    config: LibrosaMelConfig | LibrosaMfccConfig
    feature_dim: int
    who: str

    def num_frames(self, lengths: torch.Tensor) -> torch.Tensor:
        """librosa's frame count: centred frames pad ``n_fft // 2`` on both sides."""
        config = self.config
        lengths = lengths.to(torch.int64)
        padded = lengths + 2 * (config.n_fft // 2) if config.center else lengths
        frames = 1 + (padded - config.n_fft) // config.hop_length
        return torch.where((padded < config.n_fft) | (lengths == 0), 0, frames)

    def __call__(
        self, waveforms: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        waveforms, lengths = check_padded_batch(
            waveforms, lengths, who=self.who, ndim=2, axis_name="samples"
        )
        frame_lengths = self.num_frames(lengths)
        rows = waveforms.detach().to("cpu", torch.float32).numpy()
        max_frames = int(frame_lengths.max()) if len(frame_lengths) else 0
        features = np.zeros((len(rows), max_frames, self.feature_dim), np.float32)
        for i, (row, length, frames) in enumerate(
            zip(rows, lengths.tolist(), frame_lengths.tolist(), strict=True)
        ):
            if frames:
                features[i, :frames] = self._compute(row[:length]).T
        out = torch.from_numpy(features).to(waveforms.device)
        mask = valid_mask(frame_lengths, max_frames).unsqueeze(2)
        return out * mask, frame_lengths

    def _compute(self, audio: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class LibrosaMel(_PerUtterance):
    """``librosa.feature.melspectrogram`` (+ log) per utterance: ``(B, T, n_mels)``."""

    who = "librosa-mel"

    def __init__(self, config: LibrosaMelConfig | None = None) -> None:
        self.config = config or LibrosaMelConfig()
        self.sample_rate = self.config.sample_rate
        self.feature_dim = self.config.n_mels

    def _compute(self, audio: np.ndarray) -> np.ndarray:
        import librosa

        config = self.config
        assert isinstance(config, LibrosaMelConfig)
        norm = None if config.mel_norm == "none" else config.mel_norm
        mel = librosa.feature.melspectrogram(y=audio, norm=norm, **mel_kwargs(config))
        if config.log == "log":
            return np.log(mel + config.log_offset)
        if config.log == "db":
            return librosa.power_to_db(mel, ref=1.0, amin=config.amin, top_db=config.top_db)
        return mel


class LibrosaMfcc(_PerUtterance):
    """``librosa.feature.mfcc`` per utterance: ``(B, T, n_mfcc)``."""

    who = "librosa-mfcc"

    def __init__(self, config: LibrosaMfccConfig | None = None) -> None:
        self.config = config or LibrosaMfccConfig()
        self.sample_rate = self.config.sample_rate
        self.feature_dim = self.config.n_mfcc

    def _compute(self, audio: np.ndarray) -> np.ndarray:
        import librosa

        config = self.config
        assert isinstance(config, LibrosaMfccConfig)
        return librosa.feature.mfcc(
            y=audio,
            n_mfcc=config.n_mfcc,
            dct_type=config.dct_type,
            norm=None if config.dct_norm == "none" else config.dct_norm,
            lifter=config.lifter,
            mel_norm=None if config.mel_norm == "none" else config.mel_norm,
            **mel_kwargs(config),
        )
