"""``whisper-log-mel``: Whisper's log-mel spectrogram, on variable-length batches.

The maths of transformers' ``WhisperFeatureExtractor`` (torch path): a centred 400-point
Hann STFT with reflect padding and hop 160, power spectrum (the last frame dropped, so an
utterance of ``L`` samples has ``L // 160`` frames), Slaney-normalised Slaney-scale mel
filters from 0 to 8 kHz, ``log10(max(mel, 1e-10))``, a dynamic range of 8 below the maximum,
and ``(x + 4) / 4``. Unlike the reference, nothing is padded to 30 s: each row is reflected at
its own end and its maximum is taken over its own valid frames, so a row of a batch equals the
utterance alone (the ``FeatureExtractor`` contract). Shapes: waveforms ``(batch, samples)`` +
lengths ``(batch,)`` -> features ``(batch, frames, n_mels)`` + frame lengths ``(batch,)``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import torch

from voxtext.errors import ConfigError
from voxtext_whisper.configs import WhisperLogMelConfig

DEFAULTS = {"feature_size": 80, "n_fft": 400, "hop_length": 160, "sampling_rate": 16000}


def hertz_to_mel_slaney(freq: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz (3 mels / 200 Hz), logarithmic above."""
    freq = np.asarray(freq, dtype=np.float64)
    mels = 3.0 * freq / 200.0
    log_region = freq >= 1000.0
    logstep = 27.0 / np.log(6.4)
    mels[log_region] = 15.0 + np.log(freq[log_region] / 1000.0) * logstep
    return mels


def mel_to_hertz_slaney(mels: np.ndarray) -> np.ndarray:
    """Inverse of :func:`hertz_to_mel_slaney`."""
    mels = np.asarray(mels, dtype=np.float64)
    freq = 200.0 * mels / 3.0
    log_region = mels >= 15.0
    logstep = np.log(6.4) / 27.0
    freq[log_region] = 1000.0 * np.exp(logstep * (mels[log_region] - 15.0))
    return freq


