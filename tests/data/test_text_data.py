"""Text classification datasets in JSON Lines and CSV/TSV: reading and validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voxtext.data import TextExample, read_text_dataset
from voxtext.errors import DataError


def write(tmp_path: Path, name: str, lines: list[object]) -> Path:
    raw = b""
    for line in lines:
        if isinstance(line, dict):
            line = json.dumps(line)
        raw += (line.encode() if isinstance(line, str) else line) + b"\n"
    path = tmp_path / name
    path.write_bytes(raw)
    return path


def problems_of(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(DataError) as caught:
        read_text_dataset(path, **kwargs)
    return caught.value.problems


def assert_problems(path: Path, problems: list[str], expected: dict[int, str]) -> None:
    """Exactly one problem per expected line, starting with ``file:line`` and the message."""
    assert len(problems) == len(expected), "\n".join(problems)
    for line, message in expected.items():
        prefix = f"{path}:{line}{message}"
        assert sum(p.startswith(prefix) for p in problems) == 1, (prefix, problems)


def test_reads_jsonl_with_groups_extra_and_generated_ids(tmp_path):
    path = write(
        tmp_path,
        "train.jsonl",
        [
            {"id": "a", "text": "great film", "label": "pos", "groups": {"dialect": "yue"}},
            "",
            {"text": "dull", "label": 0, "extra": {"source": "web"}},
        ],
    )

    first, second = read_text_dataset(path)

    assert first == TextExample("a", "great film", "pos", {"dialect": "yue"})
    assert (first.line, first.source) == (1, path)
    assert second.id == "train.jsonl:3"
    assert second.label == 0
    assert second.extra == {"source": "web"}


def test_jsonl_lists_make_the_dataset_multi_label(tmp_path):
    path = write(
        tmp_path,
        "d.jsonl",
        [
            {"text": "goal!", "label": ["sports"]},
            {"text": "vote", "label": "politics"},
            {"text": "a|b is not split in JSON", "label": "x|y"},
        ],
    )

    assert [e.label for e in read_text_dataset(path)] == [("sports",), ("politics",), ("x|y",)]
    assert "multi_label=False" in problems_of(path, multi_label=False)[0]


def test_group_columns_name_top_level_json_fields(tmp_path):
    path = write(tmp_path, "d.json", [{"text": "t", "label": "l", "dialect": "yue"}])

    assert read_text_dataset(path, group_columns=["dialect"])[0].groups == {"dialect": "yue"}
    assert "unknown field" in problems_of(path)[0]


def test_every_bad_jsonl_line_is_listed_in_one_error(tmp_path):
    lines = [
        {"id": "a", "text": "ok", "label": "pos"},  # 1
        '{"text": "unclosed"',  # 2
        {"label": "pos"},  # 3
        {"text": "no label"},  # 4
        {"text": 42, "label": "pos"},  # 5
        {"text": "t", "label": True},  # 6
        {"id": "a", "text": "again", "label": "neg"},  # 7
        b'{"text": "na\xefve", "label": "pos"}',  # 8
        {"text": "t", "label": "pos", "lable": "x"},  # 9
        {"text": "t", "label": "pos", "groups": {"age": 3}},  # 10
        {"text": "t", "label": []},  # 11
        {"text": "t", "label": ["a", "a"]},  # 12
        {"id": 7, "text": "t", "label": "pos"},  # 13
        "null",  # 14
        {"text": "last", "label": "neg"},  # 15
    ]
    path = write(tmp_path, "d.jsonl", lines)

    assert_problems(
        path,
        problems_of(path),
        {
            2: ": invalid JSON",
            3: ": field 'text': missing required field",
            4: ": field 'label': missing required field",
            5: ": field 'text': is a number, expected a string",
            6: ": field 'label': holds a boolean",
            7: ": field 'id': duplicate id 'a' (first used on line 1)",
            8: ": not valid UTF-8 (byte 0xef",
            9: ": field 'lable': unknown field",
            10: ": field 'groups.age': is a number, expected a string",
            11: ": field 'label': is an empty list",
            12: ": field 'label': lists a label twice",
            13: ": field 'id': is a number, expected a string",
            14: ": the line is null, not a JSON object",
        },
    )


def test_reads_csv_with_group_and_extra_columns(tmp_path):
    path = write(
        tmp_path,
        "d.csv",
        [
            "id,text,label,group_dialect,region,extra_url",
            'x1,"hello, world",greeting,yue,north,http://a',
            "x2,bye,farewell,,south,",
            'x3,"two\nlines",note,,east,',
            "x4,after,note,,east,",
        ],
    )

    first, second, third, fourth = read_text_dataset(path, group_columns=["region"])

    assert first == TextExample(
        "x1", "hello, world", "greeting", {"dialect": "yue", "region": "north"}, {"url": "http://a"}
    )
    assert second.groups == {"region": "south"}  # an empty cell is no value
    assert (third.text, third.line, fourth.line) == ("two\nlines", 4, 6)


def test_csv_labels_with_a_bar_are_multi_label_unless_told_otherwise(tmp_path):
    path = write(tmp_path, "d.tsv", ["text\tlabel", "goal\tsports|news", "vote\tpolitics"])

    assert [e.label for e in read_text_dataset(path)] == [("sports", "news"), ("politics",)]
    assert [e.label for e in read_text_dataset(path, multi_label=False)] == [
        "sports|news",
        "politics",
    ]


def test_a_csv_header_without_text_or_label_stops_with_both_named(tmp_path):
    path = write(tmp_path, "d.csv", ["sentence,labels,group_x", "hi,greet,1"])

    problems = problems_of(path)
    assert [p.split(" — ")[0] for p in problems] == [
        f"{path}:1: field 'text': missing column (found: sentence, labels, group_x)",
        f"{path}:1: field 'label': missing column (found: sentence, labels, group_x)",
        f"{path}:1: field 'sentence': unknown column (known: id, text, label)",
        f"{path}:1: field 'labels': unknown column (known: id, text, label)",
    ]
    assert "did you mean 'label'?" in problems[3]


def test_every_bad_csv_row_is_listed_in_one_error(tmp_path):
    lines = [
        b"id,text,label,colour",  # 1
        b"a,fine,pos,red",  # 2
        b"b,too,many,cells,here",  # 3
        b"c,no label,,blue",  # 4
        b"a,same id,neg,red",  # 5
        b"d,caf\xe9,pos,red",  # 6
        b'e,"spans',  # 7
        b'two lines",neg,red',  # 8
        b"f,bad multi,a||b,red",  # 9
        b"",  # 10
        b"g,last,neg,red",  # 11
    ]
    path = write(tmp_path, "d.csv", lines)

    problems = problems_of(path, group_columns=["shape"])
    expected = [
        f"{path}:1: field 'shape': named in group_columns but not in the header",
        f"{path}:1: field 'colour': unknown column",
        f"{path}:3: the row has 5 cells but the header has 4",
        f"{path}:4: field 'label': is empty",
        f"{path}:5: field 'id': duplicate id 'a' (first used on line 2)",
        f"{path}:6: not valid UTF-8 (byte 0xe9",
        f"{path}:9: field 'label': 'a||b' has an empty or repeated label",
    ]
    assert len(problems) == len(expected), "\n".join(problems)
    for problem, prefix in zip(problems, expected, strict=True):
        assert problem.startswith(prefix), (problem, prefix)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("d.txt", b"text,label\n", "unknown text dataset format '.txt'"),
        ("d.csv", b"\n\n", "is empty"),
        ("d.jsonl", b"", "is empty"),
        ("d.json", b'[{"text": "t", "label": 1}]', "holds a JSON array"),
    ],
)
def test_unreadable_datasets_are_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(DataError, match=message):
        read_text_dataset(path)
