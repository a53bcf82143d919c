"""Cleaning steps that never drop silently: every item left out is listed with a reason.

Each step takes a list of items (Utterance or TextExample) and returns a CleaningResult:
the items kept, in order, and one Dropped record per item left out. Reasons:

``duplicate-id``        an earlier item has the same id (the first is kept)
``duplicate-audio``     an earlier utterance's audio file has the same bytes (SHA-256)
``duplicate-text``      an earlier item has the same text, whitespace aside
``empty-text``          the text is empty or only whitespace
``non-printable-text``  the text holds control characters (other than tab and newlines),
                        surrogates, private-use characters or U+FFFD (a decoding failure)
``duration-outlier``    the duration is outside [Q1 − k·IQR, Q3 + k·IQR] or the set limits
``conflicting-label``   the same text appears with different labels (every copy is dropped:
                        no one can tell which label is right)

``clean_manifest`` and ``clean_text_dataset`` chain steps given by these names, or by any
callable with the same shape, e.g. ``functools.partial(drop_duration_outliers, k=3.0)``.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from voxtext.data.manifest import Utterance
from voxtext.data.text import Label, TextExample
from voxtext.data.validation import PathLike, write_atomically
from voxtext.errors import ConfigError, DataError


class _Item(Protocol):
    """What the generic steps need of an item: an id, its text and the line it came from."""

    @property
    def id(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def line(self) -> int: ...


ItemT = TypeVar("ItemT", bound=_Item)

# Categories of characters that do not belong in a transcript or a sentence to classify:
# control (Cc), surrogate (Cs) and private use (Co). Format characters (Cf) stay: zero-width
# joiners are part of ordinary Persian and Indic text.
_NON_PRINTABLE_CATEGORIES = frozenset({"Cc", "Cs", "Co"})
_ALLOWED_CONTROLS = frozenset("\t\n\r")
_REPLACEMENT_CHARACTER = "\ufffd"


@dataclass(frozen=True)
class Dropped:
    """One item a cleaning step left out: its id, the reason (see the module) and details."""

    item_id: str
    reason: str
    detail: str


@dataclass
class CleaningResult(Generic[ItemT]):
    """The items a cleaning step kept, in their order, and a record of each one it dropped."""

    kept: list[ItemT]
    dropped: list[Dropped] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Count of dropped items per reason, in the order the reasons first occur."""
        return dict(Counter(dropped.reason for dropped in self.dropped))

    def to_jsonl(self, path: PathLike) -> None:
        """Write the dropped items as JSON Lines: item_id, reason, detail (atomically)."""
        lines = [json.dumps(asdict(dropped), ensure_ascii=False) for dropped in self.dropped]
        write_atomically(Path(path), "".join(f"{line}\n" for line in lines))


Step = Callable[[list[ItemT]], CleaningResult[ItemT]]


def _where(item: _Item) -> str:
    """Name an item for a detail message: its line when read from a file, else its id."""
    return f"line {item.line}" if item.line else f"id '{item.id}'"


def _normalised(text: str) -> str:
    """Text compared for duplicates: runs of whitespace count as one space."""
    return " ".join(text.split())


def _drop_repeats(
    items: Sequence[ItemT], key: Callable[[ItemT], object], reason: str, what: str
) -> CleaningResult[ItemT]:
    """Keep the first item of each ``key``; drop the others, naming the one kept."""
    first: dict[object, ItemT] = {}
    result: CleaningResult[ItemT] = CleaningResult([])
    for item in items:
        earlier = first.setdefault(key(item), item)
        if earlier is item:
            result.kept.append(item)
        else:
            detail = (
                f"{_where(item)}: same {what} as '{earlier.id}' ({_where(earlier)}), which is kept"
            )
            result.dropped.append(Dropped(item.id, reason, detail))
    return result


def drop_duplicate_ids(items: list[ItemT]) -> CleaningResult[ItemT]:
    """Drop items whose id an earlier item already has."""
    return _drop_repeats(items, lambda item: item.id, "duplicate-id", "id")


