"""The strategies' configs: frozen dataclasses with no heavy imports, so that registering
the plugin stays cheap (torch is imported when a strategy is built)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Adapter activations by config name (the functions live in ``adapters``).
ACTIVATION_NAMES = ("relu", "gelu", "silu")


@dataclass(frozen=True)
class BalancedSamplingConfig:
    """``alpha``: the exponent of p_g ∝ n_g^alpha (>= 0; 1 natural, 0 uniform over groups)."""

    alpha: float = 0.5

    def __post_init__(self) -> None:
        if not self.alpha >= 0:
            raise ValueError(f"alpha must be >= 0 (1 natural, 0 uniform), got {self.alpha}")


@dataclass(frozen=True)
class DialectConditioningConfig:
    """``embedding_dim``: size of the learned dialect vectors, projected to the feature dim.
    ``unknown_probability``: chance that training replaces a row's dialect by unknown."""

    embedding_dim: int = 32
    unknown_probability: float = 0.2

    def __post_init__(self) -> None:
        if self.embedding_dim < 1:
            raise ValueError(f"embedding_dim must be >= 1, got {self.embedding_dim}")
        if not 0 <= self.unknown_probability < 1:
            raise ValueError(
                f"unknown_probability must be in [0, 1), got {self.unknown_probability}"
            )


@dataclass(frozen=True)
class DialectIdConfig:
    """``weight``: λ, the cross-entropy's weight next to the CTC loss. ``hidden_dim``: width of
    a hidden layer before the classifier (0: a linear classifier on the pooled output).
    ``detach``: train the head on the encoder output without sending its gradient into the
    encoder (a probe: dialect identification for inference, no multitask pressure; a
    pretrained encoder early in CTC fine-tuning is easily disturbed by it)."""

    weight: float = 0.3
    hidden_dim: int = 0
    detach: bool = False

    def __post_init__(self) -> None:
        if not self.weight >= 0:
            raise ValueError(f"weight must be >= 0, got {self.weight}")
        if self.hidden_dim < 0:
            raise ValueError(f"hidden_dim must be >= 0, got {self.hidden_dim}")


@dataclass(frozen=True)
class DialectAdaptersConfig:
    """``bottleneck``: the adapters' inner width. ``placement``: ``"output"``, ``"layers"``
    or ``"both"`` (see the module docstring). ``activation``: relu, gelu or silu.
    ``unknown_probability``: chance that training runs a row through the shared path."""

    bottleneck: int = 32
    placement: Literal["output", "layers", "both"] = "output"
    activation: str = "relu"
    unknown_probability: float = 0.0

    def __post_init__(self) -> None:
        if self.bottleneck < 1:
            raise ValueError(f"bottleneck must be >= 1, got {self.bottleneck}")
        if self.placement not in ("output", "layers", "both"):
            raise ValueError(f"placement must be output, layers or both, got {self.placement!r}")
        if self.activation not in ACTIVATION_NAMES:
            raise ValueError(
                f"activation must be one of {', '.join(ACTIVATION_NAMES)}, got {self.activation!r}"
            )
        if not 0 <= self.unknown_probability < 1:
            raise ValueError(
                f"unknown_probability must be in [0, 1), got {self.unknown_probability}"
            )


@dataclass(frozen=True)
class GroupDroConfig:
    """``step_size``: η of the exponentiated-gradient update. ``smoothing``: the weight of a
    batch's group loss in the moving average (1: no smoothing). ``floor``: each group weight
    stays >= floor / number of groups (0: no floor)."""

    step_size: float = 0.01
    smoothing: float = 0.1
    floor: float = 0.1

    def __post_init__(self) -> None:
        if not self.step_size >= 0:
            raise ValueError(f"step_size must be >= 0, got {self.step_size}")
        if not 0 < self.smoothing <= 1:
            raise ValueError(f"smoothing must be in (0, 1], got {self.smoothing}")
        if not 0 <= self.floor <= 1:
            raise ValueError(f"floor must be in [0, 1], got {self.floor}")
