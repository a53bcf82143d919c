"""Registers the group-aware training strategies (kind ``group_strategies``).

Only names, factories and configs are registered here; torch is imported when a strategy is
built."""

from __future__ import annotations

from typing import Any

from voxtext import hookimpl
from voxtext_groups.configs import (
    BalancedSamplingConfig,
    DialectAdaptersConfig,
    DialectConditioningConfig,
    DialectIdConfig,
    GroupDroConfig,
)


def _balanced_sampling(config: BalancedSamplingConfig) -> Any:
    from voxtext_groups.balanced_sampling import BalancedSampling

    return BalancedSampling(config)


def _dialect_conditioning(config: DialectConditioningConfig) -> Any:
    from voxtext_groups.conditioning import DialectConditioning

    return DialectConditioning(config)


def _dialect_id(config: DialectIdConfig) -> Any:
    from voxtext_groups.dialect_id import DialectId

    return DialectId(config)


def _dialect_adapters(config: DialectAdaptersConfig) -> Any:
    from voxtext_groups.adapters import DialectAdapters

    return DialectAdapters(config)


def _group_dro(config: GroupDroConfig) -> Any:
    from voxtext_groups.group_dro import GroupDro

    return GroupDro(config)


@hookimpl
def register_group_strategies(register: Any) -> None:
    register(
        "balanced-sampling",
        _balanced_sampling,
        config=BalancedSamplingConfig,
        description="draw groups with p_g ∝ n_g^alpha (1 natural, 0 uniform over groups)",
    )
    register(
        "dialect-conditioning",
        _dialect_conditioning,
        config=DialectConditioningConfig,
        description="learned dialect embedding added to the encoder input, unknown fallback",
    )
    register(
        "dialect-id",
        _dialect_id,
        config=DialectIdConfig,
        description="auxiliary dialect-ID head on the pooled encoder output (weight λ)",
    )
    register(
        "dialect-adapters",
        _dialect_adapters,
        config=DialectAdaptersConfig,
        description="per-dialect residual bottleneck adapters (zero-init), unknown = identity",
    )
    register(
        "group-dro",
        _group_dro,
        config=GroupDroConfig,
        description="CTC-aware group-DRO: length-normalised group losses, smoothed EG weights",
    )
