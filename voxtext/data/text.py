"""Text classification datasets in JSON Lines or CSV/TSV, read with every row validated.

The format follows the extension: ``.jsonl`` and ``.json`` are JSON Lines (one object per
line), ``.csv`` is comma-separated and ``.tsv`` tab-separated, both with a header row.

Fields (JSON) or columns (CSV):

``text``   the text to classify (string; required).
``label``  the class (required). JSON: a string or an integer, or for multi-label data a list
           of them (``["sports", "politics"]``). CSV: a string, with ``|`` between the labels of
           a multi-label row (``sports|politics``); CSV labels stay strings, even ``3``.
``id``     optional; rows without one get ``<file name>:<line>``.
groups     JSON: a ``groups`` object of string values (``{"dialect": "yue"}``). CSV: every
           column named ``group_<attribute>``, and the columns named in ``group_columns``
           (JSON: top-level fields named there). An empty CSV cell means "no value".
extra      JSON: an ``extra`` object for the user's own data. CSV: columns named
           ``extra_<name>``. Any other field or column is reported, not silently ignored.

Multi-label: by default a file is multi-label when any JSON label is a list or any CSV label
holds ``|``; then every label of the file is a tuple. Pass ``multi_label`` to decide instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxtext.data.validation import (
    FieldReader,
    PathLike,
    Problems,
    json_type,
    read_file_text,
    read_json_lines,
    report_undecodable,
    report_unknown_fields,
    unique_ids,
)
from voxtext.errors import DataError

Label = str | int | tuple[str | int, ...]
"""One class (str or int), or the classes of a multi-label example (a tuple)."""

LABEL_SEPARATOR = "|"
GROUP_PREFIX = "group_"
EXTRA_PREFIX = "extra_"
_JSON_FIELDS = ("id", "text", "label", "groups", "extra")
_DELIMITERS = {".csv": ",", ".tsv": "\t"}
_KIND = "text dataset"


@dataclass(frozen=True)
class TextExample:
    """One row of a text dataset: the text, its label(s) and the groups of its author/source.

    ``groups`` maps a group attribute to this example's value; ``extra`` holds the user's own
    data. Treat both mappings as read-only. ``line`` and ``source`` say where the row was read
    (0 and None when made in code) and take no part in equality.
    """

    id: str
    text: str
    label: Label
    groups: Mapping[str, str] = field(default_factory=dict, hash=False)
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)
    line: int = field(default=0, compare=False)
    source: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", dict(self.groups))
        object.__setattr__(self, "extra", dict(self.extra))


@dataclass
class _Row:
    """A row whose fields passed their checks; its label is still as written in the file."""

    line: int
    id: str | None
    text: str
    label: str | int | list[str | int]
    groups: dict[str, str]
    extra: dict[str, Any]
    separator: str | None  # what splits a multi-label string label (CSV); None for JSON


def read_text_dataset(
    path: PathLike, *, group_columns: Sequence[str] = (), multi_label: bool | None = None
) -> list[TextExample]:
    """Read and validate a text classification dataset; one DataError lists every problem.

    ``group_columns`` names columns (CSV) or top-level fields (JSON) that hold group values.
    ``multi_label`` None detects it from the file (see the module docstring).
    """
    source = Path(path)
    suffix = source.suffix.lower()
    problems = Problems(source)
    if suffix in (".jsonl", ".json"):
        rows = _json_rows(source, group_columns, problems)
    elif suffix in _DELIMITERS:
        rows = _csv_rows(source, _DELIMITERS[suffix], group_columns, problems)
    else:
        raise DataError(
            f"{source}: unknown text dataset format '{suffix}' — "
            "name the file .jsonl, .json, .csv or .tsv"
        )
    if multi_label is None:
        multi_label = any(_looks_multi_label(row) for row in rows)
    examples = _examples(rows, source, multi_label, problems)
    problems.raise_if_any(_KIND)
    return examples


def _json_rows(source: Path, group_columns: Sequence[str], problems: Problems) -> list[_Row]:
    """Check each JSON object's fields and return those that passed."""
    rows = []
    for line, obj in read_json_lines(source, problems, _KIND):
        before = len(problems)
        fields = FieldReader(obj, line, problems)
        report_unknown_fields(obj, (*_JSON_FIELDS, *group_columns), line, problems)
        example_id = fields.string("id", '"id": "ex-0001"', required=False, non_empty=True)
        text = fields.string("text", '"text": "the text to classify"')
        label = _json_label(fields)
        groups = fields.string_mapping("groups", '"groups": {"dialect": "yue"}')
        for name in group_columns:
            value = fields.string(name, f'"{name}": "value"', required=False)
            if value:
                groups[name] = value
        extra = fields.mapping("extra")
        if text is not None and label is not None and len(problems) == before:
            rows.append(_Row(line, example_id, text, label, groups, extra, None))
    return rows