def slaney_mel_filters(n_freqs: int, n_mels: int, sample_rate: int) -> np.ndarray:
    """Triangular filters ``(n_freqs, n_mels)`` between 0 and 8 kHz, each with unit area
    (Slaney normalisation ``2 / (f_right - f_left)``)."""
    mel_max = hertz_to_mel_slaney(np.array([8000.0]))[0]
    edges = mel_to_hertz_slaney(np.linspace(0.0, mel_max, n_mels + 2))
    fft_freqs = np.linspace(0, sample_rate // 2, n_freqs)
    widths = np.diff(edges)
    slopes = edges[None, :] - fft_freqs[:, None]
    down = -slopes[:, :-2] / widths[:-1]
    up = slopes[:, 2:] / widths[1:]
    filters = np.maximum(0.0, np.minimum(down, up))
    return filters * (2.0 / (edges[2 : n_mels + 2] - edges[:n_mels]))[None, :]


def read_settings(config: WhisperLogMelConfig) -> dict[str, int]:
    """n_mels, n_fft, hop and sample rate from the folder's preprocessor config or defaults."""
    settings = dict(DEFAULTS)
    if config.path is not None:
        from voxtext_whisper.convert import transformers_folder

        file = transformers_folder(config.path, "whisper-log-mel.path") / "preprocessor_config.json"
        if not file.is_file():
            raise ConfigError(
                f"whisper-log-mel.path: '{file}' does not exist; expected a transformers "
                "Whisper folder (voxtext convert whisper-ct2 writes one)"
            )
        stored = json.loads(file.read_text(encoding="utf-8"))
        settings.update({k: int(stored[k]) for k in DEFAULTS if k in stored})
        if config.n_mels is not None and config.n_mels != settings["feature_size"]:
            raise ConfigError(
                f"whisper-log-mel.n_mels={config.n_mels} but {file} says feature_size="
                f"{settings['feature_size']}; leave n_mels unset to follow the folder"
            )
    elif config.n_mels is not None:
        settings["feature_size"] = config.n_mels
    return settings


def reflect_frames(
    waveforms: torch.Tensor, lengths: torch.Tensor, n_fft: int, hop: int
) -> torch.Tensor:
    """Windows ``(batch, frames, n_fft)`` of each row reflected at its own ends, as a centred
    STFT of that row alone sees them (frame ``t`` is centred on sample ``t * hop``)."""
    frames = int(lengths.max()) // hop
    half = n_fft // 2
    starts = torch.arange(frames, device=waveforms.device) * hop - half
    positions = starts[:, None] + torch.arange(n_fft, device=waveforms.device)[None, :]
    last = (lengths - 1).view(-1, 1, 1)
    positions = positions.unsqueeze(0).abs()  # reflect at 0
    positions = torch.where(positions > last, 2 * last - positions, positions)  # ... at L-1
    positions = positions.clamp(0, waveforms.shape[1] - 1)  # only frames past a row's end
    batch = positions.shape[0]
    flat = positions.reshape(batch, -1)
    return torch.gather(waveforms, 1, flat).view(batch, frames, n_fft)


def whisper_log_mel(
    waveforms: torch.Tensor,
    lengths: torch.Tensor,
    filters: torch.Tensor,
    n_fft: int = 400,
    hop: int = 160,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(batch, samples)`` + lengths -> log-mel ``(batch, frames, n_mels)`` + frame lengths;
    ``filters`` float32 ``(n_fft // 2 + 1, n_mels)``. Frames past a row's length are zero."""
    frame_lengths = (lengths // hop).long()
    windows = reflect_frames(waveforms.float(), lengths, n_fft, hop)
    window = torch.hann_window(n_fft, device=waveforms.device, dtype=torch.float32)
    power = torch.fft.rfft(windows * window, dim=-1).abs() ** 2
    log_spec = torch.clamp(power @ filters, min=1e-10).log10()
    valid = (
        torch.arange(log_spec.shape[1], device=log_spec.device)[None, :] < frame_lengths[:, None]
    )
    masked = log_spec.masked_fill(~valid.unsqueeze(-1), -math.inf)
    peak = masked.amax(dim=(1, 2), keepdim=True)
    log_spec = (torch.maximum(log_spec, peak - 8.0) + 4.0) / 4.0
    return log_spec.masked_fill(~valid.unsqueeze(-1), 0.0), frame_lengths


class WhisperLogMel:
    """The ``whisper-log-mel`` feature extractor (see the module docstring for shapes)."""

    def __init__(self, config: WhisperLogMelConfig) -> None:
        self.config = config
        settings = read_settings(config)
        self.sample_rate = settings["sampling_rate"]
        self.feature_dim = settings["feature_size"]
        self.n_fft, self.hop_length = settings["n_fft"], settings["hop_length"]
        filters = slaney_mel_filters(self.n_fft // 2 + 1, self.feature_dim, self.sample_rate)
        self.filters = torch.from_numpy(filters.astype(np.float32))

    def __call__(
        self, waveforms: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if waveforms.dim() != 2 or lengths.shape != (waveforms.shape[0],):
            raise ValueError(
                f"whisper-log-mel takes waveforms (batch, samples) and lengths (batch,), got "
                f"{tuple(waveforms.shape)} and {tuple(lengths.shape)}"
            )
        if int(lengths.min()) <= self.n_fft // 2:
            raise ValueError(
                f"whisper-log-mel: every row needs more than {self.n_fft // 2} samples "
                f"(the reflect padding of a centred STFT); got lengths {lengths.tolist()}"
            )
        filters = self.filters.to(waveforms.device)
        return whisper_log_mel(waveforms, lengths, filters, self.n_fft, self.hop_length)

    def describe(self) -> dict[str, Any]:
        """Settings for reports."""
        return {"n_mels": self.feature_dim, "n_fft": self.n_fft, "hop": self.hop_length}
