"""``fbank``: Kaldi-compatible log-mel filterbank features, batched, on CPU or CUDA."""

from __future__ import annotations

import torch

from voxtext_features.configs import FbankConfig
from voxtext_features.kaldi_frontend import KaldiFrontEnd
from voxtext_features.traceable_frontend import TraceableKaldiFrontEnd


class Fbank:
    """Log-mel filterbank matching Kaldi / kaldi-native-fbank on the same options.

    ``fbank(waveforms (B, S), lengths (B,))`` -> ``(features (B, T, feature_dim), frame_lengths
    (B,))``; the device follows the input; not differentiable (runs under ``no_grad``).
    """

    def __init__(self, config: FbankConfig | None = None) -> None:
        self.config = config or FbankConfig()
        self._frontend = KaldiFrontEnd(
            self.config,
            use_log_fbank=self.config.use_log_fbank,
            use_power=self.config.use_power,
            who="fbank",
        )
        self.sample_rate = self.config.sample_rate
        self.feature_dim = self._frontend.output_dim

    def num_frames(self, lengths: torch.Tensor) -> torch.Tensor:
        """Frames produced for ``lengths`` samples (Kaldi's rule for the configured edges)."""
        return self.config.geometry.num_frames(lengths)

    def traceable(self) -> TraceableKaldiFrontEnd:
        """The same features as whole-tensor operations a graph exporter can trace
        (``protocols.TraceableFeatureExtractor``); raises ConfigError for options it cannot
        export."""
        return TraceableKaldiFrontEnd(
            self.config,
            use_log_fbank=self.config.use_log_fbank,
            use_power=self.config.use_power,
            who="fbank",
        )

    def __call__(
        self, waveforms: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self._frontend(waveforms, lengths)
