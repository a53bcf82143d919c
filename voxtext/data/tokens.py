"""Token classification (NER) datasets in JSON Lines or CoNLL-style text, every line validated.

The format follows the extension:

``.jsonl`` / ``.json``  JSON Lines, one sentence per line::

    {"id": "s1", "tokens": ["anna", "flew", "to", "new", "york"],
     "tags": ["B-PER", "O", "O", "B-LOC", "I-LOC"], "groups": {"domain": "travel"}}

    ``tokens`` and ``tags`` are required lists of strings of the same length; ``id`` is
    optional (default ``<file name>:<line>``); ``groups`` is an object of string values (the
    groups of the sentence's author or source, for per-group metrics); ``extra`` holds the
    user's own data. Any other field is reported.

``.conll`` / ``.txt`` / ``.bio``  one token per line: the token in the first column, the tag in
    the last, columns separated by whitespace; a blank line ends a sentence; ``-DOCSTART-``
    lines are skipped. Columns in between (CoNLL-2003's part of speech and chunk tags) are
    kept per token in ``extra["columns"]``. Every token line must have as many columns as the
    first one, which catches a token with a space inside. A sentence's id is
    ``<file name>:<line of its first token>``.

Tags are ``O`` or ``B-``, ``I-``, ``E-`` or ``S-`` followed by an entity type (BIO, IOB1 and
IOBES all fit); anything else is reported, since a metric would otherwise misread it.
"""

from __future__ import annotations

import re
from collections import Counter
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

OUTSIDE = "O"
TAG_PREFIXES = ("B", "I", "E", "S")
_TAG = re.compile(r"([BIES])-(\S+)")
_JSON_SUFFIXES = (".jsonl", ".json")
_CONLL_SUFFIXES = (".conll", ".txt", ".bio")
_JSON_FIELDS = ("id", "tokens", "tags", "groups", "extra")
_DOCSTART = "-DOCSTART-"
_KIND = "token dataset"
_TAG_FIX = 'write O, or B-, I-, E- or S- and the entity type, e.g. "B-PER"'
_SHOWN = 5  # bad items named in one problem; the count says how many more


def split_tag(tag: str) -> tuple[str, str] | None:
    """Split a tag into (prefix, entity type): ``("O", "")`` for O, ``("B", "PER")`` for
    ``B-PER``; None when ``tag`` is not O or a B-/I-/E-/S- tag with a type."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    match = _TAG.fullmatch(tag)
    return (match[1], match[2]) if match else None


@dataclass(frozen=True)
class TokenExample:
    """One sentence of a token classification dataset: its tokens and one tag per token.

    ``groups`` maps a group attribute to this sentence's value; ``extra`` holds the user's own
    data (CoNLL files: the middle columns). Treat both mappings as read-only. ``line`` and
    ``source`` say where the sentence was read (0 and None when made in code) and take no
    part in equality.
    """

    id: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    groups: Mapping[str, str] = field(default_factory=dict, hash=False)
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)
    line: int = field(default=0, compare=False)
    source: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tokens", tuple(self.tokens))
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "groups", dict(self.groups))
        object.__setattr__(self, "extra", dict(self.extra))
        if len(self.tokens) != len(self.tags):
            raise ValueError(
                f"example {self.id!r}: {len(self.tokens)} tokens but {len(self.tags)} tags — "
                "give one tag per token"
            )


@dataclass
class _Row:
    """A sentence whose fields passed their checks."""

    line: int
    id: str | None
    tokens: list[str]
    tags: list[str]
    groups: dict[str, str]
    extra: dict[str, Any]


def read_token_dataset(path: PathLike) -> list[TokenExample]:
    """Read and validate a token classification dataset; one DataError lists every problem."""
    source = Path(path)
    suffix = source.suffix.lower()
    problems = Problems(source)
    if suffix in _JSON_SUFFIXES:
        rows = _json_rows(source, problems)
    elif suffix in _CONLL_SUFFIXES:
        rows = _conll_rows(source, problems)
    else:
        raise DataError(
            f"{source}: unknown token dataset format '{suffix}' — name the file .jsonl or .json "
            "(JSON Lines), or .conll, .txt or .bio (one token and its tag per line)"
        )
    examples = _examples(rows, source, problems)
    problems.raise_if_any(_KIND)
    if not examples:
        raise DataError(f"{source}: holds no sentences — add at least one token and its tag")
    return examples


# -- JSON Lines -------------------------------------------------------------------------------
def _json_rows(source: Path, problems: Problems) -> list[_Row]:
    """Check each JSON object's fields and return the sentences that passed."""
    rows = []
    for line, obj in read_json_lines(source, problems, _KIND):
        before = len(problems)
        fields = FieldReader(obj, line, problems)
        report_unknown_fields(obj, _JSON_FIELDS, line, problems)
        example_id = fields.string("id", '"id": "s-0001"', required=False, non_empty=True)
        tokens = _string_list(fields, "tokens", '"tokens": ["anna", "flew", "home"]')
        tags = _string_list(fields, "tags", '"tags": ["B-PER", "O", "O"]')
        if tokens is not None and tags is not None:
            _check_sentence(tokens, tags, fields)
        groups = fields.string_mapping("groups", '"groups": {"domain": "news"}')
        extra = fields.mapping("extra")
        if tokens is not None and tags is not None and len(problems) == before:
            rows.append(_Row(line, example_id, tokens, tags, groups, extra))
    return rows


