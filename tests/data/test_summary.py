"""Per-group summaries: utterances, hours and speakers, overall and per group value."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxtext.data import Utterance, summarise
from voxtext.errors import DataError


def utt(utt_id: str, seconds: float, speaker: str | None, **groups: str) -> Utterance:
    return Utterance(utt_id, Path("a.wav"), "t", seconds, speaker, groups)


UTTERANCES = [
    utt("1", 1800, "s1", dialect="yue", gender="f"),
    utt("2", 1800, "s1", dialect="yue", gender="f"),
    utt("3", 3600, "s2", dialect="cmn", gender="m"),
    utt("4", 720, None, dialect="cmn"),
]


def test_counts_overall_and_per_value_of_every_group():
    summary = summarise(UTTERANCES)

    overall = summary.rows[0]
    assert (overall.group, overall.value, overall.utterances) == ("all", "all", 4)
    assert overall.hours == pytest.approx(2.2)
    assert (overall.speakers, overall.without_speaker) == (2, 1)
    assert [(r.group, r.value) for r in summary.rows[1:]] == [
        ("dialect", "cmn"),
        ("dialect", "yue"),
        ("gender", "f"),
        ("gender", "m"),
        ("gender", "(none)"),
    ]
    cmn = summary.row("dialect", "cmn")
    assert (cmn.utterances, cmn.hours, cmn.speakers) == (2, pytest.approx(1.2), 1)
    yue = summary.row("dialect", "yue")
    assert (yue.utterances, yue.hours, yue.speakers) == (2, pytest.approx(1.0), 1)
    assert summary.row("gender", "(none)").utterances == 1


def test_group_by_chooses_the_attributes():
    summary = summarise(UTTERANCES, ["gender"])

    assert {row.group for row in summary.rows} == {"all", "gender"}


def test_an_attribute_no_utterance_has_is_an_error_listing_those_found():
    with pytest.raises(DataError, match=r"'dialekt' — choose from: dialect, gender"):
        summarise(UTTERANCES, ["dialekt"])


def test_format_table_aligns_columns_and_notes_unknown_speakers():
    table = summarise(UTTERANCES, ["dialect"]).format_table()

    assert table.splitlines() == [
        "group    value  utterances  hours  speakers",
        "all      all             4  2.200         2",
        "dialect  cmn             2  1.200         1",
        "dialect  yue             2  1.000         1",
        "note: 1 utterances have no speaker and are not counted there",
    ]


def test_row_lookup_names_the_rows_there_are():
    with pytest.raises(KeyError, match="rows: all=all"):
        summarise(UTTERANCES, []).row("dialect", "yue")