def drop_duplicate_text(items: list[ItemT]) -> CleaningResult[ItemT]:
    """Drop items whose text (whitespace runs aside) an earlier item already has.

    Not a default for speech: many speakers reading the same prompt is normal there.
    """
    return _drop_repeats(items, lambda item: _normalised(item.text), "duplicate-text", "text")


def drop_duplicate_audio(utterances: list[Utterance]) -> CleaningResult[Utterance]:
    """Drop utterances whose audio file has the same bytes as an earlier one's.

    Raises DataError listing every audio file that cannot be read.
    """
    digests: dict[Path, str] = {}
    failures = []
    for utterance in utterances:
        if utterance.audio not in digests:
            try:
                digests[utterance.audio] = _sha256(utterance.audio)
            except OSError as error:
                failures.append(f"{utterance.audio}: {error.strerror} (utterance '{utterance.id}')")
    if failures:
        raise DataError("cannot read audio files to compare them — fix the paths:", failures)
    return _drop_repeats(utterances, lambda u: digests[u.audio], "duplicate-audio", "audio bytes")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def drop_empty_text(items: list[ItemT]) -> CleaningResult[ItemT]:
    """Drop items whose text is empty or only whitespace."""
    result: CleaningResult[ItemT] = CleaningResult([])
    for item in items:
        if item.text.strip():
            result.kept.append(item)
        else:
            detail = f"{_where(item)}: text is {item.text!r}"
            result.dropped.append(Dropped(item.id, "empty-text", detail))
    return result


def _first_non_printable(text: str) -> int | None:
    """Index of the first character in ``text`` that is not printable text, or None."""
    for index, char in enumerate(text):
        if char == _REPLACEMENT_CHARACTER or (
            char not in _ALLOWED_CONTROLS
            and unicodedata.category(char) in _NON_PRINTABLE_CATEGORIES
        ):
            return index
    return None


def drop_non_printable_text(items: list[ItemT]) -> CleaningResult[ItemT]:
    """Drop items whose text holds a character that is not printable (see the module)."""
    result: CleaningResult[ItemT] = CleaningResult([])
    for item in items:
        index = _first_non_printable(item.text)
        if index is None:
            result.kept.append(item)
        else:
            char = item.text[index]
            detail = f"{_where(item)}: U+{ord(char):04X} at character {index + 1}"
            result.dropped.append(Dropped(item.id, "non-printable-text", detail))
    return result


def drop_duration_outliers(
    utterances: list[Utterance],
    *,
    k: float | None = 1.5,
    min_seconds: float | None = None,
    max_seconds: float | None = None,
) -> CleaningResult[Utterance]:
    """Drop utterances outside [Q1 − k·IQR, Q3 + k·IQR] seconds or the absolute limits.

    ``k`` None turns the IQR rule off; it also needs at least 4 utterances to mean anything,
    so with fewer only ``min_seconds`` and ``max_seconds`` apply.
    """
    if k is not None and k < 0:
        raise ConfigError(f"k must be 0 or more (a multiple of the IQR), got {k}")
    low, high, rule = -math.inf, math.inf, ""
    if k is not None and len(utterances) >= 4:
        durations = [utterance.duration for utterance in utterances]
        q1, _, q3 = statistics.quantiles(durations, n=4, method="inclusive")
        low, high = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
        rule = f"outside [{low:.3f}, {high:.3f}] s (Q1={q1:.3f}, Q3={q3:.3f}, k={k:g})"
    result: CleaningResult[Utterance] = CleaningResult([])
    for utterance in utterances:
        duration = utterance.duration
        if min_seconds is not None and duration < min_seconds:
            why = f"shorter than min_seconds={min_seconds:g}"
        elif max_seconds is not None and duration > max_seconds:
            why = f"longer than max_seconds={max_seconds:g}"
        elif not low <= duration <= high:
            why = rule
        else:
            result.kept.append(utterance)
            continue
        detail = f"{_where(utterance)}: {duration:g} s is {why}"
        result.dropped.append(Dropped(utterance.id, "duration-outlier", detail))
    return result


