"""Registry[T]: named component factories, each remembering the plugin that registered it.

A registry holds *factories* plus an optional frozen dataclass config type, never loaded
objects: registering is cheap, and heavy imports or weights happen inside the factory.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from voxtext.config import build_config
from voxtext.errors import ConfigError, DuplicateComponentError, UnknownComponentError

T = TypeVar("T")


@dataclass(frozen=True)
class PluginInfo:
    """Who registered a component: the plugin's name, its distribution version and module."""

    name: str
    version: str
    module: str = ""

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered component: its factory, config type and the plugin that made it."""

    name: str
    factory: Callable[..., T]
    config: type | None
    plugin: PluginInfo
    description: str = ""

    def make_config(self, values: Any = None, /, **overrides: Any) -> Any:
        """The factory's config from a config instance, a mapping, or keyword overrides."""
        if self.config is None:
            if values or overrides:
                raise ConfigError(
                    f"component '{self.name}' (from {self.plugin}) takes no configuration, "
                    f"but got {dict(values or {}, **overrides)}"
                )
            return None
        if isinstance(values, self.config):
            return dataclasses.replace(values, **overrides) if overrides else values  # type: ignore[type-var]
        merged = {**dict(values or {}), **overrides}
        return build_config(self.config, merged, where=f"config of '{self.name}'")

    def create(self, values: Any = None, /, **overrides: Any) -> T:
        """Build the component: ``factory(config)``, or ``factory()`` when it has no config."""
        if self.config is None:
            self.make_config(values, **overrides)
            return self.factory()
        return self.factory(self.make_config(values, **overrides))


class Registry(Generic[T]):
    """Components of one kind (``"encoder"``) by name, with loud collisions and helpful misses."""

    def __init__(self, kind: str, *, broken: Callable[[], list[str]] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}
        # Called on a miss to mention plugins that failed to load: the name may have lived there.
        self._broken = broken

    def register(
        self,
        name: str,
        factory: Callable[..., T],
        *,
        plugin: PluginInfo,
        config: type | None = None,
        description: str = "",
    ) -> Entry[T]:
        """Add ``name``; raises DuplicateComponentError naming both plugins if it is taken."""
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{plugin} registered a {self.kind} with an invalid name {name!r}")
        if not callable(factory):
            raise ConfigError(
                f"{plugin} registered {self.kind} '{name}' with a factory that is not callable "
                f"({type(factory).__name__}); pass a class or function that builds the component"
            )
        if config is not None and not (
            dataclasses.is_dataclass(config) and config.__dataclass_params__.frozen  # type: ignore[attr-defined]
        ):
            raise ConfigError(
                f"{plugin} registered {self.kind} '{name}' with config {config!r}, which is not a "
                "frozen dataclass; declare it with @dataclass(frozen=True)"
            )
        if name in self._entries:
            first = self._entries[name].plugin
            raise DuplicateComponentError(
                f"{self.kind} '{name}' is registered twice: by plugin {first} and by plugin "
                f"{plugin}. Uninstall or disable one of them "
                f"(VOXTEXT_DISABLE_PLUGINS={plugin.name}), or rename the component in one plugin."
            )
        entry = Entry(name, factory, config, plugin, description)
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> Entry[T]:
        """The entry for ``name``; an unknown name lists the known ones and the closest match."""
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownComponentError(self._unknown_message(name)) from None

    def create(self, name: str, values: Any = None, /, **overrides: Any) -> T:
        """Build component ``name`` from a config instance, mapping or keyword overrides."""
        return self.get(name).create(values, **overrides)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry[T]]:
        return [self._entries[n] for n in self.names()]

    def unregister_plugin(self, plugin_name: str) -> None:
        """Drop every entry a plugin made (used when a test plugin is removed)."""
        for name in [n for n, e in self._entries.items() if e.plugin.name == plugin_name]:
            del self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"

    def _unknown_message(self, name: str) -> str:
        known = self.names()
        message = f"unknown {self.kind} '{name}'."
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        if close:
            message += f" Did you mean '{close[0]}'?"
        message += f" Known {self.kind}s: {', '.join(known) if known else '(none registered)'}."
        broken = self._broken() if self._broken else []
        if broken:
            message += " Plugins that failed to load: " + "; ".join(broken)
        elif not known:
            message += " Is the plugin that provides it installed? See `voxtext plugins`."
        return message


def describe_components(
    registries: Mapping[str, Registry[Any]], plugin: str
) -> dict[str, list[str]]:
    """The components ``plugin`` registered, per registry kind (for `voxtext plugins`)."""
    out: dict[str, list[str]] = {}
    for kind, registry in registries.items():
        names = [e.name for e in registry.entries() if e.plugin.name == plugin]
        if names:
            out[kind] = names
    return out
