"""Input checks shared by every component: what a padded batch must look like, said clearly."""

from __future__ import annotations

import torch

from voxtext.errors import DataError
from voxtext_features.configs import check_range as check_range  # re-exported


def check_padded_batch(
    x: torch.Tensor, lengths: torch.Tensor, *, who: str, ndim: int, axis_name: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a padded batch and its lengths; returns ``(x, lengths)`` with lengths as int64
    on ``x``'s device. ``ndim`` is 2 for waveforms ``(batch, samples)`` and 3 for features
    ``(batch, frames, dim)``; ``axis_name`` names axis 1 in messages."""
    if not isinstance(x, torch.Tensor) or not isinstance(lengths, torch.Tensor):
        raise DataError(
            f"{who}: expected torch tensors, got {type(x).__name__} and {type(lengths).__name__}"
        )
    shape = "(batch, samples)" if ndim == 2 else "(batch, frames, dim)"
    if x.dim() != ndim:
        raise DataError(
            f"{who}: expected a {ndim}-D tensor {shape}, got shape {tuple(x.shape)}; add a batch "
            "axis with x.unsqueeze(0) for a single utterance"
        )
    if not x.is_floating_point():
        raise DataError(
            f"{who}: expected floating-point input, got {x.dtype}; convert int16 audio with "
            "x.float() / 32768"
        )
    if lengths.dim() != 1 or lengths.shape[0] != x.shape[0]:
        raise DataError(
            f"{who}: lengths must have shape ({x.shape[0]},) — one per row — got "
            f"{tuple(lengths.shape)}"
        )
    if lengths.is_floating_point() or lengths.is_complex():
        raise DataError(f"{who}: lengths must be integers (int64), got {lengths.dtype}")
    lengths = lengths.to(device=x.device, dtype=torch.int64)
    if lengths.numel() and not torch.compiler.is_compiling():  # values unknown while tracing
        low, high = int(lengths.min()), int(lengths.max())
        if low < 0 or high > x.shape[1]:
            raise DataError(
                f"{who}: lengths must lie in [0, {x.shape[1]}] ({axis_name} in the padded "
                f"batch), got min {low} and max {high}"
            )
    return x, lengths


def valid_mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """Boolean ``(batch, width)``: True where position ``t < lengths[b]``."""
    return torch.arange(width, device=lengths.device) < lengths.unsqueeze(1)


def check_generator(generator: object, who: str) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise DataError(
            f"{who}: expected a torch.Generator (e.g. torch.Generator().manual_seed(0)) so the "
            f"augmentation is reproducible, got {type(generator).__name__}"
        )
    return generator


def uniform(
    generator: torch.Generator,
    shape: tuple[int, ...],
    device: torch.device,
    low: float = 0.0,
    high: float = 1.0,
) -> torch.Tensor:
    """Uniform draws in [low, high) from ``generator`` (on its own device), moved to ``device``.

    Drawing on the generator's device keeps results identical wherever the batch lives.
    """
    draws = torch.rand(shape, generator=generator, device=generator.device, dtype=torch.float64)
    return (low + (high - low) * draws).to(device)
