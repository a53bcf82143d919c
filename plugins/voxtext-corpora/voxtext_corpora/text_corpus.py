"""What the labelled text corpora share: cleaning with a log, stratified splits, the cache.

A corpus reads its source into ``TextExample``s (id ``<file>:<line>``, the stripped text, the
label, ``line`` and ``source`` set) and hands them to :func:`build_text_corpus`, which

1. cleans them with ``voxtext.data.cleaning`` — empty text, non-printable text (U+FFFD from a
   decoding failure included), every copy of a text that carries more than one label, then
   repeats of a text (the first kept) — plus any drops the corpus made itself (a label that
   is not binary, a length outside the set range), and writes every dropped line with its
   reason, file, line and text to ``<out_dir>/cleaning.jsonl``;
2. optionally caps each label at the rarest label's count and takes a stratified subsample;
3. splits each label's texts into test, dev and train by a seeded hash of the text, so the
   split depends on the seed and the text, never on the order the source lists them in;
4. writes ``train.jsonl``, ``dev.jsonl``, ``test.jsonl`` in voxtext's text dataset format
   (``voxtext.data.read_text_dataset``) and, last, ``prepared.json`` with the stamp (corpus,
   config, source fingerprint) and the notes. A later ``prepare`` with the same stamp reuses
   the files; any other stamp rebuilds them.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from voxtext.data import CleaningResult, Dropped, TextExample, clean_text_dataset
from voxtext.data.validation import write_atomically
from voxtext.errors import DataError
from voxtext.protocols import CorpusSplits

SPLITS = ("train", "dev", "test")
STAMP_FILE = "prepared.json"
CLEANING_LOG = "cleaning.jsonl"
STAMP_FORMAT = 1
# Conflicting labels go before duplicate text: the other order would keep one copy of a
# conflicting text and hide the conflict.
CLEANING_STEPS = ("empty-text", "non-printable-text", "conflicting-label", "duplicate-text")
LENGTH_GROUP_NOTE = (
    "groups.length is a slice of the data by text length (short/medium/long), for per-slice "
    "reporting; it is not a demographic group of the texts' authors"
)


@dataclass(frozen=True)
class SplitSettings:
    """How the cleaned texts become splits; each corpus config carries these fields."""

    dev_fraction: float
    test_fraction: float
    seed: int
    max_examples: int | None
    balance_labels: bool = False


def check_split_settings(
    dev_fraction: float, test_fraction: float, max_examples: int | None, length_groups: Any
) -> None:
    """Raise ValueError naming the field when a corpus config's split settings cannot work."""
    for name, fraction in (("dev_fraction", dev_fraction), ("test_fraction", test_fraction)):
        if not 0 < fraction < 1:
            raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {fraction}")
    if dev_fraction + test_fraction >= 1:
        raise ValueError(
            f"dev_fraction + test_fraction must leave texts for train, got "
            f"{dev_fraction} + {test_fraction} >= 1"
        )
    if max_examples is not None and max_examples < 6:
        raise ValueError(
            f"max_examples must be at least 6 (one text per label and split), got {max_examples}"
            " — or leave it unset for every text"
        )
    if (
        len(length_groups) != 2
        or not all(isinstance(bound, int) for bound in length_groups)
        or not 0 < length_groups[0] < length_groups[1]
    ):
        raise ValueError(
            f"length_groups must be two increasing positive lengths (short < first <= medium "
            f"< second <= long), e.g. (20, 60), got {length_groups!r}"
        )


def length_group(length: int, bounds: Sequence[int]) -> str:
    """``short`` below ``bounds[0]``, ``long`` from ``bounds[1]`` on, else ``medium``."""
    if length < bounds[0]:
        return "short"
    return "medium" if length < bounds[1] else "long"


