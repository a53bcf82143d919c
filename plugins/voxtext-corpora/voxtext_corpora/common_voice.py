"""Convert a Common Voice layout to voxtext manifests.

A Common Voice release folder holds ``train.tsv``, ``dev.tsv`` and ``test.tsv`` (tab-separated,
with a header: ``client_id  path  sentence  up_votes  down_votes  age  gender  accent(s)
locale  segment ...``) and the audio in ``clips/``. Each row becomes an utterance: id from the
clip's file name, speaker ``client_id``, text ``sentence`` as written, duration from the audio
header, groups ``dialect`` (the accent column), ``gender`` and ``language`` (``locale``). A
blank accent or gender becomes "unspecified": in Common Voice most speakers leave them blank,
and a report should show how the model does for them rather than silently drop them.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Mapping
from pathlib import Path

from voxtext.data import Utterance
from voxtext_corpora.problems import ProblemList, audio_seconds

REQUIRED_COLUMNS = ("client_id", "path", "sentence")
ACCENT_COLUMNS = ("accents", "accent")  # newer releases write "accents", older "accent"
UNSPECIFIED = "unspecified"
# Common Voice's gender answers over the years; anything else is kept as written.
GENDERS = {"male": "m", "male_masculine": "m", "female": "f", "female_feminine": "f"}


def convert_common_voice(
    folder: Path, split_files: Mapping[str, str], dialect_column: str | None
) -> dict[str, list[Utterance]]:
    """Utterances per split from ``folder``'s TSV files; one DataError lists every problem."""
    problems = ProblemList()
    splits = {}
    for split, name in split_files.items():
        tsv = folder / name
        if not tsv.is_file():
            problems.add(str(tsv), "file not found", f"a Common Voice folder has {name}")
            continue
        splits[split] = read_common_voice_tsv(tsv, folder / "clips", dialect_column, problems)
    problems.raise_if_any(f"Common Voice folder {folder}")
    return splits


def read_common_voice_tsv(
    tsv: Path, clips: Path, dialect_column: str | None, problems: ProblemList
) -> list[Utterance]:
    """The utterances of one Common Voice TSV file (problems go to ``problems``)."""
    # Sentences hold quotes of every kind; Common Voice writes no CSV quoting, so read none.
    csv.field_size_limit(sys.maxsize)
    with tsv.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        columns = rows.fieldnames or []
        accent = _accent_column(tsv, list(columns), dialect_column, problems)
        missing = [column for column in REQUIRED_COLUMNS if column not in columns]
        if missing or accent is False:
            if missing:
                problems.add(
                    f"{tsv}:1",
                    f"the header lacks columns {missing} (it has {columns})",
                    "give the file Common Voice's header row, tab-separated",
                )
            return []
        utterances: list[Utterance] = []
        seen: dict[str, int] = {}
        for line, row in enumerate(rows, start=2):
            utterance = _row_utterance(row, f"{tsv}:{line}", clips, accent, problems)
            if utterance is None:
                continue
            if utterance.id in seen:
                problems.add(
                    f"{tsv}:{line}",
                    f"clip {row['path']} is listed twice (first on line {seen[utterance.id]})",
                    "remove one of the lines",
                    "path",
                )
                continue
            seen[utterance.id] = line
            utterances.append(utterance)
    return utterances


def _accent_column(
    tsv: Path, columns: list[str], chosen: str | None, problems: ProblemList
) -> str | bool | None:
    """The column holding the dialect: ``chosen`` if set (False if absent), else the first of
    ``accents``/``accent`` present, else None (every utterance's dialect is unspecified)."""
    if chosen is None:
        return next((column for column in ACCENT_COLUMNS if column in columns), None)
    if chosen not in columns:
        problems.add(
            f"{tsv}:1",
            f"dialect_column '{chosen}' is not a column (columns: {columns})",
            "set dialect_column to one of them, or leave it unset to use 'accents'/'accent'",
        )
        return False
    return chosen


def _row_utterance(
    row: Mapping[str, str | None],
    where: str,
    clips: Path,
    accent: str | bool | None,
    problems: ProblemList,
) -> Utterance | None:
    """One TSV row as an Utterance, or None after recording what is wrong with it."""
    values = {key: (value or "").strip() for key, value in row.items() if key is not None}
    for column in REQUIRED_COLUMNS:
        if not values.get(column):
            problems.add(where, "is empty", f"fill in '{column}' or remove the line", column)
            return None
    audio = clips / values["path"]
    duration = audio_seconds(audio, where, "path", problems)
    if duration is None:
        return None
    gender = values.get("gender", "")
    groups = {
        "dialect": (values.get(accent, "") if isinstance(accent, str) else "") or UNSPECIFIED,
        "gender": GENDERS.get(gender, gender) or UNSPECIFIED,
    }
    if values.get("locale"):
        groups["language"] = values["locale"]
    return Utterance(
        id=Path(values["path"]).stem,
        audio=audio,
        text=values["sentence"],
        duration=duration,
        speaker=values["client_id"],
        groups=groups,
    )
