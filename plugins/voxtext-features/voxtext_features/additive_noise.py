"""``additive-noise``: white, pink or babble noise mixed in at a random SNR per utterance.

Signal and noise powers are measured over each row's valid samples only. Babble is the sum of
``babble_speakers`` other utterances of the same batch (each looped to cover the row); a row
with no other non-empty utterance in its batch is left clean, as is a silent row.
"""

from __future__ import annotations

import torch

from voxtext_features.batch_checks import check_generator, check_padded_batch, uniform, valid_mask
from voxtext_features.configs import AdditiveNoiseConfig
from voxtext_features.configs import NoiseType as NoiseType  # re-exported


def pink_from_white(white: torch.Tensor) -> torch.Tensor:
    """Shape white noise ``(B, S)`` to a 1/f power spectrum (amplitude 1/sqrt(f), no DC)."""
    spectrum = torch.fft.rfft(white, dim=1)
    bins = torch.arange(spectrum.shape[1], device=white.device, dtype=white.dtype)
    shaping = bins.clamp_min(1.0).rsqrt()
    shaping[0] = 0.0
    return torch.fft.irfft(spectrum * shaping, n=white.shape[1], dim=1)


def babble(
    x: torch.Tensor, lengths: torch.Tensor, speakers: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of up to ``speakers`` other rows per row, each looped over its own length.

    Returns the noise ``(B, S)`` and a ``(B,)`` flag of rows that had anyone to babble."""
    batch, width = x.shape
    keys = uniform(generator, (batch, batch), x.device)
    unusable = torch.eye(batch, dtype=torch.bool, device=x.device) | (lengths == 0).unsqueeze(0)
    keys = keys.masked_fill(unusable, float("inf"))
    order = keys.argsort(dim=1)[:, : min(speakers, max(batch - 1, 0))]  # (B, k) other rows
    available = torch.gather(~unusable, 1, order)
    positions = torch.arange(width, device=x.device)
    noise = x.new_zeros(batch, width)
    for slot in range(order.shape[1]):
        other = order[:, slot]
        period = lengths[other].clamp_min(1).unsqueeze(1)
        looped = x[other].gather(1, (positions % period).expand(batch, width))
        noise += looped * available[:, slot].unsqueeze(1)
    return noise, available.any(dim=1) if order.shape[1] else torch.zeros_like(lengths).bool()


class AdditiveNoise:
    """Waveforms ``(B, S)`` -> noisy waveforms, same lengths; padding stays zero."""

    domain = "waveform"

    def __init__(self, config: AdditiveNoiseConfig | None = None) -> None:
        self.config = config or AdditiveNoiseConfig()

    def __call__(
        self, x: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x, lengths = check_padded_batch(
            x, lengths, who="additive-noise", ndim=2, axis_name="samples"
        )
        generator = check_generator(generator, "additive-noise")
        config = self.config
        batch, width = x.shape
        draws = uniform(generator, (batch, 3), x.device)
        applied = draws[:, 0] < config.probability
        kind = (draws[:, 1] * len(config.noise_types)).long().clamp_max(len(config.noise_types) - 1)
        snr_db = config.snr_db_range[0] + draws[:, 2] * (
            config.snr_db_range[1] - config.snr_db_range[0]
        )
        valid = valid_mask(lengths, width)
        x = torch.where(valid, x, 0.0)
        noise, usable = self._noise(x, lengths, kind, generator)
        noise = torch.where(valid, noise, 0.0)
        signal_power = x.square().sum(1) / lengths.clamp_min(1)
        noise_power = noise.square().sum(1) / lengths.clamp_min(1)
        target = signal_power / torch.pow(10.0, snr_db / 10.0).to(x.dtype)
        gain = torch.where(
            (noise_power > 0) & usable & applied,
            (target / noise_power.clamp_min(1e-30)).sqrt(),
            0.0,
        )
        return x + gain.unsqueeze(1) * noise, lengths

    def _noise(
        self, x: torch.Tensor, lengths: torch.Tensor, kind: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Noise of each row's kind, and which rows have usable noise."""
        white = torch.randn(
            x.shape, generator=generator, device=generator.device, dtype=x.dtype
        ).to(x.device)
        noise = torch.zeros_like(x)
        usable = torch.ones_like(lengths, dtype=torch.bool)
        for index, name in enumerate(self.config.noise_types):
            rows = kind == index
            if not bool(rows.any()):
                continue
            if name == "white":
                noise[rows] = white[rows]
            elif name == "pink":
                noise[rows] = pink_from_white(white[rows])
            else:
                spoken, has_others = babble(x, lengths, self.config.babble_speakers, generator)
                noise[rows] = spoken[rows]
                usable = torch.where(rows, has_others, usable)
        return noise, usable
