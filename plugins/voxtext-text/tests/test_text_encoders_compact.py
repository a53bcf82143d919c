"""compact-bert: the character-level units, the vocabulary it learns (counts, min_count, ties,
max_vocab), encoding with specials and truncation, word alignment, and a rebuild from a JSON
round trip of ``to_dict`` that is identical in tokenizer, architecture and outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch
from voxtext_text.char_tokenizer import CharTokenizer, learn_vocabulary, split_units
from voxtext_text.encoder_configs import COMPACT_SPECIALS

import voxtext
from voxtext.errors import ConfigError
from voxtext.protocols import TextEncoder, TextTokenizer, encoder_takes_tokens

TINY = {"hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64}
REVIEWS = [
    "这个手机很好，iPhone12 的屏幕不错！",
    "质量很差，不推荐。",
    "很好很好 OK",
    "物流很快，质量好",
    "ok 不错",
]


def create(**settings: Any) -> Any:
    return voxtext.registry("encoders").create("compact-bert", **settings)


def test_units_split_cjk_characters_and_keep_ascii_runs_whole() -> None:
    assert split_units("我爱iPhone12和NLP！ ok 3.5分") == [
        *("我", "爱", "iphone12", "和", "nlp", "！", "ok", "3", ".", "5", "分")
    ]
    assert split_units("NLP很Cool", lowercase=False) == ["NLP", "很", "Cool"]
    assert split_units("  \t\n") == []
    assert split_units("😀Ünï") == ["😀", "Ü", "n", "ï"]  # non-ASCII letters stand alone


def test_vocabulary_is_specials_then_units_by_count_with_ties_by_text() -> None:
    texts = ["好好好 ok", "好 差 ok", "差 ok 中", "b a"]
    # counts: 好 4, ok 3, 差 2, 中 1, a 1, b 1
    assert learn_vocabulary(texts, min_count=2) == (*COMPACT_SPECIALS, "好", "ok", "差")
    assert learn_vocabulary(texts, min_count=1) == (
        *COMPACT_SPECIALS, *("好", "ok", "差", "a", "b", "中"),
    )  # fmt: skip
    assert learn_vocabulary(texts, min_count=1, max_vocab=2) == (*COMPACT_SPECIALS, "好", "ok")
    assert learn_vocabulary(["OK ok Ok"], min_count=3) == (*COMPACT_SPECIALS, "ok")
    assert learn_vocabulary(["OK ok Ok"], min_count=1, lowercase=False) == (
        *COMPACT_SPECIALS, *("OK", "Ok", "ok"),
    )  # fmt: skip


def test_encode_adds_cls_sep_maps_unknown_units_and_truncates() -> None:
    tokenizer = CharTokenizer((*COMPACT_SPECIALS, "好", "很", "ok"), max_length=6)
    assert isinstance(tokenizer, TextTokenizer)
    assert tokenizer.encode("很好 OK 吗") == [2, 6, 5, 7, 1, 3]
    assert tokenizer.tokens(tokenizer.encode("很好吗")) == ["[CLS]", "很", "好", "[UNK]", "[SEP]"]
    assert tokenizer.encode("好很好很好很好") == [2, 5, 6, 5, 6, 3]  # 6 ids in all
    assert tokenizer.encode("") == [2, 3]
    assert tokenizer.encode_batch(["好", "很"]) == [[2, 5, 3], [2, 6, 3]]
    assert (tokenizer.pad_id, tokenizer.mask_id, tokenizer.vocab_size) == (0, 4, 8)
    assert tokenizer.special_ids == frozenset(range(5))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tokenizer.tokens([8])


def test_encode_words_maps_each_unit_to_its_word() -> None:
    tokenizer = CharTokenizer((*COMPACT_SPECIALS, "北", "京", "欢", "迎", "你"), max_length=7)
    ids, word_index = tokenizer.encode_words(["北京", " ", "欢迎", "你们"])
    assert tokenizer.tokens(ids) == ["[CLS]", "北", "京", "欢", "迎", "你", "[SEP]"]
    # The blank word has no ids; "你们" lost "们" to truncation (7 ids in all).
    assert word_index == [None, 0, 0, 2, 2, 3, None]
    ids, word_index = tokenizer.encode_words(["你们"])
    assert ids == [2, 9, 1, 3] and word_index == [None, 0, 0, None]


def test_encoder_learns_from_texts_and_rebuilds_identically_from_json(tmp_path: Any) -> None:
    torch.manual_seed(0)
    encoder = create(texts=REVIEWS, min_count=2, max_length=16, **TINY).eval()
    assert encoder_takes_tokens(encoder) and isinstance(encoder, TextEncoder)
    assert encoder.output_dim == 32 and encoder.tokenizer.max_length == 16
    assert encoder.lora_targets == ("query", "value")
    assert encoder.input_embeddings().num_embeddings == encoder.tokenizer.vocab_size
    # 很 5, 好 4, 不 and ， 3, then ok 质 量 错 2 each (ties by text); once-only units dropped.
    assert encoder.vocabulary == (*COMPACT_SPECIALS, *"很好不，", "ok", *"质量错")
    settings = json.loads(json.dumps(encoder.to_dict()))
    assert "texts" not in settings and settings["vocabulary"] == list(encoder.vocabulary)
    torch.manual_seed(1)
    rebuilt = voxtext.registry("encoders").create("compact-bert", settings).eval()
    assert rebuilt.vocabulary == encoder.vocabulary
    assert rebuilt.tokenizer.encode_batch(REVIEWS) == encoder.tokenizer.encode_batch(REVIEWS)
    shapes = {name: p.shape for name, p in encoder.state_dict().items()}
    assert {name: p.shape for name, p in rebuilt.state_dict().items()} == shapes
    rows = encoder.tokenizer.encode_batch(REVIEWS)
    lengths = torch.tensor([len(r) for r in rows])
    ids = torch.zeros(len(rows), int(lengths.max()), dtype=torch.long)
    for index, row in enumerate(rows):
        ids[index, : len(row)] = torch.tensor(row)
    with torch.no_grad():
        expected, _ = encoder(ids, lengths)
        assert not torch.allclose(rebuilt(ids, lengths)[0], expected)  # other seed, other weights
        rebuilt.load_state_dict(encoder.state_dict())
        torch.testing.assert_close(rebuilt(ids, lengths)[0], expected, rtol=0, atol=0)
    assert rebuilt.to_dict() == settings


def test_sizes_follow_the_config() -> None:
    encoder = create(vocabulary=[*COMPACT_SPECIALS, "好"], max_length=20, **TINY)
    config = encoder.model.config
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (32, 2, 2)
    assert (config.intermediate_size, config.max_position_embeddings) == (64, 20)
    assert config.vocab_size == 6 and config._attn_implementation == "sdpa"
    assert encoder.model.pooler is None
    with pytest.raises(ValueError, match="exceed max_length=20"):
        encoder(torch.full((1, 21), 5), torch.tensor([21]))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "give either 'texts'.*or 'vocabulary'"),
        ({"texts": ["好"], "vocabulary": list(COMPACT_SPECIALS)}, "both 'vocabulary' and 'texts'"),
        ({"vocabulary": ["好", "[PAD]"]}, r"vocabulary must start with \['\[PAD\]'"),
        ({"vocabulary": [*COMPACT_SPECIALS, "好", "好"]}, r"vocabulary\[6\] '好' appears twice"),
        ({"texts": ["好"], "hidden_size": 30, "num_heads": 4}, "hidden_size=30 must be divisible"),
        ({"texts": ["好"], "dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"texts": ["好"], "min_count": 0}, "min_count must be an integer >= 1"),
        ({"texts": ["好"], "max_length": 2}, "max_length=2 leaves no room"),
        ({"texts": ["好 坏", "中"], "min_count": 2}, "no unit occurs min_count=2 times in the 2"),
    ],
)
def test_bad_configs_say_what_to_change(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        create(**settings)
