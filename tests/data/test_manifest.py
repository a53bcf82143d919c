"""Speech manifests: reading, validation of every line at once, and writing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voxtext.data import Utterance, read_manifest, write_manifest
from voxtext.errors import DataError


def utt(utterance_id: str, audio: str = "a.wav", duration: float = 1.0, **fields: object) -> dict:
    return {"id": utterance_id, "audio": audio, "text": "hello", "duration": duration, **fields}


def problems_of(path: Path, **kwargs: bool) -> list[str]:
    with pytest.raises(DataError) as caught:
        read_manifest(path, **kwargs)
    return caught.value.problems


def test_reads_fields_and_resolves_audio_against_the_manifest_folder(
    tmp_path, write_tone, write_manifest_lines
):
    write_tone("wav/a.wav", seconds=1.0)
    write_tone("wav/b.flac", seconds=2.0)
    path = write_manifest_lines(
        [
            utt("a", "wav/a.wav", speaker="s1", groups={"dialect": "yue"}, extra={"n": [1]}),
            "",
            "   ",
            utt("b", "wav/b.flac", duration=2),
        ]
    )

    first, second = read_manifest(path)

    assert first.id == "a"
    assert first.audio == tmp_path / "wav/a.wav"
    assert first.speaker == "s1"
    assert first.groups == {"dialect": "yue"}
    assert first.extra == {"n": [1]}
    assert (first.line, first.source) == (1, path)
    assert second.line == 4  # blank lines are skipped but still counted
    assert second.duration == 2.0 and isinstance(second.duration, float)
    assert second.speaker is None and second.groups == {}


def test_every_kind_of_bad_line_is_listed_in_one_error(tmp_path, write_tone, write_manifest_lines):
    write_tone("a.wav", seconds=1.0)
    (tmp_path / "broken.wav").write_bytes(b"RIFF this is not audio at all")
    lines = [
        utt("good"),  # 1
        '{"id": "x", "audio": "a.wav",',  # 2
        {"id": "no-text", "audio": "a.wav", "duration": 1.0},  # 3
        utt("str-duration", duration="1.0"),  # 4
        utt("lost", "missing.wav"),  # 5
        utt("broken", "broken.wav"),  # 6
        utt("good"),  # 7
        utt("negative", duration=-1.0),  # 8
        b'{"id": "latin1", "audio": "a.wav", "text": "caf\xe9", "duration": 1.0}',  # 9
        utt("groups-list", groups=["yue"]),  # 10
        utt("group-number", groups={"age": 30}),  # 11
        utt("typo", durration=1.0),  # 12
        "[1, 2]",  # 13
        utt("too-long", duration=10.0),  # 14
        "",  # 15
        utt("zero", duration=0),  # 16
        utt("empty-id") | {"id": ""},  # 17
        '{"id": "twice", "id": "again", "audio": "a.wav", "text": "", "duration": 1}',  # 18
        utt("last-good"),  # 19
    ]
    path = write_manifest_lines(lines)
    expected = {
        2: ": invalid JSON",
        3: ": field 'text': missing required field",
        4: ": field 'duration': is a string, expected a number",
        5: ": field 'audio': audio file not found",
        6: ": field 'audio': cannot read audio file",
        7: ": field 'id': duplicate id 'good' (first used on line 1)",
        8: ": field 'duration': is -1.0, but a duration must be more than 0",
        9: ": not valid UTF-8 (byte 0xe9",
        10: ": field 'groups': is a list, expected an object",
        11: ": field 'groups.age': is a number, expected a string",
        12: ": field 'durration': unknown field",
        13: ": the line is a list, not a JSON object",
        14: ": field 'duration': says 10 s but the audio file lasts 1.000 s",
        16: ": field 'duration': is 0, but a duration must be more than 0",
        17: ": field 'id': is empty",
        18: ": field 'id': appears twice in one object",
    }

    problems = problems_of(path)

    assert len(problems) == len(expected), "\n".join(problems)
    for line, message in expected.items():
        prefix = f"{path}:{line}{message}"
        assert sum(p.startswith(prefix) for p in problems) == 1, (prefix, problems)
    assert all(" — " in p for p in problems), "every problem says what to do"
    typo = next(p for p in problems if p.startswith(f"{path}:12:"))
    assert "did you mean 'duration'?" in typo


def test_the_error_message_names_the_file_and_counts_the_problems(write_manifest_lines):
    path = write_manifest_lines([utt("a", duration=-1), utt("b", duration=-2)])

    with pytest.raises(DataError, match=r"2 problems in this speech manifest") as caught:
        read_manifest(path, check_audio=False)

    assert f"{path}:1: field 'duration'" in str(caught.value)
    assert f"{path}:2: field 'duration'" in str(caught.value)


def test_audio_checks_can_be_skipped(write_manifest_lines):
    path = write_manifest_lines([utt("a", "nowhere.wav", duration=5.0)])

    assert [u.id for u in read_manifest(path, check_audio=False)] == ["a"]
    assert "audio file not found" in problems_of(path)[0]


def test_a_small_duration_difference_is_accepted(write_tone, write_manifest_lines):
    write_tone("a.wav", seconds=1.0)
    # 0.4 s off is within the 0.5 s absolute tolerance even though it is 40 %.
    path = write_manifest_lines([utt("a", duration=1.4), utt("b", duration=0.6)])

    assert len(read_manifest(path)) == 2


def test_an_audio_file_without_samples_is_reported(tmp_path, write_tone, write_manifest_lines):
    write_tone("silent.wav", seconds=0.0)
    path = write_manifest_lines([utt("a", "silent.wav")])

    assert "has no samples" in problems_of(path)[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "is empty"), (b"\n  \n\n", "is empty"), (b'[{"id": "a"}]\n', "holds a JSON array")],
)
def test_empty_files_and_json_arrays_are_errors(tmp_path, content, message):
    path = tmp_path / "m.jsonl"
    path.write_bytes(content)

    with pytest.raises(DataError, match=message):
        read_manifest(path)


def test_a_missing_manifest_is_an_error_naming_it(tmp_path):
    with pytest.raises(DataError, match=r"nope\.jsonl: speech manifest not found"):
        read_manifest(tmp_path / "nope.jsonl")


def test_a_byte_order_mark_and_crlf_line_ends_are_accepted(tmp_path, write_tone):
    write_tone("a.wav")
    path = tmp_path / "m.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(utt("a")).encode() + b"\r\n")

    assert read_manifest(path)[0].id == "a"


def test_write_then_read_gives_the_same_utterances(tmp_path, write_tone):
    inside = write_tone("data/wav/a.wav")
    outside = write_tone("elsewhere/b.wav", seconds=2.0)
    utterances = [
        Utterance("a", inside, "ni hao", 1.0, "s1", {"dialect": "cmn"}, {"note": "é"}),
        Utterance("b", outside, "", 2.0),
    ]
    path = tmp_path / "data" / "train.jsonl"

    write_manifest(path, utterances)

    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["audio"] == "wav/a.wav"  # inside the folder: relative
    assert lines[1]["audio"] == str(outside)  # outside: absolute
    assert "speaker" not in lines[1] and "groups" not in lines[1]
    assert read_manifest(path) == utterances
    assert sorted(p.name for p in path.parent.iterdir()) == ["train.jsonl", "wav"]


def test_write_replaces_an_existing_manifest(tmp_path, write_tone):
    audio = write_tone("a.wav")
    path = tmp_path / "m.jsonl"
    path.write_text("old content\n")

    write_manifest(path, [Utterance("a", audio, "x", 1.0)])

    assert [u.id for u in read_manifest(path)] == ["a"]


def test_utterances_compare_by_content_and_can_be_hashed(tmp_path):
    one = Utterance("a", tmp_path / "a.wav", "x", 1.0, groups={"g": "1"}, line=3)
    other = Utterance("a", str(tmp_path / "a.wav"), "x", 1.0, groups={"g": "1"}, line=9)

    assert one == other  # provenance (line, source) is not content
    assert hash(one) == hash(other)
    assert isinstance(other.audio, Path)
    assert one != Utterance("a", tmp_path / "a.wav", "x", 1.0, groups={"g": "2"})