def _json_label(fields: FieldReader) -> str | int | list[str | int] | None:
    """Return the ``label`` field if it is a label or a non-empty list of distinct labels."""
    example = '"label": "positive" (or 3, or ["a", "b"] for several labels)'
    if "label" not in fields.obj:
        fields.problem("label", "missing required field", f"add {example}")
        return None
    value = fields.obj["label"]
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int):
            fields.problem("label", f"holds {json_type(item)}", f"write {example}")
            return None
        if isinstance(item, str) and not item.strip():
            fields.problem("label", "holds an empty label", f"write {example}")
            return None
    if not items:
        fields.problem("label", "is an empty list", "give at least one label")
        return None
    if len(set(items)) != len(items):
        fields.problem("label", "lists a label twice", "list each label once")
        return None
    return value


def _csv_rows(
    source: Path, delimiter: str, group_columns: Sequence[str], problems: Problems
) -> list[_Row]:
    """Check the header and every row of a CSV/TSV file and return the rows that passed."""
    reader = csv.reader(io.StringIO(read_file_text(source, _KIND), newline=""), delimiter=delimiter)
    rows: list[_Row] = []
    header: list[str] | None = None
    next_line = 1
    try:
        for cells in reader:
            line, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # blank row
            if any(report_undecodable(cell, line, problems) for cell in cells):
                if header is None:
                    return []  # without a header the rows cannot be read
            elif header is None:
                header = cells
                _check_header(header, group_columns, line, problems)
                if "text" not in header or "label" not in header:
                    return []
            else:
                rows.extend(_csv_row(header, cells, line, group_columns, problems))
    except csv.Error as error:
        problems.add(reader.line_num, f"malformed CSV: {error}", "fix the quoting on this line")
    return rows


def _check_header(
    header: list[str], group_columns: Sequence[str], line: int, problems: Problems
) -> None:
    """Report missing, repeated or unknown columns in a CSV header."""
    for name in ("text", "label"):
        if name not in header:
            problems.add(
                line,
                f"missing column (found: {', '.join(header)})",
                "the header row must name the columns text and label",
                name,
            )
    for name in group_columns:
        if name not in header:
            problems.add(line, "named in group_columns but not in the header", "fix the name", name)
    seen: set[str] = set()
    for name in header:
        group = name.removeprefix(GROUP_PREFIX) if name.startswith(GROUP_PREFIX) else None
        if name in seen or group in group_columns:
            problems.add(line, "repeats a column or group", "keep one column per name", name)
        seen.add(name)
    other = [name for name in header if not name.startswith((GROUP_PREFIX, EXTRA_PREFIX))]
    report_unknown_fields(
        other,
        ("id", "text", "label", *group_columns),
        line,
        problems,
        noun="column",
        fix=f"prefix it with '{GROUP_PREFIX}' (a group) or '{EXTRA_PREFIX}' (your own data)",
    )


def _csv_row(
    header: list[str], cells: list[str], line: int, group_columns: Sequence[str], problems: Problems
) -> list[_Row]:
    """Return the row as a _Row (a list of one), or record its problems and return []."""
    if len(cells) != len(header):
        problems.add(
            line,
            f"the row has {len(cells)} cells but the header has {len(header)}",
            "quote cells that hold the delimiter",
        )
        return []
    row = dict(zip(header, cells, strict=True))
    if not row["label"].strip():
        problems.add(line, "is empty", "give the row a label", "label")
        return []
    groups: dict[str, str] = {}
    extra: dict[str, Any] = {}
    for name, value in row.items():
        if name.startswith(GROUP_PREFIX) and value:
            groups[name.removeprefix(GROUP_PREFIX)] = value
        elif name in group_columns and value:
            groups[name] = value
        elif name.startswith(EXTRA_PREFIX):
            extra[name.removeprefix(EXTRA_PREFIX)] = value
    example_id = row.get("id") or None
    return [_Row(line, example_id, row["text"], row["label"], groups, extra, LABEL_SEPARATOR)]


def _looks_multi_label(row: _Row) -> bool:
    """Whether the row's label, as written, names several labels."""
    if isinstance(row.label, list):
        return True
    return row.separator is not None and isinstance(row.label, str) and row.separator in row.label


def _examples(
    rows: list[_Row], source: Path, multi_label: bool, problems: Problems
) -> list[TextExample]:
    """Turn checked rows into examples: settle ids and label form, report duplicate ids."""
    examples = []
    for example_id, row in unique_ids(rows, source, problems, "example"):
        label = _final_label(row, multi_label, problems)
        if label is not None:
            examples.append(
                TextExample(
                    example_id, row.text, label, row.groups, row.extra, row.line, source.absolute()
                )
            )
    return examples


def _final_label(row: _Row, multi_label: bool, problems: Problems) -> Label | None:
    """The row's label as the dataset holds it: a tuple when multi-label, else a single label."""
    if isinstance(row.label, list):
        if multi_label:
            return tuple(row.label)
        problems.add(
            row.line,
            "is a list, but multi_label=False",
            "give one label, or read the file with multi_label=True",
            "label",
        )
        return None
    if not multi_label:
        return row.label
    if isinstance(row.label, int) or row.separator is None:
        return (row.label,)
    parts = [part.strip() for part in row.label.split(row.separator)]
    if not all(parts) or len(set(parts)) != len(parts):
        problems.add(
            row.line,
            f"'{row.label}' has an empty or repeated label between '{row.separator}'",
            f"write distinct labels separated by '{row.separator}', e.g. a{row.separator}b",
            "label",
        )
        return None
    return tuple(parts)
