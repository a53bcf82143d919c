"""The Kaldi front end written for graph export (``voxtext export --format onnx``).

``KaldiFrontEnd`` is tuned for eager speed: strided views, in-place writes into preallocated
buffers, ``rfft`` in a Python loop over cache-sized chunks, and a frame count read from the
lengths' values. None of that traces into a static graph. This is the same maths (Kaldi's
``feature-window.cc``/``feature-fbank.cc``, see ``kaldi_functional``) as whole-tensor
operations an exporter can follow:

- frames are gathered with an index matrix ``(frames, window)`` whose size follows the padded
  width, not the lengths' values (frames past a row's length are zeroed, as eagerly);
- the DFT is a matmul with ``[cos | -sin]`` of the window's samples: the FFT's zero padding
  contributes nothing, so only the first ``window_size`` rows of the DFT matrix are needed;
- DC removal and pre-emphasis (a frame's first sample against itself) run per frame.

Only ``snip_edges=True`` (Kaldi's default) and ``dither=0`` are supported: reflected edges need
per-row gathers past each length, and dither is random, so no exported graph could match the
eager features. The tests check this front end against ``KaldiFrontEnd``.
"""

from __future__ import annotations

import math

import torch

from voxtext.errors import ConfigError
from voxtext_features.configs import KaldiFrameConfig
from voxtext_features.kaldi_functional import (
    FLT_EPSILON,
    kaldi_mel_bank,
    kaldi_window,
    parseval_weights,
)


def dft_basis(window_size: int, fft_size: int) -> torch.Tensor:
    """``(window_size, 2 * bins)``: ``x @ basis`` is ``[Re, Im]`` of ``rfft(x, fft_size)`` for a
    frame ``x`` of ``window_size`` samples zero-padded to ``fft_size`` (angles in float64)."""
    n = torch.arange(window_size, dtype=torch.float64).unsqueeze(1)
    k = torch.arange(fft_size // 2 + 1, dtype=torch.float64).unsqueeze(0)
    angles = (2 * math.pi / fft_size) * torch.remainder(n * k, fft_size)
    return torch.cat((angles.cos(), -angles.sin()), dim=1)


class TraceableKaldiFrontEnd:
    """``(waveforms (B, S), lengths (B,))`` -> ``(features (B, T, dim), frame_lengths (B,))``
    with ``T = 1 + (S - window_size) // shift``: the features ``KaldiFrontEnd`` gives on the
    same options (up to float32 rounding), frames past a row's length zero."""

    def __init__(
        self, config: KaldiFrameConfig, *, use_log_fbank: bool, use_power: bool, who: str
    ) -> None:
        if not config.snip_edges:
            raise ConfigError(
                f"{who}: snip_edges=False cannot be exported (its reflected edges depend on "
                "each row's length); export a model trained with snip_edges=True"
            )
        if config.dither > 0:
            raise ConfigError(
                f"{who}: dither={config.dither} adds random noise to every frame, so no "
                "exported graph can reproduce the features; export a model with dither=0"
            )
        self.config = config
        self.geometry = config.geometry
        self.use_log_fbank = use_log_fbank
        self.use_power = use_power
        scale = config.waveform_scale
        geometry = self.geometry
        bank = kaldi_mel_bank(
            config.num_mel_bins,
            geometry.fft_size,
            config.sample_rate,
            config.low_freq,
            config.high_freq,
        )
        self.mel_bank = (bank.t() * (scale**2 if use_power else scale)).float()
        self.window = kaldi_window(
            config.window_type, geometry.window_size, config.blackman_coeff
        ).float()
        self.basis = dft_basis(geometry.window_size, geometry.fft_size).float()
        self.energy_weights = (parseval_weights(geometry.fft_size) * scale**2).float()
        self.energy = None
        if config.use_energy:
            self.energy = "raw" if config.raw_energy else "windowed"
        self.output_dim = config.num_mel_bins + int(config.use_energy)

    def __call__(
        self, waveforms: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        config, geometry = self.config, self.geometry
        size, shift = geometry.window_size, geometry.window_shift
        frame_count = (waveforms.shape[1] - size) // shift + 1
        starts = torch.arange(frame_count, device=waveforms.device) * shift
        index = starts.unsqueeze(1) + torch.arange(size, device=waveforms.device)
        frames = waveforms.float()[:, index]  # (B, T, W)
        if config.remove_dc_offset:
            frames = frames - frames.mean(dim=-1, keepdim=True)
        energy = None
        if self.energy == "raw":
            energy = frames.square().sum(dim=-1) * config.waveform_scale**2
        c = config.preemphasis_coefficient
        if c != 0.0:
            frames = torch.cat(
                (frames[..., :1] * (1.0 - c), frames[..., 1:] - c * frames[..., :-1]), -1
            )
        spectrum = (frames * self.window.to(frames.device)) @ self.basis.to(frames.device)
        bins = spectrum.shape[-1] // 2
        values = spectrum[..., :bins].square() + spectrum[..., bins:].square()
        if self.energy == "windowed":
            energy = values @ self.energy_weights.to(frames.device)
        if not self.use_power:
            values = values.sqrt()
        features = values @ self.mel_bank.to(frames.device)
        if self.use_log_fbank:
            features = features.clamp_min(FLT_EPSILON).log()
        if energy is not None:
            log_energy = energy.clamp_min(FLT_EPSILON).log()
            if config.energy_floor > 0:
                log_energy = log_energy.clamp_min(math.log(config.energy_floor))
            features = torch.cat((log_energy.unsqueeze(-1), features), dim=-1)
        frame_lengths = geometry.num_frames(lengths)
        valid = torch.arange(frame_count, device=waveforms.device) < frame_lengths.unsqueeze(1)
        return torch.where(valid.unsqueeze(-1), features, 0.0), frame_lengths
