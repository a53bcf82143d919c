"""Shared machinery of the data readers: collecting problems, reading lines, checking fields.

Every reader checks the whole file and reports all problems in one DataError, so a user fixes
a file in one pass rather than one error per run. A problem reads
``file:line: field 'x': what is wrong — what to do``.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from voxtext.errors import DataError

PathLike = str | os.PathLike[str]

# Bytes that are not valid UTF-8 decode to these lone surrogates under "surrogateescape",
# which lets a reader name the bad line and keep checking the others.
_ESCAPED_BYTES = range(0xDC80, 0xDD00)


class Problems:
    """The problems found in one file, each already formatted for the user."""

    def __init__(self, source: PathLike) -> None:
        self.source = str(source)
        self._found: list[tuple[int, str]] = []  # (line, message); line 0: the whole file

    def add(self, line: int | None, what: str, fix: str, field: str | None = None) -> None:
        """Record what is wrong on ``line`` (None: the whole file) and how to fix it."""
        where = self.source if line is None else f"{self.source}:{line}"
        subject = f" field '{field}':" if field else ""
        self._found.append((line or 0, f"{where}:{subject} {what} — {fix}"))

    def __len__(self) -> int:
        return len(self._found)

    @property
    def messages(self) -> list[str]:
        """The problems in file order (a stable sort: one line's problems keep their order)."""
        return [message for _, message in sorted(self._found, key=lambda found: found[0])]

    def raise_if_any(self, kind: str) -> None:
        """Raise one DataError listing every problem recorded so far, if there is any."""
        if self._found:
            count = len(self._found)
            noun = "problem" if count == 1 else "problems"
            raise DataError(f"{self.source}: {count} {noun} in this {kind}:", self.messages)


class _NumberedRow(Protocol):
    @property
    def id(self) -> str | None: ...

    @property
    def line(self) -> int: ...


RowT = TypeVar("RowT", bound=_NumberedRow)


def unique_ids(
    rows: Iterable[RowT], source: Path, problems: Problems, what: str
) -> Iterator[tuple[str, RowT]]:
    """``(id, row)`` for each row, its id defaulting to ``<file name>:<line>``; a repeated id
    is reported (naming the line that first used it) and its row left out."""
    first_line: dict[str, int] = {}
    for row in rows:
        row_id = row.id or f"{source.name}:{row.line}"
        if check_unique_id(row_id, row.line, first_line, problems, what):
            yield row_id, row


def check_unique_id(
    value: object, line: int, first_line: dict[str, int], problems: Problems, what: str
) -> bool:
    """Report ``value`` if an earlier line used it as its id (naming that line) and return
    False; otherwise remember it. A missing or malformed id is left to the field reader."""
    if not isinstance(value, str) or not value.strip():
        return True
    if value in first_line:
        problems.add(
            line,
            f"duplicate id '{value}' (first used on line {first_line[value]})",
            f"give every {what} its own id",
            "id",
        )
        return False
    first_line[value] = line
    return True


def duration_field(fields: FieldReader, *, required: bool, example: str, fix: str) -> float | None:
    """The ``duration`` field as a finite number of seconds above zero, or None after
    reporting what is wrong (a missing field is a problem only when ``required``); ``example``
    shows a good value, ``fix`` says what to do about a value of zero or less."""
    if "duration" not in fields.obj or (not required and fields.obj["duration"] is None):
        if required:
            fields.problem("duration", "missing required field", f"add {example}")
        return None
    value = fields.obj["duration"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        fields.problem("duration", f"is {json_type(value)}, expected a number", f"write {example}")
        return None
    if not math.isfinite(value) or value <= 0:
        fields.problem("duration", f"is {value}, but a duration must be more than 0 seconds", fix)
        return None
    return float(value)


def json_type(value: object) -> str:
    """Name a decoded JSON value's type the way a user who wrote the JSON would."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def read_file_text(path: Path, kind: str) -> str:
    """Return a file's text with undecodable bytes escaped; a missing or empty file is an error."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: {kind} not found — check the path") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a {kind} — give the file's path") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read the {kind}: {error.strerror}") from error
    text = raw.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    if not text.strip():
        raise DataError(f"{path}: the {kind} is empty — it needs at least one entry")
    return text


def report_undecodable(text: str, line: int, problems: Problems) -> bool:
    """Report ``text`` if it holds bytes that are not UTF-8; return whether it did."""
    for column, char in enumerate(text, start=1):
        if ord(char) in _ESCAPED_BYTES:
            byte = ord(char) - 0xDC00
            problems.add(
                line,
                f"not valid UTF-8 (byte 0x{byte:02x} at character {column})",
                "re-save the file with UTF-8 encoding",
            )
            return True
    return False


def read_json_lines(path: Path, problems: Problems, kind: str) -> list[tuple[int, dict[str, Any]]]:
    """Parse a JSON Lines file into (line number, object) pairs, reporting lines that are not.

    Blank lines are skipped. Lines with bad bytes, bad JSON, a repeated key or a value other
    than an object are reported and left out, so the caller checks only well-formed objects.
    """
    text = read_file_text(path, kind)
    if text.lstrip().startswith("["):
        raise DataError(
            f"{path}: holds a JSON array, but a {kind} is JSON Lines (one object per line) — "
            f"convert it, e.g. with: jq -c '.[]' {path} > {path.with_suffix('.jsonl')}"
        )
    rows: list[tuple[int, dict[str, Any]]] = []
    # Split on "\n" only: JSON strings may hold U+2028 and others that str.splitlines splits on.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip() or report_undecodable(line, number, problems):
            continue
        repeated: list[str] = []
        try:
            value = json.loads(line, object_pairs_hook=partial(_to_dict, repeated=repeated))
        except json.JSONDecodeError as error:
            problems.add(
                number,
                f"invalid JSON: {error.msg} at character {error.colno}",
                'write one complete JSON object per line, e.g. {"id": "a1", ...}',
            )
            continue
        for key in repeated:
            problems.add(number, "appears twice in one object", "keep only one of them", key)
        if not isinstance(value, dict):
            problems.add(
                number,
                f"the line is {json_type(value)}, not a JSON object",
                'write one JSON object per line, e.g. {"id": "a1", ...}',
            )
        elif not repeated:
            rows.append((number, value))
    return rows


def _to_dict(pairs: list[tuple[str, Any]], repeated: list[str]) -> dict[str, Any]:
    """Build a JSON object, noting keys that occur twice (json.loads keeps the last silently)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            repeated.append(key)
        result[key] = value
    return result


def report_unknown_fields(
    names: Iterable[str],
    known: Iterable[str],
    line: int,
    problems: Problems,
    *,
    noun: str = "field",
    fix: str = "put your own data under 'extra' or remove it",
) -> None:
    """Report each of ``names`` not in ``known``, suggesting the closest known name."""
    known = list(known)
    for name in names:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        problems.add(
            line,
            f"unknown {noun} (known: {', '.join(known)})",
            f"{hint}{fix}",
            name,
        )


class FieldReader:
    """Reads typed fields of one JSON object, recording each problem against its line."""

    def __init__(self, obj: Mapping[str, Any], line: int, problems: Problems) -> None:
        self.obj = obj
        self.line = line
        self.problems = problems

    def problem(self, name: str, what: str, fix: str) -> None:
        """Record a problem with field ``name`` of this object."""
        self.problems.add(self.line, what, fix, name)

    def string(
        self, name: str, example: str, *, required: bool = True, non_empty: bool = False
    ) -> str | None:
        """Return field ``name`` if it is a string; None if absent, null (optional) or wrong.

        ``example`` shows the user a valid value, e.g. ``"id": "spk1-0001"``.
        """
        if name not in self.obj or (self.obj[name] is None and not required):
            if required:
                self.problem(name, "missing required field", f"add {example}")
            return None
        value = self.obj[name]
        if not isinstance(value, str):
            self.problem(name, f"is {json_type(value)}, expected a string", f"write {example}")
            return None
        if non_empty and not value.strip():
            self.problem(name, "is empty", f"write {example}")
            return None
        return value

    def string_mapping(self, name: str, example: str) -> dict[str, str]:
        """Return optional field ``name``, an object of string values ({} when absent or wrong)."""
        value = self.obj.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(name, f"is {json_type(value)}, expected an object", f"write {example}")
            return {}
        wrong = [key for key, item in value.items() if not isinstance(item, str)]
        for key in wrong:
            self.problem(
                f"{name}.{key}",
                f"is {json_type(value[key])}, expected a string",
                f"write every value as a string, e.g. {example}",
            )
        for key in value:
            if not key.strip():
                self.problem(name, "has an empty key", "give every entry a name")
        return {} if wrong else dict(value)

    def mapping(self, name: str) -> dict[str, Any]:
        """Return optional field ``name``, any JSON object ({} when absent or not an object)."""
        value = self.obj.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(
                name, f"is {json_type(value)}, expected an object", f'write "{name}": {{...}}'
            )
            return {}
        return dict(value)


def soundfile_message(error: Exception) -> str:
    """soundfile's reason for failing, without the file name it repeats in str(error)."""
    return str(getattr(error, "error_string", error)).rstrip(".")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp makes the file private (0600); keep the old file's mode, or the usual 0644.
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
