"""``voxtext.testing`` is importable where pytest is not installed, and still gives pytest
the ``voxtext_plugin`` fixture when a conftest names it."""

from __future__ import annotations

import subprocess
import sys

import voxtext


def test_importing_the_helpers_does_not_import_pytest():
    code = (
        "import sys; sys.modules['pytest'] = None\n"  # any `import pytest` now fails
        "import voxtext.testing as t\n"
        "assert 'voxtext.pytest_plugin' in t.pytest_plugins\n"
        "print(t.tone(440.0, 0.01).shape)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(160,)"


class _Plugin:
    @voxtext.hookimpl
    def register_augmentations(self, register):
        register("test-only-augmentation", object, description="for this test")


def test_the_fixture_still_reaches_tests_through_the_conftest(voxtext_plugin):
    info = voxtext_plugin(_Plugin(), name="voxtext-fixture-check")
    entry = voxtext.registry("augmentations").get("test-only-augmentation")
    assert entry.plugin.name == info.name == "voxtext-fixture-check"