def _label_text(label: Label) -> str:
    return "|".join(str(part) for part in label) if isinstance(label, tuple) else str(label)


def drop_conflicting_labels(examples: list[TextExample]) -> CleaningResult[TextExample]:
    """Drop every copy of a text (whitespace runs aside) that appears with different labels.

    Multi-label labels are compared as sets: ("a", "b") and ("b", "a") agree.
    """
    by_text: defaultdict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        by_text[_normalised(example.text)].append(index)
    conflicts: dict[int, str] = {}  # by position: ids may repeat if duplicate-id has not run
    for indices in by_text.values():
        copies = [examples[index] for index in indices]
        if len({_label_set(copy.label) for copy in copies}) > 1:
            listing = "; ".join(f"'{_label_text(c.label)}' ({_where(c)})" for c in copies)
            for index, copy in zip(indices, copies, strict=True):
                conflicts[index] = f"{_where(copy)}: the same text is labelled {listing}"
    result: CleaningResult[TextExample] = CleaningResult([])
    for index, example in enumerate(examples):
        if index in conflicts:
            result.dropped.append(Dropped(example.id, "conflicting-label", conflicts[index]))
        else:
            result.kept.append(example)
    return result


def _label_set(label: Label) -> frozenset[str | int]:
    return frozenset(label) if isinstance(label, tuple) else frozenset([label])


MANIFEST_STEPS: dict[str, Step[Utterance]] = {
    "duplicate-id": drop_duplicate_ids,
    "duplicate-audio": drop_duplicate_audio,
    "duplicate-text": drop_duplicate_text,
    "empty-text": drop_empty_text,
    "non-printable-text": drop_non_printable_text,
    "duration-outlier": drop_duration_outliers,
}
TEXT_STEPS: dict[str, Step[TextExample]] = {
    "duplicate-id": drop_duplicate_ids,
    "duplicate-text": drop_duplicate_text,
    "empty-text": drop_empty_text,
    "non-printable-text": drop_non_printable_text,
    "conflicting-label": drop_conflicting_labels,
}
# Conflicting labels run before duplicate text, which would otherwise keep one copy of a
# conflict and hide it.
DEFAULT_MANIFEST_STEPS = (
    "duplicate-id",
    "duplicate-audio",
    "empty-text",
    "non-printable-text",
    "duration-outlier",
)
DEFAULT_TEXT_STEPS = (
    "duplicate-id",
    "empty-text",
    "non-printable-text",
    "conflicting-label",
    "duplicate-text",
)


def _chain(
    items: Sequence[ItemT], steps: Sequence[str | Step[ItemT]], known: dict[str, Step[ItemT]]
) -> CleaningResult[ItemT]:
    """Run the steps in order, each on what the previous kept; collect everything dropped."""
    result: CleaningResult[ItemT] = CleaningResult(list(items))
    for step in steps:
        if isinstance(step, str):
            if step not in known:
                raise ConfigError(
                    f"unknown cleaning step '{step}' — choose from: {', '.join(known)}"
                )
            step = known[step]
        outcome = step(result.kept)
        result = CleaningResult(outcome.kept, result.dropped + outcome.dropped)
    return result


def clean_manifest(
    utterances: Sequence[Utterance],
    *,
    steps: Sequence[str | Step[Utterance]] = DEFAULT_MANIFEST_STEPS,
) -> CleaningResult[Utterance]:
    """Clean utterances with the steps named (see MANIFEST_STEPS) or given, in order."""
    return _chain(utterances, steps, MANIFEST_STEPS)


def clean_text_dataset(
    examples: Sequence[TextExample],
    *,
    steps: Sequence[str | Step[TextExample]] = DEFAULT_TEXT_STEPS,
) -> CleaningResult[TextExample]:
    """Clean text examples with the steps named (see TEXT_STEPS) or given, in order."""
    return _chain(examples, steps, TEXT_STEPS)
