"""``voxtext manifest check``: called the way the CLI calls a command module."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from voxtext.commands import manifest as command


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="voxtext manifest")
    command.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.fixture
def manifest(tmp_path: Path, write_tone) -> Path:
    write_tone("a.wav", seconds=1.0)
    write_tone("b.wav", seconds=2.0)
    lines = [
        {
            "id": "1",
            "audio": "a.wav",
            "text": "x",
            "duration": 1.0,
            "speaker": "s1",
            "groups": {"dialect": "yue", "gender": "f"},
        },
        {
            "id": "2",
            "audio": "b.wav",
            "text": "y",
            "duration": 2.0,
            "speaker": "s2",
            "groups": {"dialect": "cmn"},
        },
    ]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_check_prints_a_summary_for_every_group_found(manifest, capsys):
    assert command.run(parse("check", str(manifest))) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{manifest}: OK, 2 utterances (audio files checked)"
    assert [line.split()[:3] for line in out[2:]] == [
        ["all", "all", "2"],
        ["dialect", "cmn", "1"],
        ["dialect", "yue", "1"],
        ["gender", "f", "1"],
        ["gender", "(none)", "1"],
    ]


def test_check_summarises_only_the_groups_asked_for(manifest, capsys):
    assert command.run(parse("check", str(manifest), "--group", "gender")) == 0

    assert "dialect" not in capsys.readouterr().out


def test_a_bad_manifest_prints_every_problem_and_returns_2(manifest, capsys):
    with manifest.open("a") as stream:
        stream.write('{"id": "1", "audio": "gone.wav", "text": "z", "duration": -3}\n')

    assert command.run(parse("check", str(manifest))) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{manifest}:3: field 'audio': audio file not found" in captured.err
    assert f"{manifest}:3: field 'duration': is -3" in captured.err
    assert f"{manifest}:3: field 'id': duplicate id '1' (first used on line 1)" in captured.err


def test_no_audio_check_accepts_missing_audio(manifest, capsys):
    (manifest.parent / "a.wav").unlink()

    assert command.run(parse("check", str(manifest), "--no-audio-check")) == 0
    assert "(audio not checked)" in capsys.readouterr().out
    assert command.run(parse("check", str(manifest))) == 2


def test_an_unknown_group_returns_2_and_names_the_known_ones(manifest, capsys):
    assert command.run(parse("check", str(manifest), "--group", "age")) == 2

    assert "choose from: dialect, gender" in capsys.readouterr().err
