"""The ``voxtext`` command line: built-in subcommands plus those plugins register.

Each built-in subcommand is a module in ``voxtext.commands`` with ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; modules import heavy libraries inside
``run`` so that ``voxtext --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import voxtext
from voxtext.errors import VoxtextError
from voxtext.plugins import PluginWarning

#: Subcommand name -> module implementing it.
BUILTIN_COMMANDS: dict[str, str] = {
    "plugins": "voxtext.commands.plugins",
    "manifest": "voxtext.commands.manifest",
    "train": "voxtext.commands.train",
    "transcribe": "voxtext.commands.transcribe",
    "evaluate": "voxtext.commands.evaluate",
    "doctor": "voxtext.commands.doctor",
    "export": "voxtext.commands.export",
}


def build_parser(plugin_commands: bool = True) -> argparse.ArgumentParser:
    """The parser; ``plugin_commands=False`` leaves plugins unloaded (for built-in commands)."""
    parser = argparse.ArgumentParser(
        prog="voxtext",
        description="Plugin-based speech and text recognition with per-group fairness reports.",
    )
    parser.add_argument("--version", action="version", version=f"voxtext {voxtext.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in BUILTIN_COMMANDS.items():
        module = importlib.import_module(module_name)
        command_parser = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command_parser)
        command_parser.set_defaults(run=module.run)
    if not plugin_commands:
        return parser
    for entry in voxtext.registry("commands").entries():
        if entry.name in BUILTIN_COMMANDS:
            warnings.warn(
                f"plugin {entry.plugin} registers command '{entry.name}', which is "
                "built in; the built-in one is used",
                PluginWarning,
                stacklevel=2,
            )
            continue
        try:
            command: Any = entry.create()
        except Exception as exc:  # one broken plugin command must not take the CLI down
            warnings.warn(
                f"plugin {entry.plugin}: command '{entry.name}' could not be built "
                f"({type(exc).__name__}: {exc}); it is left out",
                PluginWarning,
                stacklevel=2,
            )
            continue
        help_text = f"{command.help} [plugin {entry.plugin}]"
        command_parser = sub.add_parser(entry.name, help=help_text, description=help_text)
        command.add_arguments(command_parser)
        command_parser.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``voxtext`` console script; returns the exit code."""
    warnings.simplefilter("default", PluginWarning)
    warnings.formatwarning = _format_warning
    argv = list(sys.argv[1:] if argv is None else argv)
    # A built-in command does not load plugins to build the parser: `voxtext doctor` must run
    # even when a plugin's import crashes, and the others load only what they use.
    parser = build_parser(plugin_commands=not argv or argv[0] not in BUILTIN_COMMANDS)
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except VoxtextError as exc:
        print(f"voxtext {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("voxtext: interrupted", file=sys.stderr)
        return 130


def _format_warning(message: Any, category: Any, *_: Any, **__: Any) -> str:
    return f"voxtext: warning: {message}\n"


if __name__ == "__main__":
    sys.exit(main())
