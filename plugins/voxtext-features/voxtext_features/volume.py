"""``volume``: a random gain per utterance, uniform in decibels."""

from __future__ import annotations

import torch

from voxtext_features.batch_checks import check_generator, check_padded_batch, uniform, valid_mask
from voxtext_features.configs import VolumeConfig


class Volume:
    """Waveforms ``(B, S)`` -> scaled waveforms, same lengths; padding stays zero."""

    domain = "waveform"

    def __init__(self, config: VolumeConfig | None = None) -> None:
        self.config = config or VolumeConfig()

    def __call__(
        self, x: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x, lengths = check_padded_batch(x, lengths, who="volume", ndim=2, axis_name="samples")
        generator = check_generator(generator, "volume")
        gain_db = uniform(generator, (x.shape[0],), x.device, *self.config.gain_db_range)
        gain = torch.pow(10.0, gain_db / 20.0).to(x.dtype).unsqueeze(1)
        return torch.where(valid_mask(lengths, x.shape[1]), x * gain, 0.0), lengths
