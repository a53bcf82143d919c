"""Cleaning: every item left out is reported with its reason and the item it lost to."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest

from voxtext.data import (
    Dropped,
    Label,
    TextExample,
    Utterance,
    clean_manifest,
    clean_text_dataset,
    drop_conflicting_labels,
    drop_duplicate_audio,
    drop_duplicate_text,
    drop_duration_outliers,
    drop_non_printable_text,
)
from voxtext.errors import ConfigError, DataError


def utterance(utt_id: str, audio: Path, text: str = "hello", duration: float = 1.0, line: int = 0):
    return Utterance(utt_id, audio, text, duration, line=line)


def reasons(dropped: list[Dropped]) -> list[tuple[str, str]]:
    return [(d.item_id, d.reason) for d in dropped]


def test_clean_manifest_reports_every_dropped_utterance(tmp_path, write_tone):
    a = write_tone("a.wav", frequency=300)
    copy_of_a = tmp_path / "copy.wav"
    copy_of_a.write_bytes(a.read_bytes())
    other = [write_tone(f"o{i}.wav", frequency=400 + i) for i in range(8)]
    utterances = [
        utterance("a", a, line=1),
        utterance("a", other[0], line=2),  # duplicate id
        utterance("copy", copy_of_a, line=3),  # same bytes as a.wav
        utterance("blank", other[1], text="  \t", line=4),
        utterance("bell", other[2], text="ring\x07", line=5),
        utterance("mojibake", other[3], text="caf\ufffd", line=6),
        utterance("long", other[4], duration=60.0, line=7),
        utterance("b", other[5], text="tab\tand\nnewline, zero\u200dwidth joiner", line=8),
        utterance("c", other[6], line=9),
        utterance("d", other[7], line=10),
    ]

    result = clean_manifest(utterances)

    assert [u.id for u in result.kept] == ["a", "b", "c", "d"]
    assert reasons(result.dropped) == [
        ("a", "duplicate-id"),
        ("copy", "duplicate-audio"),
        ("blank", "empty-text"),
        ("bell", "non-printable-text"),
        ("mojibake", "non-printable-text"),
        ("long", "duration-outlier"),
    ]
    assert result.summary() == {
        "duplicate-id": 1,
        "duplicate-audio": 1,
        "empty-text": 1,
        "non-printable-text": 2,
        "duration-outlier": 1,
    }
    details = {d.item_id: d.detail for d in result.dropped}
    assert details["copy"] == "line 3: same audio bytes as 'a' (line 1), which is kept"
    assert details["bell"] == "line 5: U+0007 at character 5"
    assert details["mojibake"] == "line 6: U+FFFD at character 4"


def test_the_iqr_rule_and_the_absolute_limits(tmp_path):
    audio = tmp_path / "a.wav"
    durations = [0.5, 2.0, 3.0, 3.0, 4.0, 5.0, 30.0]
    utterances = [utterance(f"u{i}", audio, duration=d) for i, d in enumerate(durations)]

    # Q1 = 2.5 and Q3 = 4.5 (inclusive quartiles), IQR = 2: the range is [-0.5, 7.5].
    by_iqr = drop_duration_outliers(utterances)
    assert reasons(by_iqr.dropped) == [("u6", "duration-outlier")]
    assert "outside [-0.500, 7.500] s (Q1=2.500, Q3=4.500, k=1.5)" in by_iqr.dropped[0].detail

    assert reasons(drop_duration_outliers(utterances, k=20).dropped) == []
    limited = drop_duration_outliers(utterances, k=None, min_seconds=1.0, max_seconds=4.5)
    assert [(d.item_id, d.detail) for d in limited.dropped] == [
        ("u0", "id 'u0': 0.5 s is shorter than min_seconds=1"),
        ("u5", "id 'u5': 5 s is longer than max_seconds=4.5"),
        ("u6", "id 'u6': 30 s is longer than max_seconds=4.5"),
    ]
    with pytest.raises(ConfigError, match="k must be 0 or more"):
        drop_duration_outliers(utterances, k=-1)


def test_the_iqr_rule_needs_four_utterances(tmp_path):
    few = [utterance(f"u{i}", tmp_path / "a.wav", duration=d) for i, d in enumerate([1, 1, 90])]

    assert len(drop_duration_outliers(few).kept) == 3


def test_duplicate_audio_reports_unreadable_files_all_at_once(tmp_path):
    utterances = [utterance("x", tmp_path / "x.wav"), utterance("y", tmp_path / "y.wav")]

    with pytest.raises(DataError) as caught:
        drop_duplicate_audio(utterances)

    assert [p.split(":")[0] for p in caught.value.problems] == [
        str(tmp_path / "x.wav"),
        str(tmp_path / "y.wav"),
    ]


def example(ex_id: str, text: str, label: Label, line: int) -> TextExample:
    return TextExample(ex_id, text, label, line=line)


def test_clean_text_dataset_drops_every_copy_of_a_conflicting_text():
    examples = [
        example("1", "good film", "pos", 1),
        example("2", "good   film", "neg", 2),  # conflicts with 1 (whitespace aside)
        example("3", "fine", "pos", 3),
        example("4", "fine", "pos", 4),  # duplicate text, same label
        example("5", "", "neg", 5),
        example("6", "sport and politics", ("sport", "politics"), 6),
        example("7", "sport and politics", ("politics", "sport"), 7),  # same set: no conflict
    ]

    result = clean_text_dataset(examples)

    assert [e.id for e in result.kept] == ["3", "6"]
    assert reasons(result.dropped) == [
        ("5", "empty-text"),
        ("1", "conflicting-label"),
        ("2", "conflicting-label"),
        ("4", "duplicate-text"),
        ("7", "duplicate-text"),
    ]
    conflict = "the same text is labelled 'pos' (line 1); 'neg' (line 2)"
    assert result.dropped[1].detail == f"line 1: {conflict}"
    assert result.dropped[2].detail == f"line 2: {conflict}"


def test_conflicting_labels_are_found_even_when_ids_repeat():
    examples = [example("a", "x", "pos", 1), example("a", "y", "neg", 2), example("b", "x", 1, 3)]

    result = drop_conflicting_labels(examples)

    assert [(e.id, e.line) for e in result.kept] == [("a", 2)]
    assert [d.detail.split(":")[0] for d in result.dropped] == ["line 1", "line 3"]


def test_duplicate_text_ignores_whitespace_runs_only():
    examples = [
        example("1", "a b", "x", 1),
        example("2", " a\n b ", "x", 2),
        example("3", "A b", "x", 3),
    ]

    result = drop_duplicate_text(examples)

    assert [e.id for e in result.kept] == ["1", "3"]
    assert result.dropped == [
        Dropped("2", "duplicate-text", "line 2: same text as '1' (line 1), which is kept")
    ]


def test_non_printable_covers_controls_surrogates_and_private_use():
    texts = ["nul\x00", "esc\x1b[0m", "lone \udc80", "private \ue000", "ok\r\n", "فارسی\u200c"]
    examples = [example(str(i), text, "x", 0) for i, text in enumerate(texts)]

    result = drop_non_printable_text(examples)

    assert [e.text for e in result.kept] == ["ok\r\n", "فارسی\u200c"]
    assert [d.detail for d in result.dropped] == [
        "id '0': U+0000 at character 4",
        "id '1': U+001B at character 4",
        "id '2': U+DC80 at character 6",
        "id '3': U+E000 at character 9",
    ]


def test_steps_can_be_chosen_by_name_or_given_as_callables(tmp_path):
    utterances = [
        utterance(f"u{i}", tmp_path / "a.wav", duration=d) for i, d in enumerate([1, 2, 9])
    ]

    result = clean_manifest(
        utterances, steps=["empty-text", partial(drop_duration_outliers, max_seconds=5)]
    )

    assert reasons(result.dropped) == [("u2", "duration-outlier")]
    with pytest.raises(ConfigError, match="unknown cleaning step 'spelling'.*duplicate-id"):
        clean_manifest(utterances, steps=["spelling"])
    with pytest.raises(ConfigError, match="conflicting-label"):
        clean_manifest(utterances, steps=["conflicting-label"])  # text datasets only


def test_dropped_items_are_written_as_json_lines(tmp_path):
    result = drop_duplicate_text([example("1", "t", "x", 1), example("2", "t", "x", 2)])
    path = tmp_path / "reports" / "dropped.jsonl"

    result.to_jsonl(path)

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows == [
        {
            "item_id": "2",
            "reason": "duplicate-text",
            "detail": "line 2: same text as '1' (line 1), which is kept",
        }
    ]
