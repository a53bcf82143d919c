"""ARPA reading and backoff scoring, LM shallow fusion and hotword boosting in ctc-beam."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from voxtext_ctc.arpa import read_arpa
from voxtext_ctc.hotwords import HotwordAutomaton

import voxtext
from voxtext.errors import DataError

LN10 = math.log(10)

WORD_BIGRAM = """
\\data\\
ngram 1=6
ngram 2=5

\\1-grams:
-1.0\t</s>
-99\t<s>\t-0.5
-0.7\tthe\t-0.3
-2.0\tcat\t-0.2
-1.0\that\t-0.2
-1.5\t<unk>

\\2-grams:
-0.1\t<s> the
-0.2\tthe hat
-1.5\tthe cat
-0.3\that </s>
-0.3\tcat </s>

\\end\\
"""

TRIGRAM = """\\data\\
ngram 1=5
ngram 2=5
ngram 3=3

\\1-grams:
-1.2 <s> -0.6
-0.9 </s>
-0.5 a -0.4
-0.6 b -0.2
-0.8 c -0.1

\\2-grams:
-0.3 <s> a -0.25
-0.4 a b -0.15
-0.7 b c -0.05
-0.5 a a
-0.2 c </s>

\\3-grams:
-0.1 <s> a b
-0.2 a b c
-0.05 a a b

\\end\\
"""


def write(tmp_path, text, name="lm.arpa"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def naive_log10(ngrams: dict[tuple[str, ...], tuple[float, float]], history, word) -> float:
    """ARPA backoff straight from the definition, over string tuples."""
    for start in range(len(history) + 1):
        context = tuple(history[start:])
        if (*context, word) in ngrams:
            backoff = sum(ngrams.get(tuple(history[s:]), (0, 0))[1] for s in range(start))
            return backoff + ngrams[(*context, word)][0]
    raise AssertionError("unreachable: unigrams cover every word")


def parse_naively(text: str) -> dict[tuple[str, ...], tuple[float, float]]:
    ngrams, order = {}, 0
    for line in text.splitlines():
        if line.startswith("\\") and line.endswith("-grams:"):
            order = int(line[1])
        elif order and line.strip() and not line.startswith("\\"):
            parts = line.split()
            backoff = float(parts[order + 1]) if len(parts) > order + 1 else 0.0
            ngrams[tuple(parts[1 : order + 1])] = (float(parts[0]), backoff)
    return ngrams


def test_trigram_sentence_scores_equal_the_backoff_definition(tmp_path):
    lm = read_arpa(write(tmp_path, TRIGRAM))
    ngrams = parse_naively(TRIGRAM)
    rng = np.random.default_rng(0)
    for _ in range(50):
        sentence = [str(w) for w in rng.choice(["a", "b", "c"], size=int(rng.integers(1, 7)))]
        sentence.append("</s>")
        state, history, total, expected = lm.start_state(), ["<s>"], 0.0, 0.0
        for word in sentence:
            logp, after = lm.score(np.array([state]), np.array([lm.word_id(word)]))
            total += float(logp[0])
            state = int(after[0])
            expected += naive_log10(ngrams, history[-2:], word) * LN10
            history.append(word)
        assert total == pytest.approx(expected, abs=1e-9), sentence


def test_missing_unk_gets_kenlms_substitute_and_unknown_words_map_to_it(tmp_path):
    lm = read_arpa(write(tmp_path, TRIGRAM))
    logp, _ = lm.score(np.array([-1]), np.array([lm.word_id("zebra")]))
    assert float(logp[0]) == pytest.approx(-100 * LN10)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (TRIGRAM.replace("ngram 3=3", "ngram 3=4"), "promises 4 3-grams, the section has 3"),
        (TRIGRAM.replace("\\data\\", ""), "no \\\\data\\\\ line"),
        (TRIGRAM.replace("-0.2 a b c", "-0.2 a b zz"), "word 'zz' is not among the 1-grams"),
        (TRIGRAM.replace("-0.05 a a b", "-0.05 a a b c d"), "3-gram line needs"),
        (TRIGRAM.replace("-0.7 b c", "x b c"), "not a number"),
        (TRIGRAM.replace("\\end\\", ""), "expected \\\\end\\\\"),
        (TRIGRAM.replace("-0.05 a a b", "-0.05 a b c"), "'a b c' is listed twice"),
    ],
)
def test_malformed_arpa_files_name_file_and_problem(tmp_path, broken, message):
    with pytest.raises(DataError, match=message):
        read_arpa(write(tmp_path, broken))


SYMBOLS = ["<blank>", "▁", "t", "h", "e", "c", "a"]


def frames_spelling(steps: list[dict[str, float]]) -> torch.Tensor:
    """(1, frames, vocab) log-probs: each step's symbols get the given probabilities, the
    rest of the mass is spread evenly; a blank frame follows every step."""
    rows = []
    for step in steps:
        for probs in (step, {"<blank>": 0.97}):
            row = np.full(len(SYMBOLS), (1 - sum(probs.values())) / (len(SYMBOLS) - len(probs)))
            for symbol, p in probs.items():
                row[SYMBOLS.index(symbol)] = p
            rows.append(np.log(row))
    return torch.tensor(np.array(rows), dtype=torch.float32)[None]


# "the ?at" where the acoustics prefer 'c' (0.55) over 'h' (0.40) in the ambiguous frame.
THE_CAT_OR_HAT = frames_spelling(
    [
        {"t": 0.97},
        {"h": 0.97},
        {"e": 0.97},
        {"▁": 0.97},
        {"c": 0.55, "h": 0.40},
        {"a": 0.97},
        {"t": 0.97},
    ]
)


def decode_text(log_probs: torch.Tensor, **config) -> str:
    beam = voxtext.registry("decoders").create("ctc-beam", symbols=SYMBOLS, beam_size=8, **config)
    return beam.decode(log_probs, torch.tensor([log_probs.shape[1]]))[0][0].text


def test_a_word_lm_moves_the_result_to_its_preferred_word_as_alpha_grows(tmp_path):
    lm = write(tmp_path, WORD_BIGRAM)
    texts = [
        decode_text(THE_CAT_OR_HAT, lm_path=lm, lm_unit="word", alpha=alpha, beta=0.0)
        for alpha in (0.0, 0.05, 0.5, 1.0, 2.0)
    ]
    assert texts[0] == "the cat"  # the acoustics alone
    assert texts[-1] == "the hat"  # P(hat | the) = 10^-0.2 beats P(cat | the) = 10^-1.5
    switched = texts.index("the hat")
    assert all(t == "the hat" for t in texts[switched:])


def test_a_word_lm_scores_words_closed_by_a_boundary_mid_utterance(tmp_path):
    lm = write(tmp_path, WORD_BIGRAM)
    spoken = frames_spelling(
        [
            {"t": 0.97},
            {"h": 0.97},
            {"e": 0.97},
            {"▁": 0.97},
            {"c": 0.55, "h": 0.40},
            {"a": 0.97},
            {"t": 0.97},
            {"▁": 0.97},
            {"t": 0.97},
            {"h": 0.97},
            {"e": 0.97},
        ]
    )
    assert decode_text(spoken) == "the cat the"
    assert decode_text(spoken, lm_path=lm, alpha=1.0, beta=0.0) == "the hat the"


CHAR_UNIGRAM = """\\data\\
ngram 1=8

