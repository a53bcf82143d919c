"""The plugin manager: entry-point discovery, isolation of broken plugins, env controls."""

from __future__ import annotations

import textwrap
import types
import warnings
from pathlib import Path

import pytest

from voxtext import hookimpl
from voxtext.errors import PluginError
from voxtext.plugins import PluginManager, PluginWarning
from voxtext.registry import PluginInfo
from voxtext.testing import isolated_plugin_manager, registered_plugin


def fake_distribution(site: Path, dist: str, version: str, module: str, code: str) -> None:
    """An installed distribution as importlib.metadata sees it: a module + dist-info."""
    (site / f"{module}.py").write_text(textwrap.dedent(code))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[voxtext]\n{dist} = {module}\n")


GOOD = """
from voxtext import hookimpl

class Thing:
    pass

@hookimpl
def register_encoders(register):
    register("{name}", Thing, description="a test encoder")
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    return site


def make_manager(*fake: str, **env: str) -> PluginManager:
    """A manager that loads only the ``fake`` distributions (the real installed plugins would
    otherwise join in), unless the test sets VOXTEXT_LOAD_PLUGINS itself."""
    env.setdefault("VOXTEXT_LOAD_PLUGINS", ",".join(fake))
    return PluginManager(env=env)


def test_broken_entry_point_is_isolated_and_named(site):
    fake_distribution(site, "vt-good", "1.0.0", "vt_good", GOOD.format(name="good-enc"))
    fake_distribution(site, "vt-broken", "2.3.4", "vt_broken", "import not_a_module_anywhere\n")
    manager = make_manager("vt-good", "vt-broken")
    with pytest.warns(PluginWarning) as caught:
        encoders = manager.registry("encoders")
    assert "good-enc" in encoders
    assert encoders.get("good-enc").plugin == PluginInfo("vt-good", "1.0.0", "vt_good")
    messages = [str(w.message) for w in caught]
    assert any("vt-broken 2.3.4" in m and "not_a_module_anywhere" in m for m in messages)
    failure = next(f for f in manager.failures if f.plugin.name == "vt-broken")
    assert failure.stage == "import" and isinstance(failure.error.__cause__, ImportError)


def test_raising_hook_is_reraised_with_plugin_name_and_others_load(site):
    fake_distribution(site, "vt-good", "1.0.0", "vt_good", GOOD.format(name="good-enc"))
    fake_distribution(
        site,
        "vt-raises",
        "0.1.0",
        "vt_raises",
        """
        from voxtext import hookimpl

        @hookimpl
        def register_encoders(register):
            register("half", object)
            raise RuntimeError("weights folder missing")
    """,
    )
    with pytest.warns(PluginWarning, match=r"vt-raises 0\.1\.0 raised in hook register_encoders"):
        encoders = make_manager("vt-good", "vt-raises").registry("encoders")
    assert encoders.names() == ["good-enc"]  # the raising plugin's partial entry is dropped
    strict = make_manager("vt-good", "vt-raises", VOXTEXT_STRICT_PLUGINS="1")
    with pytest.raises(PluginError, match="vt-raises 0.1.0.*weights folder missing") as info:
        strict.registry("encoders")
    assert isinstance(info.value.__cause__, RuntimeError)


def test_collision_between_installed_plugins_names_both(site):
    fake_distribution(site, "vt-aaa", "1.0.0", "vt_aaa", GOOD.format(name="same"))
    fake_distribution(site, "vt-bbb", "2.0.0", "vt_bbb", GOOD.format(name="same"))
    with pytest.warns(PluginWarning) as caught:
        encoders = make_manager("vt-aaa", "vt-bbb").registry("encoders")
    assert encoders.get("same").plugin.name == "vt-aaa"
    assert any(
        "vt-aaa 1.0.0" in str(w.message) and "vt-bbb 2.0.0" in str(w.message) for w in caught
    )


def test_misspelt_hook_is_caught_with_suggestion():
    manager = PluginManager(env={}, use_entry_points=False)
    plugin = types.SimpleNamespace(register_encoder=hookimpl(lambda register: None))
    with pytest.warns(
        PluginWarning, match="unknown hook.*'register_encoder'.*did you mean 'register_encoders'"
    ):
        assert not manager.add_plugin(plugin, PluginInfo("typo", "0.1"))
    assert "typo" not in manager.plugins


def test_unmarked_hook_function_is_still_checked():
    manager = PluginManager(env={}, use_entry_points=False)
    module = types.ModuleType("unmarked")
    exec("def register_decodres(register):\n    pass\n", module.__dict__)
    with pytest.warns(PluginWarning, match="'register_decodres'"):
        assert not manager.add_plugin(module, PluginInfo("unmarked", "0.1"))


def test_bad_hook_signature_is_caught():
    manager = PluginManager(env={}, use_entry_points=False)

    @hookimpl
    def register_encoders(register, device):
        pass

    plugin = types.SimpleNamespace(register_encoders=register_encoders)
    with pytest.warns(PluginWarning, match="badsig 0.1 does not fit the hook contract.*device"):
        assert not manager.add_plugin(plugin, PluginInfo("badsig", "0.1"))


def test_plugin_without_hooks_is_reported():
    manager = PluginManager(env={}, use_entry_points=False)
    with pytest.warns(PluginWarning, match="implements no voxtext hooks"):
        manager.add_plugin(types.SimpleNamespace(helper=lambda: 1), PluginInfo("empty", "0.1"))


def test_load_and_disable_controls(site):
    fake_distribution(site, "vt-one", "1.0.0", "vt_one", GOOD.format(name="one"))
    fake_distribution(site, "vt-two", "1.0.0", "vt_two", GOOD.format(name="two"))
    only = make_manager(VOXTEXT_LOAD_PLUGINS="vt_one").registry("encoders")
    assert "one" in only and "two" not in only
    none = make_manager(VOXTEXT_LOAD_PLUGINS="").registry("encoders")
    assert len(none) == 0
    without = make_manager("vt-one", "vt-two", VOXTEXT_DISABLE_PLUGINS="vt-two").registry(
        "encoders"
    )
    assert "one" in without and "two" not in without
    with pytest.warns(PluginWarning, match="VOXTEXT_DISABLE_PLUGINS names 'vt-three'"):
        make_manager("vt-one", VOXTEXT_DISABLE_PLUGINS="vt-three").registry("encoders")


def test_loading_is_lazy_and_once(site):
    fake_distribution(
        site,
        "vt-count",
        "1.0.0",
        "vt_count",
        """
        from voxtext import hookimpl
        CALLS = []

        @hookimpl
        def register_encoders(register):
            CALLS.append(1)
            register("counted", object)
    """,
    )
    manager = make_manager(VOXTEXT_LOAD_PLUGINS="vt-count")
    assert manager.plugins == {}  # nothing imported before the first lookup
    manager.registry("encoders")
    manager.registry("encoders")
    manager.registry("decoders")
    import vt_count  # type: ignore[import-not-found]

    assert vt_count.CALLS == [1]


def test_trace_prints_each_step(site, capsys):
    fake_distribution(site, "vt-traced", "1.0.0", "vt_traced", GOOD.format(name="t"))
    make_manager(VOXTEXT_LOAD_PLUGINS="vt-traced", VOXTEXT_TRACE_PLUGINS="1").registry("encoders")
    err = capsys.readouterr().err
    assert "voxtext-trace: importing vt-traced 1.0.0" in err
    assert "voxtext-trace: vt-traced 1.0.0 registered encoder 't'" in err


def test_registered_plugin_is_removed_afterwards():
    class Plugin:
        @hookimpl
        def register_decoders(self, register):
            register("scratch-decoder", object)

    with isolated_plugin_manager() as manager:
        with registered_plugin(Plugin(), name="scratch"):
            assert "scratch-decoder" in manager.registry("decoders")
        assert "scratch-decoder" not in manager.registry("decoders")


def test_fixture_registers_for_one_test(voxtext_plugin):
    import voxtext

    class Plugin:
        @hookimpl
        def register_tokenizers(self, register):
            register("fixture-tokenizer", object)

    voxtext_plugin(Plugin(), name="fixture-plugin")
    assert voxtext.registry("tokenizers").get("fixture-tokenizer").plugin.name == "fixture-plugin"


def test_fixture_plugin_is_gone_in_the_next_test():
    import voxtext

    assert "fixture-tokenizer" not in voxtext.registry("tokenizers")


def test_registered_plugin_raises_hook_errors():
    class Plugin:
        @hookimpl
        def register_encoders(self, register):
            raise ValueError("boom")

    with isolated_plugin_manager() as manager, warnings.catch_warnings():
        warnings.simplefilter("error")
        with registered_plugin(Plugin(), name="loud"), pytest.raises(PluginError, match="loud"):
            manager.registry("encoders")
