"""Cepstral mean and variance normalisation over valid frames only (padding is ignored).

``cmvn-utterance``: each utterance by its own statistics. ``cmvn-global``: statistics
accumulated over a training manifest with ``accumulate(features, lengths)``, kept in
``state_dict()`` (float64 sums) so a checkpoint restores them with ``load_state_dict``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from voxtext.errors import DataError, VoxtextError
from voxtext_features.batch_checks import check_padded_batch, valid_mask
from voxtext_features.configs import CmvnConfig


def masked_sums(features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Per-row frame count ``(B,)``, sum ``(B, D)`` and sum of squares ``(B, D)`` over valid
    frames, in float64 (global sums over many hours lose precision in float32)."""
    mask = valid_mask(lengths, features.shape[1]).unsqueeze(2)
    valid = torch.where(mask, features, 0.0).to(torch.float64)
    return lengths.to(torch.float64), valid.sum(dim=1), valid.square().sum(dim=1)


def _normalise(
    features: torch.Tensor, lengths: torch.Tensor, mean: torch.Tensor, scale: torch.Tensor | None
) -> torch.Tensor:
    shifted = features - mean
    if scale is not None:
        shifted = shifted * scale
    mask = valid_mask(lengths, features.shape[1]).unsqueeze(2)
    return torch.where(mask, shifted, 0.0)


class UtteranceCmvn:
    """Per-utterance CMVN: ``(B, T, D)`` -> same shape, padding zero; no fitting needed."""

    needs_fitting = False

    def __init__(self, config: CmvnConfig | None = None) -> None:
        self.config = config or CmvnConfig()

    def __call__(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        features, lengths = check_padded_batch(
            features, lengths, who="cmvn-utterance", ndim=3, axis_name="frames"
        )
        count, total, squares = masked_sums(features, lengths)
        count = count.clamp_min(1.0).unsqueeze(1)  # empty rows stay all-zero
        mean = total / count
        scale = None
        if self.config.normalize_variance:
            variance = (squares / count - mean.square()).clamp_min(self.config.variance_floor)
            scale = variance.rsqrt().to(features.dtype).unsqueeze(1)
        return _normalise(features, lengths, mean.to(features.dtype).unsqueeze(1), scale)

    def accumulate(self, features: torch.Tensor, lengths: torch.Tensor) -> None:
        """Nothing to learn: per-utterance statistics come from each utterance itself."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state:
            raise DataError(f"cmvn-utterance has no state, but was given keys {sorted(state)}")


class GlobalCmvn:
    """Global CMVN: mean/std over every valid frame seen by ``accumulate``.

    Using it before ``accumulate`` (or ``load_state_dict``) raises VoxtextError.
    """

    needs_fitting = True
    STATE_KEYS = ("count", "sum", "sum_squares")

    def __init__(self, config: CmvnConfig | None = None) -> None:
        self.config = config or CmvnConfig()
        self._count = torch.zeros((), dtype=torch.float64)
        self._sum: torch.Tensor | None = None
        self._squares: torch.Tensor | None = None
        self._cache: dict[torch.device, tuple[torch.Tensor, torch.Tensor | None]] = {}

    @property
    def is_fitted(self) -> bool:
        return self._sum is not None and float(self._count) > 0

    def accumulate(self, features: torch.Tensor, lengths: torch.Tensor) -> None:
        """Add the valid frames of a padded batch ``(B, T, D)`` to the statistics."""
        features, lengths = check_padded_batch(
            features, lengths, who="cmvn-global", ndim=3, axis_name="frames"
        )
        if self._sum is not None and features.shape[2] != self._sum.shape[0]:
            raise DataError(
                f"cmvn-global: features have dim {features.shape[2]} but the statistics so far "
                f"have dim {self._sum.shape[0]}; every accumulated batch must come from the "
                "same feature extractor"
            )
        count, total, squares = (t.detach().cpu() for t in masked_sums(features, lengths))
        self._count = self._count + count.sum()
        self._sum = total.sum(0) if self._sum is None else self._sum + total.sum(0)
        self._squares = squares.sum(0) if self._squares is None else self._squares + squares.sum(0)
        self._cache.clear()

    def __call__(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        features, lengths = check_padded_batch(
            features, lengths, who="cmvn-global", ndim=3, axis_name="frames"
        )
        mean, scale = self._statistics(features.device, features.shape[2])
        return _normalise(
            features,
            lengths,
            mean.to(features.dtype),
            None if scale is None else scale.to(features.dtype),
        )

    def _statistics(
        self, device: torch.device, dim: int
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not self.is_fitted:
            raise VoxtextError(
                "cmvn-global has no statistics yet: call accumulate(features, lengths) over the "
                "training manifest's features first, or restore them from a checkpoint with "
                "load_state_dict()"
            )
        assert self._sum is not None and self._squares is not None
        if self._sum.shape[0] != dim:
            raise DataError(
                f"cmvn-global: statistics have dim {self._sum.shape[0]} but the "
                f"features have dim {dim}; fit it on this feature extractor's output"
            )
        if device not in self._cache:
            mean = self._sum / self._count
            scale = None
            if self.config.normalize_variance:
                variance = self._squares / self._count - mean.square()
                scale = variance.clamp_min(self.config.variance_floor).rsqrt().to(device)
            self._cache[device] = (mean.to(device), scale)
        return self._cache[device]

    def state_dict(self) -> dict[str, Any]:
        """Float64 sufficient statistics: ``count`` (frames), ``sum`` and ``sum_squares``."""
        if self._sum is None or self._squares is None:
            return {"count": self._count.clone()}
        return {
            "count": self._count.clone(),
            "sum": self._sum.clone(),
            "sum_squares": self._squares.clone(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        missing = [k for k in self.STATE_KEYS if k not in state]
        unknown = sorted(set(state) - set(self.STATE_KEYS))
        if unknown or (missing and missing != ["sum", "sum_squares"]):
            raise DataError(
                f"cmvn-global state: expected keys {list(self.STATE_KEYS)}, "
                f"missing {missing}, unknown {unknown}"
            )
        count = torch.as_tensor(state["count"], dtype=torch.float64).reshape(())
        total = state.get("sum")
        squares = state.get("sum_squares")
        if total is not None and squares is not None:
            total = torch.as_tensor(total, dtype=torch.float64).cpu()
            squares = torch.as_tensor(squares, dtype=torch.float64).cpu()
            if total.dim() != 1 or total.shape != squares.shape:
                raise DataError(
                    f"cmvn-global state: 'sum' {tuple(total.shape)} and "
                    f"'sum_squares' {tuple(squares.shape)} must be equal 1-D shapes"
                )
        self._count, self._sum, self._squares = count.cpu(), total, squares
        self._cache.clear()
