"""Token classification (NER) datasets in JSON Lines and CoNLL text: reading and validation,
and the synthetic NER set of voxtext.testing."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from voxtext.data import TokenExample, read_token_dataset
from voxtext.errors import DataError
from voxtext.testing import write_ner_dataset
from voxtext.text.metrics import bio_spans, entity_metrics


def write(tmp_path: Path, name: str, lines: list[object]) -> Path:
    raw = b""
    for line in lines:
        if isinstance(line, dict):
            line = json.dumps(line)
        raw += (line.encode() if isinstance(line, str) else line) + b"\n"
    path = tmp_path / name
    path.write_bytes(raw)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(DataError) as caught:
        read_token_dataset(path)
    return caught.value.problems


def assert_problems(path: Path, problems: list[str], expected: dict[int, str]) -> None:
    """Exactly one problem per expected line, starting with ``file:line`` and the message."""
    assert len(problems) == len(expected), "\n".join(problems)
    for line, message in expected.items():
        prefix = f"{path}:{line}{message}"
        assert sum(p.startswith(prefix) for p in problems) == 1, (prefix, problems)


# -- JSON Lines -------------------------------------------------------------------------------
def test_reads_jsonl_with_groups_extra_and_generated_ids(tmp_path):
    path = write(
        tmp_path,
        "train.jsonl",
        [
            {
                "id": "s1",
                "tokens": ["anna", "flew", "to", "new", "york"],
                "tags": ["B-PER", "O", "O", "B-LOC", "I-LOC"],
                "groups": {"domain": "travel"},
            },
            "",
            {"tokens": ["acme", "hired", "bo"], "tags": ["S-ORG", "O", "S-PER"], "extra": {"a": 1}},
        ],
    )

    first, second = read_token_dataset(path)

    assert first == TokenExample(
        "s1",
        ("anna", "flew", "to", "new", "york"),
        ("B-PER", "O", "O", "B-LOC", "I-LOC"),
        {"domain": "travel"},
    )
    assert (first.line, first.source) == (1, path)
    assert second.id == "train.jsonl:3"
    assert second.tags == ("S-ORG", "O", "S-PER")
    assert second.extra == {"a": 1}
    assert second.groups == {}


def test_jsonl_reports_every_problem_with_its_line(tmp_path):
    path = write(
        tmp_path,
        "bad.jsonl",
        [
            {"tokens": ["a", "b"], "tags": ["O"]},
            {"tokens": [], "tags": []},
            {"tokens": ["a", 3, None], "tags": ["O", "O", "O"]},
            {"tokens": ["a", "b"], "tags": ["PER", "b-loc"]},
            {"tokens": ["a"], "tags": ["O"], "label": "x"},
            {"tags": ["O"]},
            {"tokens": "a b", "tags": ["O", "O"]},
            {"tokens": ["a", " "], "tags": ["O", "O"]},
            {"id": "dup", "tokens": ["a"], "tags": ["O"]},
            {"id": "dup", "tokens": ["b"], "tags": ["O"]},
            "not json",
            {"tokens": ["a"], "tags": ["O"], "groups": {"domain": 1}},
        ],
    )

    problems = problems_of(path)

    assert_problems(
        path,
        problems,
        {
            1: ": field 'tags': has 1 tags but 'tokens' has 2",
            2: ": field 'tokens': is empty: a sentence needs at least one token",
            3: ": field 'tokens': holds items that are not strings: [1] is a number, [2] is null",
            4: ": field 'tags': holds tags that are not entity tags: [0] 'PER', [1] 'b-loc'",
            5: ": field 'label': unknown field",
            6: ": field 'tokens': missing required field",
            7: ": field 'tokens': is a string, expected a list of strings",
            8: ": field 'tokens': holds empty tokens: [1]",
            10: ": field 'id': duplicate id 'dup' (first used on line 9)",
            11: ": invalid JSON",
            12: ": field 'groups.domain': is a number, expected a string",
        },
    )


def test_bad_tags_message_says_what_a_tag_looks_like(tmp_path):
    path = write(tmp_path, "d.jsonl", [{"tokens": ["a"], "tags": ["PER"]}])

    with pytest.raises(DataError) as caught:
        read_token_dataset(path)

    assert 'write O, or B-, I-, E- or S- and the entity type, e.g. "B-PER"' in str(caught.value)
    assert "1 problem in this token dataset" in str(caught.value)


def test_many_bad_items_are_counted_not_all_listed(tmp_path):
    path = write(tmp_path, "d.jsonl", [{"tokens": list("abcdefgh"), "tags": ["X"] * 8}])

    (problem,) = problems_of(path)

    assert "[4] 'X' and 3 more" in problem


# -- CoNLL text -------------------------------------------------------------------------------
CONLL = """\
-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER
"""


def test_reads_conll_keeping_middle_columns(tmp_path):
    path = tmp_path / "train.conll"
    path.write_text(CONLL, encoding="utf-8")

    first, second = read_token_dataset(path)

    assert first.id == "train.conll:3"
    assert first.tokens == ("EU", "rejects", "German")
    assert first.tags == ("B-ORG", "O", "B-MISC")
    assert first.extra == {"columns": [["NNP", "B-NP"], ["VBZ", "B-VP"], ["JJ", "B-NP"]]}
    assert (second.id, second.line) == ("train.conll:7", 7)
    assert second.tags == ("B-PER", "I-PER")


@pytest.mark.parametrize("suffix", [".txt", ".bio", ".CONLL"])
def test_two_column_files_with_other_suffixes_tabs_and_crlf(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    path.write_bytes(b"new\tB-LOC\r\nyork\tI-LOC\r\n\r\n\r\nhi\tO\r\n")

    first, second = read_token_dataset(path)

    assert first.tokens == ("new", "york")
    assert first.extra == {}
    assert (second.tokens, second.tags, second.line) == (("hi",), ("O",), 5)


def test_conll_reports_every_problem_with_its_line(tmp_path):
    path = write(
        tmp_path,
        "bad.conll",
        [
            "anna B-PER",
            "flew",  # one column
            "to O",
            "",
            "new york B-LOC",  # a token with a space: three columns where the others have two
            "paris LOC",  # not a tag
            "",
            b"caf\xe9 O",  # not UTF-8
            "ok O",
        ],
    )

    problems = problems_of(path)

    assert_problems(
        path,
        problems,
        {
            2: ": holds one column ('flew'), but a token line needs the token and its tag",
            5: ": has 3 columns but the other token lines have 2",
            6: ": field 'tag': 'LOC' is not an entity tag",
            8: ": not valid UTF-8 (byte 0xe9 at character 4)",
        },
    )


def test_conll_file_with_only_docstart_has_no_sentences(tmp_path):
    path = write(tmp_path, "empty.conll", ["-DOCSTART- O", ""])

    with pytest.raises(DataError, match="holds no sentences"):
        read_token_dataset(path)


def test_unknown_suffix_and_missing_file_are_clear(tmp_path):
    with pytest.raises(DataError, match=r"unknown token dataset format '\.csv'.*\.jsonl"):
        read_token_dataset(tmp_path / "data.csv")
    with pytest.raises(DataError, match="token dataset not found"):
        read_token_dataset(tmp_path / "missing.jsonl")


def test_token_example_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="2 tokens but 1 tags"):
        TokenExample("x", ("a", "b"), ("O",))


# -- the synthetic NER set --------------------------------------------------------------------
def test_write_ner_dataset_is_read_back_and_deterministic(tmp_path):
    path = write_ner_dataset(tmp_path / "sub" / "ner.jsonl", 200, seed=3)

    examples = read_token_dataset(path)
    again = read_token_dataset(write_ner_dataset(tmp_path / "again.jsonl", 200, seed=3))
    other = read_token_dataset(write_ner_dataset(tmp_path / "other.jsonl", 200, seed=4))

    assert len(examples) == 200
    assert examples == again
    assert examples != other
    spans = [bio_spans(example.tags) for example in examples]
    types = Counter(kind for sentence in spans for kind, _, _ in sentence)
    assert set(types) == {"PER", "LOC", "ORG"}
    assert min(types.values()) > 50
    assert any(end - start > 1 for sentence in spans for _, start, end in sentence)
    without_entities = sum(not sentence for sentence in spans)
    assert 0.1 < without_entities / len(examples) < 0.45
    assert all(token == token.lower() for example in examples for token in example.tokens)
    assert {example.groups["topic"] for example in examples} == {
        "travel",
        "business",
        "people",
        "other",
    }


def test_write_ner_dataset_is_learnable_from_a_few_hundred_sentences(tmp_path):
    """A word -> most frequent tag lookup trained on 300 sentences tags a fresh set well,
    because names recur and no word is both part of a name and a context word."""
    train = read_token_dataset(write_ner_dataset(tmp_path / "train.jsonl", 300, seed=0))
    test = read_token_dataset(write_ner_dataset(tmp_path / "test.jsonl", 100, seed=1))
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for example in train:
        for token, tag in zip(example.tokens, example.tags, strict=True):
            counts[token][tag] += 1

    predicted = [
        [counts[token].most_common(1)[0][0] if token in counts else "O" for token in ex.tokens]
        for ex in test
    ]
    metrics = entity_metrics([list(ex.tags) for ex in test], predicted)

    assert all(len(tags) == 1 for tags in counts.values())  # every word has one tag
    assert metrics.f1 > 0.9
    nothing = [["O"] * len(example.tags) for example in test]
    assert entity_metrics([list(ex.tags) for ex in test], nothing).f1 == 0.0  # the "O" baseline
