"""EDA text augmentation: seeded, each operation does what its name says, CJK character units
with multi-character synonyms, and clear errors for bad synonym lists."""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import pytest
from voxtext_text.eda import EDA, EDAConfig, contains_cjk, split_chars

import voxtext
from voxtext.errors import ConfigError, DataError
from voxtext.protocols import TextAugmentation

ENGLISH = "the quick brown fox jumps over the lazy dog while a happy cat sleeps"
CHINESE = "我很喜欢这部电影，演员的表演非常精彩"
SYNONYM_LIST = """\
# English groups
quick fast rapid
happy, glad
lazy idle
# a word on two lines gets both lines' words, without chaining them
bank shore
bank lender
# Chinese: whitespace or full-width commas
喜欢 喜爱
电影，影片
电影院 影院
非常、十分
精彩 出色
"""
ONLY = {"synonym_replace": 0.0, "random_insert": 0.0, "random_swap": 0.0, "random_delete": 0.0}


@pytest.fixture
def synonyms(tmp_path: Path) -> str:
    path = tmp_path / "synonyms.txt"
    path.write_text(SYNONYM_LIST, encoding="utf-8")
    return str(path)


def eda(operation: str, alpha: float = 0.2, **settings) -> EDA:
    return EDA(EDAConfig(p=1.0, **{**ONLY, operation: alpha}, **settings))


def outputs(augment: EDA, text: str, seeds: range = range(40)) -> list[str]:
    return [augment(text, random.Random(seed)) for seed in seeds]


def test_registered_and_conforms(synonyms):
    augment = voxtext.registry("augmentations").create("eda", synonyms=synonyms)
    assert isinstance(augment, TextAugmentation)
    assert augment.domain == "text"


def test_same_rng_state_same_output(synonyms):
    augment = EDA(EDAConfig(synonyms=synonyms, p=0.8))
    for text in (ENGLISH, CHINESE):
        first = outputs(augment, text)
        assert first == outputs(augment, text)
        assert len(set(first)) > 10  # different seeds do give different edits
        assert text in first  # p=0.8 leaves some texts alone


def test_p_zero_returns_the_text_unchanged(synonyms):
    augment = EDA(EDAConfig(synonyms=synonyms, p=0.0))
    assert outputs(augment, ENGLISH) == [ENGLISH] * 40
    assert outputs(augment, CHINESE) == [CHINESE] * 40


def test_p_is_the_share_of_texts_edited():
    augment = EDA(EDAConfig(p=0.3, random_swap=0.2, random_delete=0.0, synonym_replace=0.0))
    changed = sum(out != ENGLISH for out in outputs(augment, ENGLISH, range(1000)))
    assert 250 <= changed <= 350  # swaps of distinct words always change this text


def test_swap_keeps_the_multiset_of_words_and_the_spacing():
    text = "alpha  beta\tgamma delta epsilon zeta eta theta iota kappa"
    words = text.split()
    swapped = outputs(eda("random_swap", 0.2, unit="word"), text)
    for out in swapped:
        assert Counter(out.split()) == Counter(words)
        assert "  " in out and "\t" in out  # the separators stay where they were
        # alpha 0.2 of 10 words: 2 swaps, so at most 4 words move
        assert sum(a != b for a, b in zip(out.split(), words, strict=True)) <= 4
    assert sum(out != text for out in swapped) >= 35  # a second swap may undo the first


def test_delete_shrinks_but_never_empties():
    for out in outputs(eda("random_delete", 0.3, unit="word"), ENGLISH):
        kept = out.split()
        assert len(kept) == len(ENGLISH.split()) - 4  # round(0.3 * 14) = 4 words
        assert " ".join(kept) == out  # separators removed with the words: no double spaces
        remaining = iter(ENGLISH.split())
        assert all(word in remaining for word in kept)  # order kept: a subsequence
    everything = eda("random_delete", 1.0)
    for text in ("one two three", "solo", "我们"):
        for out in outputs(everything, text):
            assert out and out in text
    assert {len(o) for o in outputs(everything, "one two three")} <= {3, 5}


def test_synonym_replacement_uses_only_listed_synonyms(synonyms):
    text = "The quick fox was happy, not lazy."
    allowed = {
        "quick": {"fast", "rapid"},
        "happy,": {"glad,"},
        "lazy.": {"idle."},
    }
    seen: set[str] = set()
    for out in outputs(eda("synonym_replace", 0.2, synonyms=synonyms), text):
        before, after = text.split(), out.split()
        assert len(after) == len(before)
        changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert len(changed) == 1  # round(0.2 * 7) = 1 replacement
        (original, replacement) = changed[0]
        assert replacement in allowed[original]
        seen.add(replacement)
    assert seen == {"fast", "rapid", "glad,", "idle."}


def test_a_word_in_two_groups_gets_both_without_chaining(synonyms):
    augment = eda("synonym_replace", 1.0, synonyms=synonyms)
    assert set(outputs(augment, "bank")) == {"shore", "lender"}
    assert set(outputs(augment, "shore")) == {"bank"}


def test_insertion_inserts_a_synonym_of_a_word_present(synonyms):
    text = "a quick and lazy fox"
    synonyms_present = {"fast", "rapid", "quick", "idle", "lazy"}
    for out in outputs(eda("random_insert", 0.2, synonyms=synonyms), text):
        words = out.split()
        assert len(words) == 6 and " ".join(words) == out  # one word, one separator
        added = Counter(words) - Counter(text.split())
        assert sum(added.values()) == 1
        assert next(iter(added)) in synonyms_present - {"quick", "lazy"}
        remaining = iter(words)
        assert all(word in remaining for word in text.split())  # the rest in order


