"""Components named in configs: ``{"name": "conformer", "d_model": 144}`` -> a built object,
plus the provenance record (plugin name and version) that checkpoints keep.

A checkpoint rebuilt later checks every record: a missing plugin or component is an error
that names the plugin and version the checkpoint needs; a different version is a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from voxtext.config import to_dict
from voxtext.errors import ConfigError, UnknownComponentError, VoxtextError
from voxtext.plugins import KINDS, PluginWarning, registry


@dataclass(frozen=True)
class ComponentSpec:
    """A registry name and the settings for its config, as written in a config file."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any, *, where: str) -> ComponentSpec:
        """From ``"fbank"`` or ``{"name": "fbank", "num_mel_bins": 80}``."""
        if isinstance(value, ComponentSpec):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping) and isinstance(value.get("name"), str):
            return cls(value["name"], {k: v for k, v in value.items() if k != "name"})
        raise ConfigError(
            f"{where}: expected a component name or a table with a 'name' field "
            f'(e.g. {{ name = "fbank", num_mel_bins = 80 }}), got {value!r}'
        )


@dataclass(frozen=True)
class Provenance:
    """Which plugin built a component, and with which config: stored in checkpoints."""

    kind: str
    name: str
    plugin: str
    version: str
    config: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "plugin": self.plugin,
            "version": self.version,
            "config": dict(self.config),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Provenance:
        return cls(
            data["kind"],
            data["name"],
            data["plugin"],
            data["version"],
            dict(data.get("config") or {}),
        )


def build_component(kind: str, spec: ComponentSpec, *, where: str) -> tuple[Any, Provenance]:
    """Build ``spec`` from the ``kind`` registry; config errors name ``where``."""
    if kind not in KINDS:
        raise ConfigError(f"{where}: unknown component kind '{kind}'")
    try:
        entry = registry(kind).get(spec.name)
    except UnknownComponentError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    try:
        config = entry.make_config(spec.options)
    except ConfigError as exc:
        raise ConfigError(f"{where} ({spec.name}): {exc}") from None
    component = entry.factory(config) if entry.config is not None else entry.factory()
    record = Provenance(
        kind,
        spec.name,
        entry.plugin.name,
        entry.plugin.version,
        to_dict(config) if config is not None else {},
    )
    return component, record


def rebuild_component(
    record: Provenance, *, source: str, config: Mapping[str, Any] | None = None
) -> Any:
    """Build the component a checkpoint recorded, checking its plugin is still there; with
    ``config`` instead of the recorded one (a run that keeps the component's files in its
    own folder points it there)."""
    check_provenance([record], source=source)
    return build_component(
        record.kind,
        ComponentSpec(record.name, record.config if config is None else config),
        where=f"{source}: {record.kind} '{record.name}'",
    )[0]


def check_provenance(records: Sequence[Provenance], *, source: str) -> None:
    """Every recorded component must still be registered; its plugin version may differ
    (warned), its absence may not (an error naming plugin and version to install)."""
    missing = []
    for record in records:
        reg = registry(record.kind)
        if record.name not in reg:
            missing.append(
                f"{record.kind} '{record.name}' from plugin {record.plugin} {record.version}"
            )
            continue
        now = reg.get(record.name).plugin
        if now.name != record.plugin or now.version != record.version:
            warnings.warn(
                f"{source}: {record.kind} '{record.name}' was built with plugin "
                f"{record.plugin} {record.version}, now provided by {now}; results "
                "may differ",
                PluginWarning,
                stacklevel=2,
            )
    if missing:
        raise VoxtextError(
            f"{source} needs components that no installed plugin provides: "
            + "; ".join(missing)
            + ". Install those plugin versions (e.g. `pip install <plugin>==<version>`) and "
            "check `voxtext plugins`."
        )
