"""``speed-perturb``: Ko et al. (2015) speed perturbation by resampling, one factor per row.

A factor ``f`` plays the utterance ``f`` times as fast (pitch moves with it): the samples are
treated as recorded at ``f * sample_rate`` and resampled to ``sample_rate`` with
``torchaudio.functional.resample``, so the length becomes ``ceil(length / f)``.
"""

from __future__ import annotations

import math

import torch

from voxtext_features.batch_checks import check_generator, check_padded_batch, uniform, valid_mask
from voxtext_features.configs import SpeedPerturbConfig


def resampling_rates(factor: float, sample_rate: int) -> tuple[int, int]:
    """Integer ``(orig_freq, new_freq)`` in lowest terms for a speed factor."""
    orig, new = round(sample_rate * factor), sample_rate
    divisor = math.gcd(orig, new)
    return orig // divisor, new // divisor


def perturbed_lengths(lengths: torch.Tensor, orig: int, new: int) -> torch.Tensor:
    """``ceil(length * new / orig)`` in exact integer arithmetic (torchaudio's output size)."""
    return (lengths * new + orig - 1) // orig


class SpeedPerturb:
    """Waveforms ``(B, S)`` -> ``(B, S')`` with new lengths; padding (and the filter's tail
    past each row's new length) is zero, so a row equals resampling that utterance alone."""

    domain = "waveform"

    def __init__(self, config: SpeedPerturbConfig | None = None) -> None:
        self.config = config or SpeedPerturbConfig()

    def __call__(
        self, x: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        import torchaudio.functional as taf

        x, lengths = check_padded_batch(
            x, lengths, who="speed-perturb", ndim=2, axis_name="samples"
        )
        generator = check_generator(generator, "speed-perturb")
        factors = self.config.factors
        choice = (uniform(generator, (x.shape[0],), x.device) * len(factors)).long()
        choice = choice.clamp_max(len(factors) - 1)
        # Zero the padding first: resampling mixes neighbouring samples into each row's end.
        x = torch.where(valid_mask(lengths, x.shape[1]), x, 0.0)
        rates = [resampling_rates(f, self.config.sample_rate) for f in factors]
        new_lengths = lengths.clone()
        for index, (orig, new) in enumerate(rates):
            rows = choice == index
            if orig != new and bool(rows.any()):
                new_lengths[rows] = perturbed_lengths(lengths[rows], orig, new)
        width = int(new_lengths.max()) if len(new_lengths) else 0
        out = x.new_zeros(x.shape[0], width)
        for index, (orig, new) in enumerate(rates):
            rows = (choice == index).nonzero().squeeze(1)
            if rows.numel() == 0:
                continue
            resampled = x[rows] if orig == new else taf.resample(x[rows], orig, new)
            keep = min(width, resampled.shape[1])
            out[rows, :keep] = resampled[:, :keep]
        return torch.where(valid_mask(new_lengths, width), out, 0.0), new_lengths
