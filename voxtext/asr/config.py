"""``ASRConfig``: what an ASR training run is made of, every component named by registry name.

A TOML file (see ``recipes/``) or a mapping builds it; ``--set encoder.d_model=256`` style
overrides merge in first. Component tables are ``{ name = "conformer", d_model = 144 }``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxtext.components import ComponentSpec
from voxtext.config import build_config, config_values
from voxtext.errors import ConfigError
from voxtext.speech.config import DataConfig, GroupedRun
from voxtext.train.config import TrainerConfig


@dataclass(frozen=True)
class ASRConfig(GroupedRun):
    """A CTC recogniser: features -> normaliser -> encoder -> linear CTC head.

    The component tables are required here; the registered ``asr`` task fills in its
    defaults for those a config leaves out. ``augmentations`` run in order during training
    only, each on the domain it declares (waveform or features; a text augmentation is
    refused by name). ``decoder`` is used for dev evaluation and stored as the
    checkpoint's default for ``voxtext transcribe``/``evaluate``.

    Group-aware training: ``group_attribute`` names the manifest group (``"dialect"``) whose
    id every batch carries; ``strategies`` are ``group_strategies`` components, e.g.
    ``[{ name = "balanced-sampling", alpha = 0.5 }, { name = "group-dro" }]``. With a
    ``group_attribute``, dev evaluation reports ``dev_cer/<attribute>=<value>`` for it and
    ``dev_worst_cer`` is the worst of its groups (select with ``trainer.metric``).
    """

    out_dir: Path
    data: DataConfig
    trainer: TrainerConfig
    features: Mapping[str, Any]
    normalizer: Mapping[str, Any] | None
    tokenizer: Mapping[str, Any]
    encoder: Mapping[str, Any]
    decoder: Mapping[str, Any]
    augmentations: tuple[Mapping[str, Any], ...] = ()
    text_normalizer: str | None = None
    dropout: float = 0.1
    group_attribute: str | None = None
    strategies: tuple[Mapping[str, Any], ...] = ()
    task: str = "asr"

    def spec(self, part: str) -> ComponentSpec:
        """The component spec of ``features``/``normalizer``/``tokenizer``/``encoder``/…"""
        return ComponentSpec.parse(getattr(self, part), where=part)

    def augmentation_specs(self) -> list[ComponentSpec]:
        return [
            ComponentSpec.parse(a, where=f"augmentations[{i}]")
            for i, a in enumerate(self.augmentations)
        ]


def load_asr_config(
    source: Path | Mapping[str, Any], overrides: Sequence[str] = (), *, where: str | None = None
) -> ASRConfig:
    """Build the config from a TOML file or mapping plus ``key=value`` overrides; ``where``
    names a mapping's source in messages (a file names itself)."""
    values, where = config_values(source, overrides, where=where)
    if values.get("task", "asr") != "asr":
        raise ConfigError(f"{where}: task is {values['task']!r}, expected 'asr'")
    config = build_config(ASRConfig, values, where=where)
    for part in ("features", "tokenizer", "encoder", "decoder"):
        config.spec(part)  # validates the component tables early, naming the field
    if config.normalizer is not None:
        config.spec("normalizer")
    config.augmentation_specs()
    config.check_groups(where)
    return config
