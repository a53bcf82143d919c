"""Frozen dataclass configs built from plain mappings (TOML/JSON/``--set``), with clear errors.

Every config is read one way: :func:`config_values` (a TOML file or a mapping, with
``--set KEY=VALUE`` overrides merged in by :func:`parse_overrides`), then
:func:`build_config`; :func:`load_config` does both. Commands and recipes take the overrides
with :func:`add_set_option`. Configs name components by registry name; nothing here imports
a dotted path from a config.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from voxtext.errors import ConfigError

C = TypeVar("C")


def build_config(cls: type[C], values: Mapping[str, Any], *, where: str = "config") -> C:
    """``cls(**values)`` after checking names and types; nested dataclasses build recursively.

    Every problem is collected and raised together, each naming ``where`` and the field.
    """
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where}: expected a table of settings, got {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    problems: list[str] = []
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            problems.append(
                f"{where}: unknown field '{key}'.{hint} Known fields: {', '.join(fields)}"
            )
            continue
        try:
            kwargs[key] = coerce(value, hints[key], where=f"{where}.{key}")
        except ConfigError as exc:
            problems.append(str(exc))
    for name, f in fields.items():
        missing = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if missing and name not in values:
            problems.append(f"{where}: missing required field '{name}'")
    if problems:
        raise ConfigError("\n".join(problems))
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # __post_init__ validation of the config itself
        raise ConfigError(f"{where}: {exc}") from exc


def coerce(value: Any, annotation: Any, *, where: str) -> Any:
    """Check ``value`` against ``annotation``, converting the few safe cases (int -> float,
    list -> tuple, str -> Path, mapping -> nested dataclass)."""
    origin = get_origin(annotation)
    if annotation is Any:
        return value
    if origin in (Union, types.UnionType):
        options = get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return coerce(value, option, where=where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(
            errors[0] if len(errors) == 1 else f"{where}: {value!r} fits none of {annotation}"
        )
    if origin is Literal:
        if value in get_args(annotation):
            return value
        choices = ", ".join(repr(a) for a in get_args(annotation))
        raise ConfigError(f"{where}: {value!r} is not one of {choices}")
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        if isinstance(value, annotation):
            return value
        return build_config(annotation, value, where=where)
    if origin in (tuple, list, Sequence) or annotation in (tuple, list):
        return _coerce_sequence(value, annotation, origin, where)
    if origin in (dict, Mapping) or annotation is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        args = get_args(annotation)
        if len(args) == 2:
            return {
                coerce(k, args[0], where=where): coerce(v, args[1], where=f"{where}.{k}")
                for k, v in value.items()
            }
        return dict(value)
    return _coerce_scalar(value, annotation, where)


def _coerce_sequence(value: Any, annotation: Any, origin: Any, where: str) -> Any:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ConfigError(f"{where}: expected a list, got {value!r}")
    args = get_args(annotation)
    if origin is tuple and args and args[-1] is not Ellipsis:
        if len(args) != len(value):
            raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
        return tuple(
            coerce(v, a, where=f"{where}[{i}]")
            for i, (v, a) in enumerate(zip(value, args, strict=True))
        )
    item = args[0] if args else Any
    items = [coerce(v, item, where=f"{where}[{i}]") for i, v in enumerate(value)]
    return list(items) if origin is list or annotation is list else tuple(items)


def _coerce_scalar(value: Any, annotation: Any, where: str) -> Any:
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is Path and isinstance(value, (str, Path)):
        return Path(value)
    if annotation is int and isinstance(value, bool):
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if isinstance(annotation, type) and not isinstance(value, annotation):
        raise ConfigError(
            f"{where}: expected {annotation.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def read_config_file(path: Path) -> dict[str, Any]:
    """A TOML config as a mapping, with relative paths left for the caller to resolve."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def config_values(
    source: Path | Mapping[str, Any], overrides: Sequence[str] = (), *, where: str | None = None
) -> tuple[dict[str, Any], str]:
    """A config's settings, from a TOML file or a mapping, with ``key=value`` ``overrides``
    merged in; and the name its messages give it (a file names itself, ``where`` names a
    mapping's source, "config" by default)."""
    values = read_config_file(source) if isinstance(source, Path) else dict(source)
    if where is None:
        where = str(source) if isinstance(source, Path) else "config"
    return merge(values, parse_overrides(overrides)), where


def load_config(
    cls: type[C],
    source: Path | Mapping[str, Any],
    overrides: Sequence[str] = (),
    *,
    where: str | None = None,
) -> C:
    """``cls`` built from :func:`config_values`."""
    values, where = config_values(source, overrides, where=where)
    return build_config(cls, values, where=where)


def add_set_option(parser: argparse.ArgumentParser, example: str) -> None:
    """The ``--set KEY=VALUE`` option (repeatable; ``args.overrides``) of a command or
    recipe; ``example`` shows one, e.g. ``trainer.lr=3e-4``."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a config value (repeatable), e.g. {example}",
    )


def recipe_arguments(
    argv: Sequence[str] | None, *, description: str, default_config: Path, example: str
) -> tuple[Path, list[str]]:
    """A recipe's command line: ``[--config FILE] [--set KEY=VALUE ...]``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", type=Path, default=default_config)
    add_set_option(parser, example)
    args = parser.parse_args(argv)
    return args.config, list(args.overrides)


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """``["train.lr=3e-4", "encoder.name=conformer"]`` -> a nested mapping.

    Values are read as TOML (numbers, booleans, lists, quoted strings); anything that is not
    valid TOML is taken as a plain string, so ``--set decoder=beam`` works unquoted.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair!r}: expected KEY=VALUE, e.g. --set train.lr=3e-4")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {pair!r}: '{part}' is both a value and a table")
        node[parts[-1]] = value
    return out


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive merge of two setting tables; ``override`` wins."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def to_dict(config: Any) -> dict[str, Any]:
    """A config as plain JSON-able data (paths as strings, tuples as lists)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {k: plain(v) for k, v in dataclasses.asdict(config).items()}


def plain(value: Any) -> Any:
    """A JSON-able copy of ``value``: tuples as lists, paths and other objects as strings
    (what checkpoint metadata stores)."""
    return json.loads(json.dumps(value, default=str))