def test_without_a_synonym_list_only_swap_and_delete_run():
    augment = EDA(EDAConfig(p=1.0, random_swap=0.1, random_delete=0.1))
    for out in outputs(augment, ENGLISH, range(100)):
        assert Counter(out.split()) <= Counter(ENGLISH.split())  # nothing new was added


def test_auto_unit_follows_the_script():
    assert contains_cjk(CHINESE) and contains_cjk("カタカナ") and not contains_cjk(ENGLISH)
    swap = eda("random_swap", 0.1)
    for out in outputs(swap, "abc def"):
        assert out == "def abc"  # words, not letters
    for out in outputs(swap, "我们"):
        assert out == "们我"  # characters


def test_cjk_char_units_treat_listed_words_whole(synonyms):
    augment = EDA(EDAConfig(synonyms=synonyms, p=1.0))
    vocabulary = frozenset(augment._exact)
    units = [u for u, _ in split_chars(CHINESE, vocabulary, augment._longest)]
    assert units[:4] == ["我", "很", "喜欢", "这"] and "电影" in units and "非常" in units
    assert len(units) == 14
    # longest entry first: 电影院 is one unit although 电影 is listed too
    cinema = [u for u, _ in split_chars("去电影院看电影", vocabulary, augment._longest)]
    assert cinema == ["去", "电影院", "看", "电影"]
    replace = eda("synonym_replace", 0.15, synonyms=synonyms)
    swaps = {("喜欢", "喜爱"), ("电影", "影片"), ("非常", "十分"), ("精彩", "出色")}
    for out in outputs(replace, CHINESE):
        replaced = [(a, b) for a, b in swaps if b in out]
        assert len(replaced) == 2  # round(0.15 * 14 units) = 2 words replaced
        restored = out
        for original, synonym in replaced:
            restored = restored.replace(synonym, original)
        assert restored == CHINESE


def test_cjk_swap_and_delete_move_whole_words(synonyms):
    swap = eda("random_swap", 0.1, synonyms=synonyms)
    for out in outputs(swap, CHINESE):
        assert Counter(out) == Counter(CHINESE) and out != CHINESE
        assert all(word in out for word in ("喜欢", "电影", "非常", "精彩"))  # moved whole
    delete = eda("random_delete", 0.1, synonyms=synonyms)
    for out in outputs(delete, CHINESE):
        assert Counter(out) <= Counter(CHINESE)
        lost = Counter(CHINESE) - Counter(out)
        assert lost["喜"] == lost["欢"] and lost["电"] == lost["影"]


def test_cjk_insertion_adds_a_listed_word_without_spaces(synonyms):
    insert = eda("random_insert", 0.1, synonyms=synonyms)
    listed = {"喜欢", "喜爱", "电影", "影片", "非常", "十分", "精彩", "出色"}
    for out in outputs(insert, CHINESE):
        assert " " not in out
        added = Counter(out) - Counter(CHINESE)
        assert "".join(sorted(added.elements())) in {"".join(sorted(w)) for w in listed}
        assert sum(added.values()) == 2  # round(0.1 * 14 units) = 1 two-character word


def test_bad_synonym_lines_are_named_by_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("good great\n\n# fine\nlonely\nok, ,\nhappy glad\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        EDA(EDAConfig(synonyms=str(path)))
    message = str(caught.value)
    assert "2 bad line(s)" in message
    assert f"{path}:4: 'lonely' names a single word" in message
    assert f"{path}:5: 'ok, ,'" in message
    assert ":6:" not in message and ":1:" not in message


def test_synonym_file_errors(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(ConfigError, match=r"eda\.synonyms: no synonym list at .*nope\.txt"):
        EDA(EDAConfig(synonyms=str(missing)))
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("good great\ncafé coffee\n".encode("latin-1"))
    with pytest.raises(DataError, match=rf"{re.escape(str(latin1))}:2: .* not UTF-8"):
        EDA(EDAConfig(synonyms=str(latin1)))
    comments = tmp_path / "comments.txt"
    comments.write_text("# nothing\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="has no groups"):
        EDA(EDAConfig(synonyms=str(comments)))


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match=r"eda\.p must be"):
        EDAConfig(p=1.5)
    with pytest.raises(ConfigError, match=r"eda\.random_swap must be in \[0, 1\]"):
        EDAConfig(random_swap=-0.1)
    with pytest.raises(ConfigError, match=r"eda\.unit='token' is unknown"):
        EDAConfig(unit="token")
    with pytest.raises(ConfigError, match="no text would ever change"):
        EDAConfig(**ONLY)
    with pytest.raises(ConfigError, match="need a synonym list"):
        EDAConfig(synonym_replace=0.1, random_insert=0.1, random_swap=0.0, random_delete=0.0)


def test_rng_must_be_a_random_random():
    with pytest.raises(TypeError, match="random.Random"):
        EDA()(ENGLISH, 0)  # type: ignore[arg-type]


def test_texts_without_units_come_back_as_they_are():
    augment = eda("random_delete", 0.5)
    assert outputs(augment, "") == [""] * 40
    assert outputs(augment, "  \n") == ["  \n"] * 40
