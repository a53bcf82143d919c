"""``librosa-mel`` and ``librosa-mfcc``: librosa's own feature code, one utterance at a time.

For users whose models were trained on librosa features: these call
``librosa.feature.melspectrogram`` / ``librosa.feature.mfcc`` on each unpadded utterance (CPU,
numpy), so the numbers are librosa's exactly. Input is float audio in [-1, 1], as
``librosa.load`` returns it (no rescaling). Output goes back to the input's device.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch

from voxtext_features.batch_checks import check_padded_batch, valid_mask
from voxtext_features.configs import LibrosaMelConfig, LibrosaMfccConfig
from voxtext_features.configs import PadMode as PadMode  # re-exported


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


class _PerUtterance(ABC):
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

    @abstractmethod
    def _compute(self, audio: np.ndarray) -> np.ndarray:
        """Features ``(feature_dim, frames)`` of one unpadded utterance."""


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
