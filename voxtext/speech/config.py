"""What every speech run's config shares: its manifests and batching (:class:`DataConfig`)
and the grouped-run fields (:class:`GroupedRun`) with the checks on them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxtext.components import ComponentSpec
from voxtext.errors import ConfigError
from voxtext.train.config import TrainerConfig


@dataclass(frozen=True)
class DataConfig:
    """Manifests (JSONL, see ``voxtext.data``) and how they are batched.

    Utterances shorter than ``min_duration`` or longer than ``max_duration`` seconds are left
    out of training and listed in ``<out_dir>/dropped.jsonl``. ``max_batch_seconds`` bounds the
    padded audio of one batch (dynamic batching with length buckets).
    """

    train: Path
    dev: Path | None = None
    sample_rate: int = 16000
    min_duration: float = 0.1
    max_duration: float = 30.0
    max_batch_seconds: float = 120.0
    max_batch_size: int | None = None
    num_workers: int = 0
    group_by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.max_batch_seconds <= 0:
            raise ValueError("sample_rate and max_batch_seconds must be positive")
        if not 0 <= self.min_duration < self.max_duration:
            raise ValueError("need 0 <= min_duration < max_duration")


class GroupedRun:
    """The fields a speech task's config dataclass declares (the CTC task's, Whisper's, a
    third party's), and what the kit derives from them.

    ``group_attribute`` names the manifest group (``"dialect"``) each batch carries an id of;
    ``strategies`` are ``group_strategies`` components working on it; ``text_normalizer`` is
    the registered normaliser applied to references and hypotheses before dev scoring.
    """

    out_dir: Path
    data: DataConfig
    trainer: TrainerConfig
    group_attribute: str | None
    strategies: tuple[Mapping[str, Any], ...]
    text_normalizer: str | None

    def strategy_specs(self) -> list[ComponentSpec]:
        return [
            ComponentSpec.parse(s, where=f"strategies[{i}]") for i, s in enumerate(self.strategies)
        ]

    def evaluation_groups(self) -> tuple[str, ...]:
        """``data.group_by`` with the ``group_attribute`` first (when it is set)."""
        if self.group_attribute is None:
            return self.data.group_by
        rest = tuple(a for a in self.data.group_by if a != self.group_attribute)
        return (self.group_attribute, *rest)

    def check_groups(self, where: str) -> None:
        """Refuse an empty ``group_attribute`` and strategies without one (``where``: the
        config's source, for the message); validate the strategy tables."""
        self.strategy_specs()
        if self.group_attribute is not None and not self.group_attribute.strip():
            raise ConfigError(
                f"{where}: group_attribute is empty; name a manifest group or drop it"
            )
        if self.strategies and not self.group_attribute:
            raise ConfigError(
                f"{where}: strategies need a group_attribute naming the manifest group they "
                'work on (e.g. group_attribute = "dialect")'
            )
