"""``voxtext plugins``: every plugin with its version, hooks and components, and broken ones."""

from __future__ import annotations

import argparse
import json
from typing import Any

HELP = "list installed plugins, their versions, hooks and components, and any that failed"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def collect() -> dict[str, Any]:
    """The plugin table as plain data: loaded plugins and failures."""
    from voxtext.plugins import get_plugin_manager
    from voxtext.registry import describe_components

    manager = get_plugin_manager()
    registries = manager.registries()  # builds every registry, so hook failures show too
    loaded = [
        {
            "name": p.info.name,
            "version": p.info.version,
            "module": p.info.module,
            "hooks": p.hooks,
            "components": describe_components(registries, p.info.name),
            "status": "ok"
            if not any(f.plugin.name == p.info.name for f in manager.failures)
            else "partly failed",
        }
        for p in sorted(manager.plugins.values(), key=lambda p: p.info.name.lower())
    ]
    failed = [
        {"name": f.plugin.name, "version": f.plugin.version, "stage": f.stage, "error": str(f)}
        for f in manager.failures
    ]
    return {"plugins": loaded, "failures": failed}


def run(args: argparse.Namespace) -> int:
    table = collect()
    if args.json:
        print(json.dumps(table, indent=2))
        return 1 if table["failures"] else 0
    if not table["plugins"]:
        print("No voxtext plugins are installed (or all are disabled).")
    for plugin in table["plugins"]:
        print(f"{plugin['name']} {plugin['version']}  [{plugin['status']}]")
        print(f"  module: {plugin['module']}")
        print(f"  hooks:  {', '.join(plugin['hooks'])}")
        for kind, names in plugin["components"].items():
            print(f"  {kind}: {', '.join(names)}")
    if table["failures"]:
        print("\nPlugins with errors:")
        for failure in table["failures"]:
            print(
                f"  {failure['name']} {failure['version']} ({failure['stage']}): {failure['error']}"
            )
    return 1 if table["failures"] else 0
