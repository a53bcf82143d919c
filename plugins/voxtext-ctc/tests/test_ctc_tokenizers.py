"""The char and sentencepiece tokenizers: round trips, unknown symbols, rebuilding from
to_dict(), and the errors a user can cause."""

from __future__ import annotations

import json

import pytest
from voxtext_ctc.text_units import is_cjk_unit, split_units

import voxtext
from voxtext.errors import ConfigError, DataError
from voxtext.testing import write_speech_manifest

TRAIN = [
    "the quick brown fox jumps over the lazy dog",
    "我们今天去公园玩 天气很好",
    "我用Python写代码 and it works",
    "こんにちは 世界 안녕하세요",
    "don't stop, rock-n-roll!",
]


def tokenizers():
    return voxtext.registry("tokenizers")


def make_char(**overrides):
    return tokenizers().create("char", texts=TRAIN, **overrides)


@pytest.mark.parametrize(
    "text",
    ["the lazy fox", "我们去公园", "我用Python写代码", "today 天气很好 ok", "こんにちは 안녕"],
)
def test_char_round_trips_chinese_english_and_mixed(text):
    tok = make_char()
    assert tok.decode(tok.encode(text)) == text


def test_char_units_are_one_per_han_kana_hangul_and_letter():
    assert split_units("我用Python写") == ["我", "用", "P", "y", "t", "h", "o", "n", "写"]
    assert split_units("hi  世界") == ["h", "i", "▁", "世", "界"]
    assert split_units("こんにちは안녕") == list("こんにちは안녕")
    assert is_cjk_unit("世") and is_cjk_unit("ア") and is_cjk_unit("한") and not is_cjk_unit("a")


def test_word_units_keep_words_whole_and_cjk_split():
    assert split_units("don't stop 中文, now", "word") == [
        "don't",
        "▁",
        "stop",
        "▁",
        "中",
        "文",
        ",",
        "▁",
        "now",
    ]
    tok = make_char(alphabetic_unit="word")
    text = "the lazy dog 我们 don't stop"
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert len(ids) == 12  # 5 words + 2 han characters + 5 boundaries
    assert "quick" in tok.symbols and "q" not in tok.symbols


def test_combining_marks_stay_on_their_letter():
    assert split_units("cafe\u0301 x") == ["c", "a", "f", "e\u0301", "▁", "x"]


def test_whitespace_is_normalised_and_leading_trailing_dropped():
    tok = make_char()
    assert tok.decode(tok.encode("  the   fox \n")) == "the fox"
    assert tok.encode("the fox").count(tok.boundary_id) == 1


def test_unknown_units_map_to_unk_or_are_skipped_or_raise():
    tok = make_char()
    ids = tok.encode("the Zebra 猫")
    assert ids.count(tok.unk_id) == 2  # no 'Z' and no 猫 in the training texts
    assert tok.decode(ids) == "the <unk>ebra <unk>"
    skip = make_char(on_unknown="skip")
    assert skip.decode(skip.encode("the Zebra 猫")) == "the ebra"
    with pytest.raises(DataError, match="'猫'.*not in the vocabulary"):
        make_char(on_unknown="error").encode("the 猫")


def test_min_count_and_max_size_shrink_the_vocabulary():
    full = make_char()
    frequent = make_char(min_count=3)
    assert frequent.vocab_size < full.vocab_size
    assert frequent.encode("z")[0] == frequent.unk_id  # 'z' occurs once
    assert make_char(max_size=5).vocab_size == 3 + 5
    # most frequent first: the space-free 'o'/'e' family comes before rare han characters
    assert full.symbols[:3] == ("<blank>", "<unk>", "▁")


def test_char_rebuilds_from_to_dict_through_json_without_texts():
    tok = make_char(alphabetic_unit="word")
    state = json.loads(json.dumps(tok.to_dict()))
    assert state["texts"] == [] and state["manifest"] is None
    again = tokenizers().create("char", state)
    assert again.symbols == tok.symbols
    assert again.encode("the dog 我们") == tok.encode("the dog 我们")


def test_char_learns_from_a_manifest(tmp_path):
    manifest = write_speech_manifest(tmp_path, n=3)
    tok = tokenizers().create("char", manifest=manifest)
    assert tok.decode(tok.encode("utterance number 2")) == "utterance number 2"
    assert "3" not in tok.symbols


def test_char_config_errors_say_what_to_do():
    with pytest.raises(ConfigError, match="no training text"):
        tokenizers().create("char")
    with pytest.raises(ConfigError, match="not both"):
        tokenizers().create("char", texts=["a"], vocabulary=["a"])
    with pytest.raises(ConfigError, match="reserved symbols"):
        tokenizers().create("char", vocabulary=["a", "<unk>"])
    with pytest.raises(ConfigError, match="lower `min_count`"):
        tokenizers().create("char", texts=["ab"], min_count=5)
    with pytest.raises(DataError, match="outside the vocabulary"):
        make_char().decode([0, 999])


@pytest.fixture(scope="module", params=["unigram", "bpe"])
def sentencepiece(request):
    texts = TRAIN * 20
    return tokenizers().create(
        "sentencepiece", texts=texts, vocab_size=60, model_type=request.param
    )


@pytest.mark.parametrize("text", ["the lazy fox", "我们去公园玩", "我用Python写代码 and it works"])
def test_sentencepiece_round_trips(sentencepiece, text):
    ids = sentencepiece.encode(text)
    assert all(1 <= i < sentencepiece.vocab_size for i in ids)  # never the blank
    assert sentencepiece.decode(ids) == text


def test_sentencepiece_has_a_blank_and_maps_unknown_characters_to_unk(sentencepiece):
    assert sentencepiece.blank_id == 0 and sentencepiece.symbols[0] == "<blank>"
    assert sentencepiece.symbols[sentencepiece.unk_id] == "<unk>"
    ids = sentencepiece.encode("the 猫")
    assert sentencepiece.unk_id in ids
    assert sentencepiece.decode(ids) == "the <unk>"


def test_sentencepiece_round_trips_through_to_dict(sentencepiece):
    state = json.loads(json.dumps(sentencepiece.to_dict()))
    assert state["texts"] == [] and state["model"]
    again = tokenizers().create("sentencepiece", state)
    assert again.symbols == sentencepiece.symbols
    for text in TRAIN:
        assert again.encode(text) == sentencepiece.encode(text)


def test_sentencepiece_errors_say_what_to_do():
    with pytest.raises(ConfigError, match="lower `vocab_size`"):
        tokenizers().create("sentencepiece", texts=["ab ab"], vocab_size=500)
    with pytest.raises(ConfigError, match="base64"):
        tokenizers().create("sentencepiece", model="not base64!")
    with pytest.raises(ConfigError, match="not a SentencePiece model"):
        tokenizers().create("sentencepiece", model="aGVsbG8=")
    with pytest.raises(ConfigError, match="no training text"):
        tokenizers().create("sentencepiece")
