"""The espeak-dialects corpus end to end on the tiny preset: synthesis, splits, cache, errors."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import soundfile
from voxtext_corpora import synthesis
from voxtext_corpora.espeak import EspeakError, check_voices, espeak_executable

import voxtext
from voxtext.data import read_manifest
from voxtext.errors import ConfigError
from voxtext.protocols import Corpus

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng is not installed (apt-get install espeak-ng): cannot synthesise",
)


def make(**settings):
    settings.setdefault("progress", False)
    return voxtext.registry("corpora").create("espeak-dialects", **settings)


def read_splits(splits) -> dict:
    return {split: read_manifest(path) for split, path in splits.manifests.items()}


@pytest.fixture(scope="module")
def chinese(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("chinese")
    return make(languages="chinese", size="tiny").prepare(out_dir)


@pytest.fixture(scope="module")
def english_imbalanced(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("english")
    corpus = make(languages="english-accents", size="tiny", imbalance=0.75)
    return corpus, out_dir, corpus.prepare(out_dir)


@needs_espeak
def test_tiny_corpus_is_a_synthetic_corpus_with_three_valid_manifests(chinese):
    assert isinstance(make(size="tiny"), Corpus)
    assert chinese.synthetic is True
    assert "synthetic" in chinese.notes["synthetic_note"]
    utterances = read_splits(chinese)  # validates every line and every audio file
    assert sorted(utterances) == ["dev", "test", "train"]
    assert {split: len(items) for split, items in utterances.items()} == {
        "train": 16,
        "dev": 4,
        "test": 8,
    }


@needs_espeak
def test_audio_is_16khz_mono_16bit_and_durations_match_it(chinese):
    for utterances in read_splits(chinese).values():
        for utterance in utterances:
            info = soundfile.info(str(utterance.audio))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert utterance.duration == pytest.approx(info.frames / 16000, abs=1e-3)
            assert 0.5 < utterance.duration < 5.0


@needs_espeak
def test_groups_are_present_and_held_out_splits_are_balanced(chinese):
    for split, utterances in read_splits(chinese).items():
        for utterance in utterances:
            assert utterance.groups["dialect"] in {"cmn", "yue"}
            assert utterance.groups["gender"] in {"m", "f"}
            assert utterance.groups["language"] == "zh"
        counts = Counter(utterance.groups["dialect"] for utterance in utterances)
        assert counts["cmn"] == counts["yue"] > 0, split
    genders = {u.groups["gender"] for u in read_splits(chinese)["test"]}
    assert genders == {"m", "f"}


@needs_espeak
def test_dev_and_test_speakers_and_voices_never_appear_in_train(chinese):
    utterances = read_splits(chinese)
    speakers = {split: {u.speaker for u in items} for split, items in utterances.items()}
    voices = {split: {u.extra["voice"] for u in items} for split, items in utterances.items()}
    for held_out in ("dev", "test"):
        assert speakers[held_out] and not speakers[held_out] & speakers["train"]
        assert not voices[held_out] & voices["train"]
    assert not speakers["dev"] & speakers["test"]


@needs_espeak
def test_dev_and_test_sentences_never_appear_in_train(chinese):
    utterances = read_splits(chinese)
    train_texts = {u.text for u in utterances["train"]}
    train_ids = {u.extra["sentence_id"] for u in utterances["train"]}
    for held_out in ("dev", "test"):
        assert not {u.text for u in utterances[held_out]} & train_texts
        assert not {u.extra["sentence_id"] for u in utterances[held_out]} & train_ids


@needs_espeak
def test_mandarin_and_cantonese_say_the_same_sentences_with_the_same_characters(chinese):
    by_sentence: dict[str, dict[str, str]] = {}
    for utterance in read_splits(chinese)["test"]:
        dialects = by_sentence.setdefault(utterance.extra["sentence_id"], {})
        dialects[utterance.groups["dialect"]] = utterance.text
        if utterance.groups["dialect"] == "cmn":
            assert any(ch.isdigit() for ch in utterance.extra["spoken"])  # pinyin tones
        else:
            assert utterance.extra["spoken"] == utterance.text  # Cantonese reads characters
    for sentence_id, texts in by_sentence.items():
        assert set(texts) == {"cmn", "yue"}, sentence_id
        assert texts["cmn"] == texts["yue"]
        assert all("\u4e00" <= ch <= "\u9fff" for ch in texts["cmn"])


@needs_espeak
def test_imbalance_gives_the_majority_dialect_its_share_of_train_only(english_imbalanced):
    _, _, splits = english_imbalanced
    utterances = read_splits(splits)
    train = Counter(u.groups["dialect"] for u in utterances["train"])
    assert train == {"en-us": 12, "en-gb-scotland": 4}  # 0.75 of 16 for the first dialect
    speakers = Counter(
        u.groups["dialect"] for u in {u.speaker: u for u in utterances["train"]}.values()
    )
    assert speakers["en-us"] > speakers["en-gb-scotland"]
    for split in ("dev", "test"):
        counts = Counter(u.groups["dialect"] for u in utterances[split])
        assert counts["en-us"] == counts["en-gb-scotland"] > 0
    assert all(set(u.text) <= set("abcdefghijklmnopqrstuvwxyz' ") for u in utterances["train"])


@needs_espeak
def test_second_prepare_is_a_cache_hit_that_synthesises_nothing(english_imbalanced, monkeypatch):
    _, out_dir, first = english_imbalanced
    audio = sorted(Path(first.manifests["train"]).parent.glob("audio/**/*.wav"))
    modified = [path.stat().st_mtime_ns for path in audio]

    def no_synthesis(*args, **kwargs):
        raise AssertionError("a cache hit must not synthesise")

    monkeypatch.setattr(synthesis, "synthesise", no_synthesis)
    again = make(languages="english-accents", size="tiny", imbalance=0.75).prepare(out_dir)
    assert again.notes["cache"] == "hit"
    assert again.manifests == first.manifests
    assert [path.stat().st_mtime_ns for path in audio] == modified


@needs_espeak
def test_an_interrupted_corpus_is_completed_not_trusted(tmp_path):
    first = make(languages="english-accents", size="tiny", seed=3).prepare(tmp_path)
    folder = Path(first.manifests["train"]).parent
    wavs = sorted(folder.glob("audio/**/*.wav"))
    # What an interrupted run leaves: no stamp, a missing file, a truncated one, a partial one.
    (folder / "corpus.json").unlink()
    wavs[0].unlink()
    wavs[1].write_bytes(wavs[1].read_bytes()[:30])
    (wavs[2].parent / f".{wavs[2].name}.partial").write_bytes(b"RIFF")
    untouched = wavs[3].stat().st_mtime_ns
    again = make(languages="english-accents", size="tiny", seed=3).prepare(tmp_path)
    assert again.notes["cache"] == "built"
    assert again.notes["synthesis"]["synthesised"] == 2
    assert again.notes["synthesis"]["reused"] == len(wavs) - 2
    assert wavs[3].stat().st_mtime_ns == untouched
    assert not list(folder.glob("audio/**/.*.partial"))
    for path in again.manifests.values():
        read_manifest(path)
    assert (
        make(languages="english-accents", size="tiny", seed=3).prepare(tmp_path).notes["cache"]
        == "hit"
    )


@needs_espeak
def test_same_seed_same_manifests_other_seed_other_speakers(english_imbalanced, tmp_path):
    _, _, first = english_imbalanced
    second = make(languages="english-accents", size="tiny", imbalance=0.75).prepare(tmp_path)
    assert Path(first.manifests["train"]).parent.name == Path(second.manifests["train"]).parent.name
    for split in ("train", "dev", "test"):
        assert first.manifests[split].read_text() == second.manifests[split].read_text()
    other = make(languages="english-accents", size="tiny", imbalance=0.75, seed=1).plan()
    assert {u.speaker.id for u in other} != {
        json.loads(line)["speaker"]
        for split in ("train", "dev", "test")
        for line in first.manifests[split].read_text().splitlines()
    }


def test_missing_espeak_ng_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.delenv("VOXTEXT_ESPEAK_NG", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EspeakError, match="apt-get install espeak-ng"):
        make(size="tiny").prepare(tmp_path / "out")


@needs_espeak
def test_a_missing_voice_is_named(monkeypatch):
    executable = espeak_executable()
    with pytest.raises(EspeakError, match=r"voices \['xx-no-such-accent'\].*variants \['z9'\]"):
        check_voices(executable, ["en-us", "xx-no-such-accent"], ["m1", "z9"])


def test_a_failing_espeak_ng_is_reported_with_the_utterance(tmp_path, monkeypatch):
    fake = tmp_path / "espeak-ng"
    fake.write_text("#!/bin/sh\necho 'voice exploded' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("VOXTEXT_ESPEAK_NG", str(fake))
    with pytest.raises(EspeakError, match="voice exploded"):
        make(size="tiny").prepare(tmp_path / "out")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"dialects": ["en-us", "en-xx"]}, r"\['en-xx'\] are not in the language set"),
        ({"languages": "klingon"}, "is not one of"),
        ({"imbalance": 1.0}, "imbalance is 1.0"),
        ({"imbalance": 0.1}, "at least 0.125"),
        ({"imbalance": 0.8, "majority_dialect": "yue"}, "majority_dialect 'yue' is not one of"),
        ({"dialects": ["en-us"], "imbalance": 0.8}, "at least two dialects"),
        ({"train_utterances": 0}, "train_utterances is 0"),
        ({"sizes": "tiny"}, "Did you mean 'size'"),
    ],
)
def test_config_mistakes_are_reported_with_the_field(settings, message):
    with pytest.raises(ConfigError, match=message):
        make(**settings)


def test_setting_a_size_field_changes_the_corpus_folder(tmp_path):
    default = make(size="tiny").corpus_dir(tmp_path)
    assert make(size="tiny", workers=1, progress=True).corpus_dir(tmp_path) == default
    assert make(size="tiny", train_utterances=20).corpus_dir(tmp_path) != default
    assert make(size="tiny", seed=1).corpus_dir(tmp_path) != default
    assert default.parent == tmp_path and default.name.startswith("espeak-dialects-english")
