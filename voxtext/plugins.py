"""The plugin manager: finds plugins through the ``voxtext`` entry-point group, once and lazily,
isolates broken ones, and builds one Registry per component kind from their hooks.

Environment controls:
- ``VOXTEXT_LOAD_PLUGINS=a,b``: load only these (distribution or entry-point names; empty
  loads none).
- ``VOXTEXT_DISABLE_PLUGINS=a,b``: skip these.
- ``VOXTEXT_TRACE_PLUGINS=1``: print each load, hook call and registration to stderr.
- ``VOXTEXT_STRICT_PLUGINS=1``: raise on the first broken plugin instead of warning.
"""

from __future__ import annotations

import importlib.metadata as md
import inspect
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pluggy

from voxtext import hookspecs
from voxtext.errors import PluginError
from voxtext.registry import PluginInfo, Registry

ENTRY_POINT_GROUP = "voxtext"

#: Registry kind (the hook's plural) -> the singular used in messages.
KINDS: dict[str, str] = {
    "feature_extractors": "feature extractor",
    "feature_normalizers": "feature normalizer",
    "augmentations": "augmentation",
    "text_normalizers": "text normalizer",
    "tokenizers": "tokenizer",
    "encoders": "encoder",
    "decoders": "decoder",
    "fairness_evaluators": "fairness evaluator",
    "corpora": "corpus",
    "commands": "command",
    "group_strategies": "group strategy",
    "recognizers": "recognizer",
    "tasks": "task",
    "voice_activity_detectors": "voice activity detector",
}
HOOK_NAMES = frozenset(f"register_{kind}" for kind in KINDS)


