"""The one checkpoint metadata schema every task writes and reads back.

A checkpoint's ``metadata.json`` keeps the trainer's own entries (step, metrics, trainer
config, voxtext version) and, under ``metadata``, what the task needs to rebuild its model::

    {
      "format": "voxtext.checkpoint/2",
      "task": "<the registered task that wrote it>",
      "components": {"<role>": {"kind", "name", "plugin", "version", "config", ...}},
      "task_state": {...}
    }

``components`` holds every registered component the model was built from, by role
(``encoder``, ``tokenizer``, ``decoder``, ``group_strategy0``...): its ``Provenance`` record,
with whatever else the task keeps beside it (where a run keeps the component's files). Each
is rebuilt through ``components.rebuild_component``, which names a missing plugin and the
version the checkpoint was built with. ``task_state`` is the rest of what the task needs
(its config, label sets, normaliser statistics): JSON data the task alone reads.

Checkpoints written before this schema have a format of their own. The task that wrote one
converts it (:class:`LegacyMetadata`), so a reader only ever sees this schema; the core
finds that task by asking the registered ones and names none itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from voxtext.components import Provenance
from voxtext.train.checkpoint import (
    CheckpointError,
    Which,
    load_checkpoint,
    read_metadata,
    resolve_checkpoint,
)

CHECKPOINT_FORMAT = "voxtext.checkpoint/2"


@dataclass(frozen=True)
class CheckpointMetadata:
    """A checkpoint's ``metadata`` entry (see the module docstring)."""

    task: str
    components: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    task_state: Mapping[str, Any] = field(default_factory=dict)
    format: str = CHECKPOINT_FORMAT

    def record(self, role: str, *, source: str) -> Provenance:
        """The provenance of the component in ``role`` (``source`` names the checkpoint)."""
        if role not in self.components:
            raise CheckpointError(
                f"{source}: the checkpoint records no '{role}' component (its components: "
                f"{', '.join(self.components) or '-'})"
            )
        return Provenance.from_dict(self.components[role])

    def records(self, roles: Iterable[str] | None = None) -> dict[str, Provenance]:
        """Provenance by role, of ``roles`` (all when None)."""
        wanted = self.components if roles is None else roles
        return {role: Provenance.from_dict(self.components[role]) for role in wanted}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "task": self.task,
            "components": {role: dict(entry) for role, entry in self.components.items()},
            "task_state": dict(self.task_state),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str) -> CheckpointMetadata:
        """The schema read back; anything else is an error naming ``source``."""
        if data.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(
                f"{source}: metadata format {data.get('format')!r}, expected {CHECKPOINT_FORMAT!r}"
            )
        missing = [key for key in ("task", "components", "task_state") if key not in data]
        if missing:
            raise CheckpointError(f"{source}: the metadata has no {', '.join(missing)}")
        return cls(str(data["task"]), dict(data["components"]), dict(data["task_state"]))


@runtime_checkable
class LegacyMetadata(Protocol):
    """A task whose checkpoints were once written in a format of their own.

    ``upgrade_metadata(saved, source)``: that older ``metadata`` entry in this schema, or
    None when ``saved`` is not one of its formats (``source`` names the checkpoint)."""

    def upgrade_metadata(
        self, saved: Mapping[str, Any], source: str
    ) -> CheckpointMetadata | None: ...


def task_metadata(saved: Mapping[str, Any], *, source: str) -> CheckpointMetadata:
    """A checkpoint's ``metadata`` entry in this schema: as written, or converted by the
    registered task whose older format it is."""
    if saved.get("format") == CHECKPOINT_FORMAT:
        return CheckpointMetadata.from_dict(saved, source=source)
    from voxtext.plugins import registry

    tasks = registry("tasks")
    for name in tasks.names():
        task = tasks.create(name)
        if isinstance(task, LegacyMetadata):
            upgraded = task.upgrade_metadata(saved, source)
            if upgraded is not None:
                return upgraded
    raise CheckpointError(
        f"{source}: metadata format {saved.get('format')!r} is neither {CHECKPOINT_FORMAT!r} "
        f"nor an older format an installed task reads (tasks: {', '.join(tasks.names())}); "
        "install the plugin of the task that wrote it, which converts its older checkpoints"
    )


def checkpoint_task_name(path: str | os.PathLike[str]) -> str:
    """The task that wrote the checkpoint at ``path`` (a run or checkpoint folder). A
    checkpoint that names its task is taken at its word, whatever its format."""
    folder = resolve_checkpoint(path)
    saved = read_metadata(folder).get("metadata", {})
    if saved.get("task") is not None:
        return str(saved["task"])
    return task_metadata(saved, source=str(folder)).task


def load_task_checkpoint(
    path: str | os.PathLike[str],
    task: str | Iterable[str],
    *,
    which: Which = "best",
    device: str = "cpu",
) -> tuple[Path, dict[str, torch.Tensor], CheckpointMetadata]:
    """``(folder, weights, metadata)`` of a checkpoint written by ``task`` (one name, or
    the names a task is registered under); another task's checkpoint is an error naming
    both."""
    names = {task} if isinstance(task, str) else set(task)
    folder = resolve_checkpoint(path, which)
    state, saved = load_checkpoint(folder, device=device)
    metadata = task_metadata(saved.get("metadata", {}), source=str(folder))
    if metadata.task not in names:
        raise CheckpointError(
            f"{folder} is a '{metadata.task}' checkpoint, not one of {' or '.join(sorted(names))}"
            f"; open it through its own task (voxtext transcribe/evaluate find it)"
        )
    return folder, state, metadata