\\1-grams:
-0.5 </s>
-99 <s>
-1.0 t
-1.0 h
-1.0 e
-3.0 c
-1.0 a
-1.0 ▁

\\end\\
"""


def test_a_char_lm_moves_the_result_as_alpha_grows(tmp_path):
    lm = write(tmp_path, CHAR_UNIGRAM)
    texts = [
        decode_text(THE_CAT_OR_HAT, lm_path=lm, lm_unit="char", alpha=alpha, beta=0.0)
        for alpha in (0.0, 0.02, 0.2, 1.0)
    ]
    assert texts[0] == "the cat" and texts[-1] == "the hat"
    switched = texts.index("the hat")
    assert all(t == "the hat" for t in texts[switched:])


def test_beta_is_an_insertion_bonus_per_lm_unit(tmp_path):
    lm = write(tmp_path, CHAR_UNIGRAM)
    beam = voxtext.registry("decoders").create(
        "ctc-beam", symbols=SYMBOLS, lm_path=lm, lm_unit="char", alpha=0.0, beta=0.7
    )
    plain = voxtext.registry("decoders").create("ctc-beam", symbols=SYMBOLS)
    lengths = torch.tensor([THE_CAT_OR_HAT.shape[1]])
    with_bonus = beam.decode(THE_CAT_OR_HAT, lengths)[0][0]
    without = plain.decode(THE_CAT_OR_HAT, lengths)[0][0]
    assert with_bonus.tokens == without.tokens
    assert with_bonus.score == pytest.approx(without.score + 0.7 * len(without.tokens))


def test_a_hotword_pulls_a_near_miss_to_it():
    assert decode_text(THE_CAT_OR_HAT) == "the cat"
    assert decode_text(THE_CAT_OR_HAT, hotwords=("hat",)) == "the hat"
    assert decode_text(THE_CAT_OR_HAT, hotwords=("the hat",), hotword_bonus=0.5) == "the hat"
    # a bonus too small to overcome the acoustic margin (ln 0.55/0.40 = 0.32) changes nothing
    assert decode_text(THE_CAT_OR_HAT, hotwords=("hat",), hotword_bonuses=(0.05,)) == "the cat"


def test_a_partial_hotword_match_earns_nothing_at_the_end():
    lengths = torch.tensor([THE_CAT_OR_HAT.shape[1]])
    plain = voxtext.registry("decoders").create("ctc-beam", symbols=SYMBOLS)
    boosted = voxtext.registry("decoders").create(
        "ctc-beam", symbols=SYMBOLS, hotwords=("catalog",)
    )
    a, b = (
        plain.decode(THE_CAT_OR_HAT, lengths)[0][0],
        boosted.decode(THE_CAT_OR_HAT, lengths)[0][0],
    )
    assert a.tokens == b.tokens and b.score == pytest.approx(a.score)


def test_the_hotword_automaton_follows_failure_links_and_keeps_completed_credit():
    automaton = HotwordAutomaton(["aab", "b c"], [1.0, 2.0])
    node, change = automaton.walk(0, "aaab")  # 'aab' found after a false start
    assert node == 0 and change == pytest.approx(3.0)
    node, change = automaton.walk(0, "aax")  # broken match: credit taken back
    assert node == 0 and change == pytest.approx(0.0)
    _, change = automaton.walk(0, "b c")
    assert change == pytest.approx(6.0)