def _string_list(fields: FieldReader, name: str, example: str) -> list[str] | None:
    """Return field ``name`` if it is a list of strings; record what is wrong otherwise."""
    if name not in fields.obj:
        fields.problem(name, "missing required field", f"add {example}")
        return None
    value = fields.obj[name]
    if not isinstance(value, list):
        fields.problem(
            name, f"is {json_type(value)}, expected a list of strings", f"write {example}"
        )
        return None
    wrong = [(index, item) for index, item in enumerate(value) if not isinstance(item, str)]
    if wrong:
        named = ", ".join(f"[{index}] is {json_type(item)}" for index, item in wrong[:_SHOWN])
        fields.problem(
            name, f"holds items that are not strings: {_more(named, wrong)}", f"write {example}"
        )
        return None
    return list(value)


def _check_sentence(tokens: list[str], tags: list[str], fields: FieldReader) -> None:
    """Report an empty sentence, blank tokens, a length mismatch and tags that are not tags."""
    if not tokens:
        fields.problem("tokens", "is empty: a sentence needs at least one token", "remove the line")
        return
    blank = [index for index, token in enumerate(tokens) if not token.strip()]
    if blank:
        named = ", ".join(f"[{index}]" for index in blank[:_SHOWN])
        fields.problem(
            "tokens", f"holds empty tokens: {_more(named, blank)}", "remove them or fill them in"
        )
    if len(tags) != len(tokens):
        fields.problem(
            "tags",
            f"has {len(tags)} tags but 'tokens' has {len(tokens)}",
            "give exactly one tag per token",
        )
    bad = [(index, tag) for index, tag in enumerate(tags) if split_tag(tag) is None]
    if bad:
        named = ", ".join(f"[{index}] {tag!r}" for index, tag in bad[:_SHOWN])
        fields.problem(
            "tags", f"holds tags that are not entity tags: {_more(named, bad)}", _TAG_FIX
        )


def _more(named: str, items: Sequence[object]) -> str:
    """``named`` plus how many items it left out."""
    extra = len(items) - _SHOWN
    return f"{named} and {extra} more" if extra > 0 else named


# -- CoNLL-style text -------------------------------------------------------------------------
_TokenLine = tuple[int, str, list[str]]  # (line number, the line as written, its columns)


def _conll_rows(source: Path, problems: Problems) -> list[_Row]:
    """Split the file into sentences at blank and -DOCSTART- lines, checking every token line."""
    sentences = _conll_sentences(read_file_text(source, _KIND))
    # Judge column counts against the usual one, so a single odd line is the one reported.
    counts = Counter(len(columns) for lines in sentences for _, _, columns in lines)
    usual = max((count for count in counts if count >= 2), key=lambda c: (counts[c], -c), default=2)
    rows = []
    for lines in sentences:
        checked = [_check_token_line(line, usual, problems) for line in lines]
        if all(checked):
            rows.append(_conll_sentence([columns for _, _, columns in lines], lines[0][0]))
    return rows


def _conll_sentences(text: str) -> list[list[_TokenLine]]:
    """The token lines of each sentence; blank and -DOCSTART- lines end a sentence."""
    sentences: list[list[_TokenLine]] = []
    current: list[_TokenLine] = []
    # Split on "\n" only, like read_json_lines, so line numbers match what an editor shows;
    # the sentinel "" ends the last sentence.
    for number, raw in enumerate([*text.split("\n"), ""], start=1):
        columns = raw.split()
        if columns and columns[0] != _DOCSTART:
            current.append((number, raw, columns))
        elif current:
            sentences.append(current)
            current = []
    return sentences


def _check_token_line(token_line: _TokenLine, usual: int, problems: Problems) -> bool:
    """Report what is wrong with one token line; return whether it is fine."""
    number, raw, columns = token_line
    if report_undecodable(raw, number, problems):
        return False
    if len(columns) < 2:
        problems.add(
            number,
            f"holds one column ({columns[0]!r}), but a token line needs the token and its tag",
            "write the token, whitespace, then its tag, e.g. 'york I-LOC'",
        )
        return False
    if len(columns) != usual:
        problems.add(
            number,
            f"has {len(columns)} columns but the other token lines have {usual}",
            "give every token line the same columns (a token with a space inside splits in two)",
        )
        return False
    if split_tag(columns[-1]) is None:
        problems.add(number, f"{columns[-1]!r} is not an entity tag", _TAG_FIX, "tag")
        return False
    return True


def _conll_sentence(sentence: list[list[str]], line: int) -> _Row:
    """A _Row from a sentence's checked token lines; middle columns go to extra["columns"]."""
    tokens = [columns[0] for columns in sentence]
    tags = [columns[-1] for columns in sentence]
    middle = [columns[1:-1] for columns in sentence]
    extra: dict[str, Any] = {"columns": middle} if any(middle) else {}
    return _Row(line, None, tokens, tags, {}, extra)


# -- both formats -----------------------------------------------------------------------------
def _examples(rows: list[_Row], source: Path, problems: Problems) -> list[TokenExample]:
    """Turn checked rows into examples: default ids, report duplicate ids."""
    return [
        TokenExample(
            example_id,
            tuple(row.tokens),
            tuple(row.tags),
            row.groups,
            row.extra,
            row.line,
            source.absolute(),
        )
        for example_id, row in unique_ids(rows, source, problems, "sentence")
    ]
