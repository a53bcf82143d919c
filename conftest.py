"""Repository-wide pytest setup: voxtext's own fixtures, and the template kept out of the run
(its tests only pass once the template is installed, which tests/test_third_party_plugin.py does
in a scratch folder)."""

pytest_plugins = ["voxtext.testing"]
collect_ignore = ["plugins/_template"]