def file_fingerprint(paths: Sequence[Path]) -> dict[str, str]:
    """SHA-256 (first 16 hex digits) of each source file, by name: a changed source rebuilds."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:16] for path in paths}


def read_prepared(out_dir: Path, stamp: Mapping[str, Any]) -> CorpusSplits | None:
    """The splits in ``out_dir`` if its ``prepared.json`` has exactly this stamp, else None."""
    try:
        prepared = json.loads((out_dir / STAMP_FILE).read_text(encoding="utf-8"))
        if prepared["format"] != STAMP_FORMAT or prepared["stamp"] != json.loads(json.dumps(stamp)):
            return None
        manifests = {split: out_dir / name for split, name in prepared["manifests"].items()}
        if not all(path.is_file() for path in manifests.values()):
            return None
        notes = {**prepared["notes"], "cache": "reused"}
        return CorpusSplits(manifests=manifests, synthetic=prepared["synthetic"], notes=notes)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def build_text_corpus(
    out_dir: Path,
    examples: Sequence[TextExample],
    *,
    stamp: Mapping[str, Any],
    settings: SplitSettings,
    groups_of: Callable[[str], dict[str, str]],
    dropped_before: Sequence[tuple[Dropped, TextExample]] = (),
    notes: Mapping[str, Any] | None = None,
    synthetic: bool = False,
) -> CorpusSplits:
    """Clean, subsample, split and write ``examples``; see the module docstring.

    ``dropped_before``: what the corpus itself left out, each with the example it read, so
    that the log lists it too. ``notes``: the corpus's own facts, merged into the returned notes.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / STAMP_FILE).unlink(missing_ok=True)  # an interrupted rebuild is never reused
    cleaned = clean_text_dataset(examples, steps=CLEANING_STEPS)
    by_id = {example.id: example for example in examples}
    log = [*dropped_before, *((dropped, by_id[dropped.item_id]) for dropped in cleaned.dropped)]
    write_cleaning_log(out_dir / CLEANING_LOG, log)
    chosen = subsample(cleaned.kept, settings)
    splits = stratified_split(chosen, settings)
    manifests = {}
    for split in SPLITS:
        manifests[split] = out_dir / f"{split}.jsonl"
        write_text_jsonl(manifests[split], splits[split], groups_of)
    all_notes = {
        **dict(notes or {}),
        **cleaning_notes(examples, cleaned, log, settings, len(chosen)),
        **split_notes(splits, groups_of),
        "cleaning_log": str(out_dir / CLEANING_LOG),
    }
    prepared = {
        "format": STAMP_FORMAT,
        "stamp": stamp,
        "manifests": {split: path.name for split, path in manifests.items()},
        "synthetic": synthetic,
        "notes": all_notes,
    }
    write_atomically(out_dir / STAMP_FILE, json.dumps(prepared, indent=1, ensure_ascii=False))
    print(summary_line(str(stamp.get("corpus", "corpus")), all_notes), file=sys.stderr)
    return CorpusSplits(manifests, synthetic=synthetic, notes={**all_notes, "cache": "built"})


def write_cleaning_log(path: Path, log: Sequence[tuple[Dropped, TextExample]]) -> None:
    """One JSON line per dropped source line: CleaningResult.to_jsonl's fields (item_id,
    reason, detail) plus the file, line, label and text, so a reader need not look it up."""
    lines = []
    for dropped, example in log:
        record = {
            **asdict(dropped),
            "file": example.source.name if example.source else None,
            "line": example.line,
            "label": example.label,
            "text": example.text,
        }
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    write_atomically(path, "".join(lines))


def _order_key(example: TextExample, seed: int) -> tuple[str, str]:
    """A seeded pseudo-random order that depends only on the seed and the text."""
    digest = hashlib.sha256(f"{seed}\0{example.text}".encode()).hexdigest()
    return digest, example.id


def _by_label(examples: Sequence[TextExample], seed: int) -> dict[str, list[TextExample]]:
    """Examples per label (labels sorted), each list in the seeded order."""
    groups: dict[str, list[TextExample]] = {}
    for example in sorted(examples, key=lambda example: _order_key(example, seed)):
        groups.setdefault(str(example.label), []).append(example)
    return dict(sorted(groups.items()))


def subsample(examples: Sequence[TextExample], settings: SplitSettings) -> list[TextExample]:
    """Cap labels at the rarest one's count (``balance_labels``), then take ``max_examples``
    keeping each label's share (largest remainders get the leftover places)."""
    per_label = _by_label(examples, settings.seed)
    if settings.balance_labels and per_label:
        rarest = min(len(items) for items in per_label.values())
        per_label = {label: items[:rarest] for label, items in per_label.items()}
    total = sum(len(items) for items in per_label.values())
    if settings.max_examples is None or settings.max_examples >= total:
        return [example for items in per_label.values() for example in items]
    shares = {
        label: settings.max_examples * len(items) / total for label, items in per_label.items()
    }
    quotas = {label: int(share) for label, share in shares.items()}
    leftover = settings.max_examples - sum(quotas.values())
    by_remainder = sorted(shares, key=lambda label: (quotas[label] - shares[label], label))
    for label in by_remainder[:leftover]:
        quotas[label] += 1
    return [example for label, items in per_label.items() for example in items[: quotas[label]]]