class PluginWarning(UserWarning):
    """A plugin failed to load or run; the others carry on."""


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be (fully) used: who, at which stage, and the error."""

    plugin: PluginInfo
    stage: str
    error: PluginError

    def __str__(self) -> str:
        return str(self.error)


@dataclass
class LoadedPlugin:
    """A registered plugin, the hooks it implements and where it came from."""

    info: PluginInfo
    hooks: list[str]
    source: str
    obj: Any = field(repr=False, default=None)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _env_names(env: Mapping[str, str], key: str) -> set[str] | None:
    raw = env.get(key)
    if raw is None:
        return None
    return {_normalise(n) for n in raw.split(",") if n.strip()}


class _HookimplParser(pluggy.PluginManager):
    """Accepts unmarked ``register_*`` functions as hooks too (as pytest does for ``pytest_*``),
    so a forgotten ``@hookimpl`` or a misspelt hook name is reported instead of ignored."""

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("register_"):
            method = getattr(plugin, name, None)
            if inspect.isroutine(method):
                return {}
        return opts


class PluginManager:
    """Loads plugins once, on first use, and hands out one Registry per kind."""

    def __init__(
        self, *, env: Mapping[str, str] | None = None, use_entry_points: bool = True
    ) -> None:
        self.env = dict(os.environ if env is None else env)
        self.strict = self.env.get("VOXTEXT_STRICT_PLUGINS", "") not in ("", "0")
        self.trace_enabled = self.env.get("VOXTEXT_TRACE_PLUGINS", "") not in ("", "0")
        self.use_entry_points = use_entry_points
        self.pm = _HookimplParser(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, LoadedPlugin] = {}
        self.failures: list[PluginFailure] = []
        self._registries: dict[str, Registry[Any]] = {}
        self._loaded = False
        self._lock = threading.RLock()

    # -- loading -------------------------------------------------------------------------
    def load(self) -> None:
        """Load every entry-point plugin, once. Broken ones are recorded, not fatal."""
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            if self.use_entry_points:
                self._load_entry_points()

    def _load_entry_points(self) -> None:
        only = _env_names(self.env, "VOXTEXT_LOAD_PLUGINS")
        disabled = _env_names(self.env, "VOXTEXT_DISABLE_PLUGINS") or set()
        seen_names: set[str] = set()
        for ep, info in _discover():
            names = {_normalise(info.name), _normalise(ep.name)}
            seen_names |= names
            if only is not None and not names & only:
                self.trace(f"skipping {info}: not in VOXTEXT_LOAD_PLUGINS")
                continue
            if names & disabled:
                self.trace(f"skipping {info}: in VOXTEXT_DISABLE_PLUGINS")
                continue
            self.trace(f"importing {info} from entry point {ep.name} = {ep.value}")
            try:
                obj = ep.load()
            except Exception as exc:
                self._fail(
                    info,
                    "import",
                    f"could not be imported ({type(exc).__name__}: "
                    f"{exc}). Reinstall it or disable it with "
                    f"VOXTEXT_DISABLE_PLUGINS={info.name}",
                    exc,
                )
                continue
            self.add_plugin(obj, info, source=f"entry point {ep.name} = {ep.value}")
        for key, wanted in (
            ("VOXTEXT_LOAD_PLUGINS", only or set()),
            ("VOXTEXT_DISABLE_PLUGINS", disabled),
        ):
            for missing in sorted(wanted - seen_names):
                warnings.warn(
                    f"{key} names '{missing}', but no installed plugin has that name; "
                    "see `voxtext plugins` for the installed ones",
                    PluginWarning,
                    stacklevel=3,
                )

    def add_plugin(self, obj: object, info: PluginInfo, *, source: str = "added") -> bool:
        """Register ``obj`` (a module or object with hook functions) as plugin ``info``.

        Returns False (and records a failure) when its hooks do not fit the contract.
        """
        with self._lock:
            self.load()
            if info.name in self.plugins:
                raise PluginError(
                    f"a plugin named '{info.name}' is already registered "
                    f"({self.plugins[info.name].source})"
                )
            try:
                self.pm.register(obj, name=info.name)
            except (pluggy.PluginValidationError, ValueError) as exc:
                detail = " ".join(str(exc).split())  # pluggy writes several lines
                self._fail(info, "validate", f"does not fit the hook contract: {detail}", exc)
                return False
            hooks = sorted(hc.name for hc in self.pm.get_hookcallers(obj) or [])
            unknown = [h for h in hooks if h not in HOOK_NAMES]
            if unknown or not hooks:
                self.pm.unregister(obj)
                self._fail(info, "validate", _hook_problem(unknown), None)
                return False
            self.plugins[info.name] = LoadedPlugin(info, hooks, source, obj)
            self._registries.clear()  # rebuilt lazily with the new plugin
            self.trace(f"registered {info} with hooks {', '.join(hooks)}")
            return True

    def remove_plugin(self, name: str) -> None:
        """Unregister a plugin added with ``add_plugin`` (and forget its failures)."""
        with self._lock:
            loaded = self.plugins.pop(name, None)
            if loaded is not None:
                self.pm.unregister(loaded.obj)
            self.failures = [f for f in self.failures if f.plugin.name != name]
            self._registries.clear()

    # -- registries ----------------------------------------------------------------------
    def registry(self, kind: str) -> Registry[Any]:
        """The registry for ``kind`` (e.g. ``"encoders"``), built on first use."""
        if kind not in KINDS:
            raise PluginError(f"unknown registry kind '{kind}'; kinds: {', '.join(KINDS)}")
        with self._lock:
            self.load()
            if kind not in self._registries:
                self._registries[kind] = self._build(kind)
            return self._registries[kind]

    def registries(self) -> dict[str, Registry[Any]]:
        return {kind: self.registry(kind) for kind in KINDS}

    def _build(self, kind: str) -> Registry[Any]:
        registry: Registry[Any] = Registry(KINDS[kind], broken=self.failure_lines)
        caller = getattr(self.pm.hook, f"register_{kind}")
        for impl in caller.get_hookimpls():  # registration order: first installed wins a name
            info = self.plugins[impl.plugin_name].info
            self.trace(f"calling {info} register_{kind}")
            try:
                arguments = {"register": _bind_register(registry, info, self)}
                impl.function(*[arguments[name] for name in impl.argnames])
            except Exception as exc:
                registry.unregister_plugin(info.name)  # all or nothing per plugin and kind
                self._fail(
                    info,
                    f"register_{kind}",
                    f"raised in hook register_{kind}: {type(exc).__name__}: {exc}",
                    exc,
                )
        return registry

    # -- reporting -----------------------------------------------------------------------
    def failure_lines(self) -> list[str]:
        return [str(f) for f in self.failures]

    def trace(self, message: str) -> None:
        if self.trace_enabled:
            print(f"voxtext-trace: {message}", file=sys.stderr)

    def _fail(
        self, info: PluginInfo, stage: str, message: str, cause: BaseException | None
    ) -> None:
        error = PluginError(f"plugin {info} {message}")
        error.__cause__ = cause
        self.failures.append(PluginFailure(info, stage, error))
        self.trace(str(error))
        if self.strict:
            raise error
        warnings.warn(str(error), PluginWarning, stacklevel=3)


def _bind_register(registry: Registry[Any], info: PluginInfo, manager: PluginManager) -> Any:
    def register(
        name: str, factory: Any, config: type | None = None, description: str = ""
    ) -> None:
        registry.register(name, factory, plugin=info, config=config, description=description)
        manager.trace(f"{info} registered {registry.kind} '{name}'")

    return register


def _hook_problem(unknown: list[str]) -> str:
    import difflib

    if not unknown:
        return (
            "implements no voxtext hooks; mark hook functions with "
            "`from voxtext import hookimpl` / `@hookimpl`"
        )
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(HOOK_NAMES), n=1)
        parts.append(f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    return (
        f"implements unknown hook(s) {', '.join(parts)}; known hooks: "
        f"{', '.join(sorted(HOOK_NAMES))}. It was not loaded"
    )


def _discover() -> Iterator[tuple[md.EntryPoint, PluginInfo]]:
    """Entry points in the ``voxtext`` group with their distribution's name and version."""
    seen: set[tuple[str, str, str]] = set()
    found: list[tuple[md.EntryPoint, str, str]] = []
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        dist_name = dist.metadata["Name"] if dist is not None else ep.name
        version = dist.version if dist is not None else "unknown"
        key = (_normalise(dist_name), ep.name, ep.value)
        if key not in seen:  # a distribution on sys.path twice lists its entry points twice
            seen.add(key)
            found.append((ep, dist_name, version))
    per_dist: dict[str, int] = {}
    for _, dist_name, _ in found:
        per_dist[dist_name] = per_dist.get(dist_name, 0) + 1
    for ep, dist_name, version in sorted(found, key=lambda f: (f[1].lower(), f[0].name)):
        name = dist_name if per_dist[dist_name] == 1 else f"{dist_name}:{ep.name}"
        yield ep, PluginInfo(name, version, ep.value)


_manager: PluginManager | None = None
_manager_lock = threading.Lock()


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager (plugins load on the first registry lookup)."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = PluginManager()
        return _manager


def reset_plugin_manager() -> None:
    """Forget the process-wide manager; the next lookup re-reads entry points and env vars."""
    global _manager
    with _manager_lock:
        _manager = None


def registry(kind: str) -> Registry[Any]:
    """The registry of one component kind, e.g. ``voxtext.registry("feature_extractors")``."""
    return get_plugin_manager().registry(kind)
