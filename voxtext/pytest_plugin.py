"""The pytest side of ``voxtext.testing``: the ``voxtext_plugin`` fixture.

Loaded by ``pytest_plugins = ["voxtext.testing"]`` (or ``["voxtext.pytest_plugin"]``) in a
conftest; kept apart so that importing ``voxtext.testing`` needs no pytest.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from voxtext.registry import PluginInfo
from voxtext.testing import registered_plugin


@pytest.fixture
def voxtext_plugin() -> Iterator[Callable[..., PluginInfo]]:
    """Fixture: ``voxtext_plugin(obj, name=..., version=...)`` registers for this test only."""
    with contextlib.ExitStack() as stack:
        count = 0

        def add(obj: object, name: str | None = None, version: str = "0.0.test") -> PluginInfo:
            nonlocal count
            count += 1
            plugin_name = name or f"test-plugin-{count}"
            return stack.enter_context(registered_plugin(obj, name=plugin_name, version=version))

        yield add
