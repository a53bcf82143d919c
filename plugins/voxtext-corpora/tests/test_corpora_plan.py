"""The corpus plan and its sentences at full default size: no audio, so no espeak-ng needed."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from voxtext_corpora.dialects import CHINESE, ENGLISH_ACCENTS
from voxtext_corpora.plan import Sizes, plan_corpus, split_sentences
from voxtext_corpora.sentences import (
    chinese_sentences,
    english_sentences,
    normalise_english,
    to_pinyin,
)

import voxtext


def plan(**settings):
    return voxtext.registry("corpora").create("espeak-dialects", **settings).plan()


def by_split(planned):
    result = {"train": [], "dev": [], "test": []}
    for utterance in planned:
        result[utterance.split].append(utterance)
    return result


def test_default_english_plan_has_the_documented_sizes_and_holds_out_speakers_and_sentences():
    splits = by_split(plan(languages="english-accents"))
    assert len(splits["train"]) == 2880
    for split, per_dialect in (("train", 360), ("dev", 40), ("test", 100)):
        counts = Counter(u.speaker.dialect.name for u in splits[split])
        assert counts == {dialect.name: per_dialect for dialect in ENGLISH_ACCENTS}
    speakers = {split: {u.speaker.id for u in items} for split, items in splits.items()}
    sentences = {split: {u.sentence.id for u in items} for split, items in splits.items()}
    assert not speakers["test"] & speakers["train"] and not speakers["dev"] & speakers["train"]
    assert not sentences["test"] & sentences["train"] and not sentences["dev"] & sentences["train"]
    assert len(sentences["train"]) == 300  # the whole train pool is used
    ids = [u.id for items in splits.values() for u in items]
    assert len(ids) == len(set(ids))


def test_every_dialect_reads_the_same_test_sentences():
    test = by_split(plan(languages="all", size="default"))["test"]
    read = {}
    for utterance in test:
        read.setdefault(utterance.speaker.dialect.name, set()).add(utterance.sentence.id)
    assert all(read[dialect.name] == read["en-us"] for dialect in ENGLISH_ACCENTS)
    assert read["cmn"] == read["yue"]


def test_imbalance_moves_train_utterances_and_speakers_to_the_majority():
    splits = by_split(plan(languages="chinese", imbalance=0.8, majority_dialect="yue"))
    train = Counter(u.speaker.dialect.name for u in splits["train"])
    assert train == {"yue": 2304, "cmn": 576}  # 0.8 and 0.2 of 2,880
    speakers = Counter(s.dialect.name for s in {u.speaker for u in splits["train"]})
    assert speakers == {"yue": 39, "cmn": 10}  # 60 utterances a speaker
    test = Counter(u.speaker.dialect.name for u in splits["test"])
    assert test["yue"] == test["cmn"] == 100


def test_imbalance_over_eight_accents_splits_the_rest_evenly():
    train = by_split(plan(languages="english-accents", imbalance=0.5))["train"]
    counts = Counter(u.speaker.dialect.name for u in train)
    assert counts.pop("en-us") == 1440
    assert sorted(counts.values()) == [205] * 2 + [206] * 5  # 1,440 over 7: remainder 5
    assert sum(counts.values()) == 1440


def test_train_speakers_alternate_genders_and_never_repeat_a_sentence():
    train = by_split(plan(languages="english-accents"))["train"]
    per_speaker: dict[str, list[str]] = {}
    for utterance in train:
        per_speaker.setdefault(utterance.speaker.id, []).append(utterance.sentence.id)
    assert all(len(ids) == len(set(ids)) for ids in per_speaker.values())
    genders = Counter(speaker.gender for speaker in {u.speaker for u in train})
    assert genders["m"] == genders["f"]


def test_plan_is_deterministic_and_depends_on_the_seed():
    first = [(u.id, u.sentence.text) for u in plan(languages="chinese", size="tiny")]
    again = [(u.id, u.sentence.text) for u in plan(languages="chinese", size="tiny")]
    other = [(u.id, u.sentence.text) for u in plan(languages="chinese", size="tiny", seed=7)]
    assert first == again
    assert first != other


def test_a_pool_larger_than_the_source_is_refused_with_the_setting_to_change():
    with pytest.raises(ValueError, match="ask for 6 sentences.*source has 5.*train_sentences"):
        split_sentences("en", ["a", "b", "c", "d", "e"], {"train": 4, "dev": 1, "test": 1}, 0)
    sizes = Sizes(4, 4, 1, 5, 1, 1, {"en": {"train": 4, "dev": 2, "test": 2}})
    with pytest.raises(ValueError, match="would read 5 sentences but the dev pool of en has 2"):
        plan_corpus(ENGLISH_ACCENTS[:2], {"en": list("abcdefgh")}, sizes, 0, None, "en-us")


def test_english_sentences_are_normalised_distinct_and_plenty():
    assert normalise_english("It’s 5 O'Clock, Sam!") == "it's o'clock sam"
    assert normalise_english("'quoted' words") == "quoted words"
    sentences = english_sentences()
    assert len(sentences) >= 400
    assert len(set(sentences)) == len(sentences)
    assert all(re.fullmatch(r"[a-z']+( [a-z']+)*", sentence) for sentence in sentences)


def test_chinese_sentences_are_short_han_clauses_within_the_character_budget():
    sentences = chinese_sentences(4, 12, 300)
    assert len(sentences) > 10000
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{4,12}", sentence) for sentence in sentences)
    assert len({character for sentence in sentences for character in sentence}) <= 300
    unlimited = chinese_sentences(4, 12, None)
    assert set(sentences) < set(unlimited)


def test_pinyin_has_tone_numbers_and_a_neutral_five():
    assert to_pinyin("你好吗") == "ni3 hao3 ma5"
    assert CHINESE[0].script == "pinyin" and CHINESE[1].script == "hanzi"
