from __future__ import annotations

import json
import types
import warnings

import pytest

import voxtext
from voxtext import cli, hookimpl
from voxtext.registry import PluginInfo
from voxtext.testing import isolated_plugin_manager


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"voxtext {voxtext.__version__}"


class Echo:
    help = "print the words given"

    def add_arguments(self, parser):
        parser.add_argument("words", nargs="+")

    def run(self, args):
        print(" ".join(args.words).upper())
        return 0


class CommandPlugin:
    @hookimpl
    def register_commands(self, register):
        register("echo", Echo, description="test command")

    @hookimpl
    def register_encoders(self, register):
        register("echo-encoder", object)


def test_plugins_lists_components_and_failures(capsys):
    with isolated_plugin_manager() as manager:
        manager.add_plugin(CommandPlugin(), PluginInfo("voxtext-echo", "0.2.0", "echo"))
        with pytest.warns(UserWarning):
            manager.add_plugin(
                types.SimpleNamespace(register_encodr=hookimpl(lambda register: 0)),
                PluginInfo("typo-plugin", "9.9"),
            )
        code = cli.main(["plugins"])
        out = capsys.readouterr().out
        assert code == 1  # a broken plugin makes the listing exit non-zero
        assert "voxtext-echo 0.2.0  [ok]" in out
        assert "commands: echo" in out and "encoders: echo-encoder" in out
        assert "typo-plugin 9.9 (validate)" in out and "register_encodr" in out
        cli.main(["plugins", "--json"])
        table = json.loads(capsys.readouterr().out)
        assert table["plugins"][0]["hooks"] == ["register_commands", "register_encoders"]
        assert table["failures"][0]["name"] == "typo-plugin"


def test_plugin_commands_run_through_the_cli(capsys):
    with isolated_plugin_manager() as manager:
        manager.add_plugin(CommandPlugin(), PluginInfo("voxtext-echo", "0.2.0"))
        assert cli.main(["echo", "hello", "world"]) == 0
    assert capsys.readouterr().out.strip() == "HELLO WORLD"


class BrokenCommandPlugin:
    @hookimpl
    def register_commands(self, register):
        def factory():
            raise ImportError("no module named 'heavy_dependency'")

        register("broken", factory)


def test_broken_plugin_command_is_left_out_with_a_warning(capsys):
    with isolated_plugin_manager() as manager:
        manager.add_plugin(BrokenCommandPlugin(), PluginInfo("voxtext-broken-cmd", "1.0"))
        with pytest.warns(UserWarning, match="voxtext-broken-cmd 1.0: command 'broken' could not"):
            assert cli.main([]) == 2  # the overview lists every command, so builds them
        assert "plugins" in capsys.readouterr().out
        # A built-in command does not build plugin commands, so a broken one cannot stop it.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert cli.main(["plugins", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plugins"][0]["name"] == "voxtext-broken-cmd"


def test_train_names_the_registered_tasks_for_an_unknown_one(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('task = "speaker-id"\n')
    assert cli.main(["train", str(config)]) != 0
    err = capsys.readouterr().err
    assert f"{config}: task 'speaker-id' is not known; tasks: asr" in err
    assert "see 'voxtext plugins'" in err
