"""voxtext: a plugin-based speech and text recognition toolkit with per-group fairness reports.

    import voxtext
    fbank = voxtext.registry("feature_extractors").create("fbank", num_mel_bins=80)

Plugins write ``from voxtext import hookimpl``; see ``voxtext.hookspecs`` for the hooks.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version

# libgomp, torch's CPU thread pool, reads its wait policy once, when torch loads. Idle threads
# that sleep at once instead of spinning made training steps 5-10x faster on a shared
# machine (measured in voxtext.train.threads); the environment's own choice wins.
if "torch" not in sys.modules:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from voxtext.hookspecs import hookimpl
from voxtext.plugins import get_plugin_manager, registry
from voxtext.registry import Entry, PluginInfo, Registry

try:
    __version__ = version("voxtext")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Entry",
    "PluginInfo",
    "Registry",
    "__version__",
    "get_plugin_manager",
    "hookimpl",
    "registry",
]
