"""Finding a registered task (``protocols.Task``) by the name a config or checkpoint gives.

``voxtext train`` and ``voxtext evaluate`` reach every task this way, first-party or not; a
config without ``task`` is a CTC ASR config (the first format voxtext had), and a checkpoint
whose metadata names no task is read by the format it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from voxtext.errors import ConfigError
from voxtext.plugins import registry

#: The task of a config that names none: the CTC recogniser of ``voxtext.asr``, whose configs
#: predate the ``task`` field.
DEFAULT_TASK = "asr"


def config_task(values: Mapping[str, Any]) -> str:
    """The task name a config mapping gives (``DEFAULT_TASK`` when it gives none)."""
    return str(values.get("task", DEFAULT_TASK))


def get_task(name: str, *, where: str) -> Any:
    """The registered task ``name``, built; ``where`` names the config that asked for it."""
    tasks = registry("tasks")
    if name not in tasks:
        raise ConfigError(
            f"{where}: task '{name}' is not known; tasks: {_known(tasks.names())} (a task "
            "comes from an installed plugin: see 'voxtext plugins')"
        )
    return tasks.create(name)


def checkpoint_task(name: str, *, checkpoint: Path) -> Any:
    """The registered task that trained ``checkpoint`` (its metadata names ``name``)."""
    tasks = registry("tasks")
    if name not in tasks:
        raise ConfigError(
            f"{checkpoint} was trained by task '{name}', which no installed plugin registers "
            f"(tasks: {_known(tasks.names())}); install the plugin that provides it"
        )
    return tasks.create(name)


def _known(names: list[str]) -> str:
    return ", ".join(names) or "none installed"