def stratified_split(
    examples: Sequence[TextExample], settings: SplitSettings
) -> dict[str, list[TextExample]]:
    """Per label: the first ``round(n * test_fraction)`` texts in seeded order go to test, the
    next ``round(n * dev_fraction)`` to dev, the rest to train (each at least one)."""
    splits: dict[str, list[TextExample]] = {split: [] for split in SPLITS}
    for label, items in _by_label(examples, settings.seed).items():
        n_test = max(1, round(len(items) * settings.test_fraction))
        n_dev = max(1, round(len(items) * settings.dev_fraction))
        if n_test + n_dev >= len(items):
            raise DataError(
                f"label '{label}' has only {len(items)} texts after cleaning and subsampling: "
                f"too few for train, dev ({n_dev}) and test ({n_test}) — raise max_examples "
                "or give more data"
            )
        splits["test"] += items[:n_test]
        splits["dev"] += items[n_test : n_test + n_dev]
        splits["train"] += items[n_test + n_dev :]
    return {
        split: sorted(items, key=lambda example: _order_key(example, settings.seed))
        for split, items in splits.items()
    }


def write_text_jsonl(
    path: Path, examples: Sequence[TextExample], groups_of: Callable[[str], dict[str, str]]
) -> None:
    """voxtext's JSONL text dataset: id, text, label, groups (and extra when there is any)."""
    lines = []
    for example in examples:
        row: dict[str, Any] = {"id": example.id, "text": example.text, "label": example.label}
        row["groups"] = {**example.groups, **groups_of(example.text)}
        if example.extra:
            row["extra"] = dict(example.extra)
        lines.append(json.dumps(row, ensure_ascii=False) + "\n")
    write_atomically(path, "".join(lines))


def cleaning_notes(
    examples: Sequence[TextExample],
    cleaned: CleaningResult[TextExample],
    log: Sequence[tuple[Dropped, TextExample]],
    settings: SplitSettings,
    chosen: int,
) -> dict[str, Any]:
    """Counts for the model card: lines read, dropped per reason, texts kept and used."""
    conflicting = {" ".join(ex.text.split()) for d, ex in log if d.reason == "conflicting-label"}
    return {
        "dropped": dict(Counter(dropped.reason for dropped, _ in log)),
        "conflicting_texts": len(conflicting),
        "kept": len(cleaned.kept),
        "kept_per_label": dict(sorted(Counter(str(ex.label) for ex in cleaned.kept).items())),
        "used": chosen,
        "max_examples": settings.max_examples,
        "balance_labels": settings.balance_labels,
    }


def split_notes(
    splits: Mapping[str, Sequence[TextExample]], groups_of: Callable[[str], dict[str, str]]
) -> dict[str, Any]:
    """Texts per split by label, and by each group attribute's value."""
    group_counts: dict[str, dict[str, dict[str, int]]] = {}
    for split, items in splits.items():
        counts: dict[str, Counter[str]] = {}
        for example in items:
            for attribute, value in {**example.groups, **groups_of(example.text)}.items():
                counts.setdefault(attribute, Counter())[value] += 1
        group_counts[split] = {name: dict(sorted(c.items())) for name, c in counts.items()}
    return {
        "examples": {
            split: dict(sorted(Counter(str(ex.label) for ex in items).items()))
            for split, items in splits.items()
        },
        "groups": group_counts,
    }


def summary_line(corpus: str, notes: Mapping[str, Any]) -> str:
    """One line for stderr: lines read, what was dropped and why, what each split holds."""
    dropped = ", ".join(f"{count} {reason}" for reason, count in notes["dropped"].items())
    sizes = ", ".join(f"{split} {sum(c.values())}" for split, c in notes["examples"].items())
    return (
        f"{corpus}: read {notes.get('lines_read', '?')} lines, kept {notes['kept']} texts "
        f"(dropped {dropped or 'none'}; texts under both labels: {notes['conflicting_texts']}); "
        f"used {notes['used']}: {sizes} — dropped lines listed in {notes['cleaning_log']}"
    )
