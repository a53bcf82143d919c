"""``spec-augment``: SpecAugment time and frequency masks (Park et al. 2019), length-aware.

Time masks fall inside each utterance's valid frames and their width is capped at
``max_time_ratio`` of its length, so short utterances are not wiped out; padding stays zero.
"""

from __future__ import annotations

import torch

from voxtext_features.batch_checks import check_generator, check_padded_batch, uniform, valid_mask
from voxtext_features.configs import SpecAugmentConfig


def band_masks(starts: torch.Tensor, widths: torch.Tensor, size: int) -> torch.Tensor:
    """``(B, size)`` True inside any band ``[start, start + width)`` of ``(B, n)`` bands."""
    positions = torch.arange(size, device=starts.device).view(1, 1, size)
    inside = (positions >= starts.unsqueeze(2)) & (positions < (starts + widths).unsqueeze(2))
    return inside.any(dim=1)


def random_bands(
    generator: torch.Generator, count: int, max_width: torch.Tensor, extent: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` bands per row: width uniform in ``[0, max_width]``, start uniform so the band
    ends within ``extent`` (both ``(B,)`` int64)."""
    batch = extent.shape[0]
    draws = uniform(generator, (batch, 2 * count), extent.device)
    widths = (draws[:, :count] * (max_width.unsqueeze(1) + 1)).long()
    widths = torch.minimum(widths, extent.unsqueeze(1))
    starts = (draws[:, count:] * (extent.unsqueeze(1) - widths + 1)).long()
    return starts, widths


class SpecAugment:
    """Features ``(B, T, D)`` -> masked features, same lengths."""

    domain = "features"

    def __init__(self, config: SpecAugmentConfig | None = None) -> None:
        self.config = config or SpecAugmentConfig()

    def __call__(
        self, x: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x, lengths = check_padded_batch(x, lengths, who="spec-augment", ndim=3, axis_name="frames")
        generator = check_generator(generator, "spec-augment")
        config = self.config
        batch, frames, dim = x.shape
        dims = torch.full((batch,), dim, dtype=torch.int64, device=x.device)
        max_freq = torch.full_like(dims, min(config.max_freq_width, dim))
        starts, widths = random_bands(generator, config.num_freq_masks, max_freq, dims)
        freq_mask = band_masks(starts, widths, dim)
        max_time = torch.clamp((lengths * config.max_time_ratio).long(), max=config.max_time_width)
        starts, widths = random_bands(generator, config.num_time_masks, max_time, lengths)
        time_mask = band_masks(starts, widths, frames)
        masked = x.masked_fill(time_mask.unsqueeze(2) | freq_mask.unsqueeze(1), config.mask_value)
        valid = valid_mask(lengths, frames).unsqueeze(2)
        return torch.where(valid, masked, 0.0), lengths
