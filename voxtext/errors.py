"""Exceptions a user of voxtext can meet, each saying what went wrong, where and what to do."""

from __future__ import annotations


class VoxtextError(Exception):
    """Base class for every error voxtext raises on purpose."""


class ConfigError(VoxtextError, ValueError):
    """A configuration value is missing, unknown or of the wrong type."""


class UnknownComponentError(VoxtextError, KeyError):
    """A registry was asked for a name no plugin registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DuplicateComponentError(VoxtextError):
    """Two plugins registered the same name in one registry."""


class PluginError(VoxtextError):
    """A plugin package failed to import, validate or run one of its hooks."""


class DataError(VoxtextError, ValueError):
    """Input data (manifest, audio, text dataset) is malformed; lists every problem found."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        if self.problems:
            shown = "\n".join(f"  {p}" for p in self.problems[:200])
            more = len(self.problems) - 200
            if more > 0:
                shown += f"\n  ... and {more} more"
            message = f"{message}\n{shown}"
        super().__init__(message)
