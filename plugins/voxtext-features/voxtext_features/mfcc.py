"""``mfcc``: Kaldi-compatible MFCCs, batched, on CPU or CUDA (``compute-mfcc-feats``)."""

from __future__ import annotations

import math

import torch

from voxtext_features.configs import MfccConfig
from voxtext_features.kaldi_frontend import KaldiFrontEnd
from voxtext_features.traceable_frontend import TraceableKaldiFrontEnd


def kaldi_dct_matrix(num_ceps: int, num_bins: int) -> torch.Tensor:
    """Kaldi's ``ComputeDctMatrix`` (orthonormal DCT-II), first ``num_ceps`` rows, transposed
    to ``(num_bins, num_ceps)`` so features multiply it from the left."""
    n = torch.arange(num_bins, dtype=torch.float64)
    k = torch.arange(num_ceps, dtype=torch.float64).unsqueeze(1)
    dct = math.sqrt(2.0 / num_bins) * torch.cos(math.pi / num_bins * (n + 0.5) * k)
    dct[0] = math.sqrt(1.0 / num_bins)
    return dct.t()


def kaldi_lifter(num_ceps: int, lifter: float) -> torch.Tensor:
    """Kaldi's ``ComputeLifterCoeffs``: ``1 + Q/2 sin(pi i / Q)``; ones when ``Q`` is 0."""
    i = torch.arange(num_ceps, dtype=torch.float64)
    if lifter == 0:
        return torch.ones(num_ceps, dtype=torch.float64)
    return 1.0 + 0.5 * lifter * torch.sin(math.pi * i / lifter)


class Mfcc:
    """MFCCs matching Kaldi / kaldi-native-fbank on the same options.

    ``mfcc(waveforms (B, S), lengths (B,))`` -> ``(features (B, T, num_ceps), frame_lengths
    (B,))``; the device follows the input.
    """

    def __init__(self, config: MfccConfig | None = None) -> None:
        self.config = config or MfccConfig()
        # Kaldi's MFCC always takes logs of mel power; the energy rides along in column 0.
        self._frontend = KaldiFrontEnd(self.config, use_log_fbank=True, use_power=True, who="mfcc")
        lifted = kaldi_dct_matrix(self.config.num_ceps, self.config.num_mel_bins) * kaldi_lifter(
            self.config.num_ceps, self.config.cepstral_lifter
        )
        self._cepstra = lifted.to(torch.float32)
        self._cepstra_by_device: dict[torch.device, torch.Tensor] = {}
        self.sample_rate = self.config.sample_rate
        self.feature_dim = self.config.num_ceps

    def num_frames(self, lengths: torch.Tensor) -> torch.Tensor:
        return self.config.geometry.num_frames(lengths)

    def traceable(self) -> TraceableMfcc:
        """The same features as whole-tensor operations a graph exporter can trace
        (``protocols.TraceableFeatureExtractor``); raises ConfigError for options it cannot
        export."""
        front_end = TraceableKaldiFrontEnd(
            self.config, use_log_fbank=True, use_power=True, who="mfcc"
        )
        return TraceableMfcc(front_end, self._cepstra, self.config.use_energy)

    def __call__(
        self, waveforms: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        log_mel, frame_lengths = self._frontend(waveforms, lengths)
        device = log_mel.device
        if device not in self._cepstra_by_device:
            self._cepstra_by_device[device] = self._cepstra.to(device)
        first_mel = int(self.config.use_energy)
        # Padding frames are zero in log_mel, and a linear map keeps them zero.
        cepstra = log_mel[..., first_mel:] @ self._cepstra_by_device[device]
        if self.config.use_energy:
            cepstra[..., 0] = log_mel[..., 0]
        return cepstra, frame_lengths


class TraceableMfcc:
    """:class:`Mfcc` for graph export: the traceable log-mel front end, then the lifted DCT,
    the log-energy (with ``use_energy``) replacing cepstrum 0 without writing in place."""

    def __init__(
        self, front_end: TraceableKaldiFrontEnd, cepstra: torch.Tensor, use_energy: bool
    ) -> None:
        self.front_end = front_end
        self.cepstra = cepstra
        self.use_energy = use_energy

    def __call__(
        self, waveforms: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        log_mel, frame_lengths = self.front_end(waveforms, lengths)
        first_mel = int(self.use_energy)
        cepstra = log_mel[..., first_mel:] @ self.cepstra.to(log_mel.device)
        if self.use_energy:
            cepstra = torch.cat((log_mel[..., :1], cepstra[..., 1:]), dim=-1)
        return cepstra, frame_lengths
