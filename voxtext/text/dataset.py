"""Text data for training and evaluation: read a task's files, encode them once with the
encoder's tokenizer, and batch them with length buckets and per-batch padding.

An item is an :class:`EncodedText`; a batch is a dict with ``input_ids`` int64 ``(batch,
tokens)`` padded with the tokenizer's ``pad_id``, ``lengths`` int64 ``(batch,)``, ``labels``
(int64 ``(batch,)`` for single-label classes, float ``(batch, classes)`` multi-hot for
multi-label, int64 ``(batch, tokens)`` with -100 where no tag is scored), ``ids`` and
``texts`` (kept for text augmentation, which re-encodes them), and ``task``.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from voxtext.data.text import Label, TextExample, read_text_dataset
from voxtext.errors import DataError
from voxtext.protocols import TextTokenizer
from voxtext.text.config import TaskKind, TextDataConfig
from voxtext.train import DurationBatchSampler, SampledBatches

IGNORE = -100  # label of positions no loss or metric counts (special tokens, sub-words)


@dataclass(frozen=True)
class TaskExample:
    """One example of any text task: a text (or pre-split words with tags) and its label."""

    id: str
    text: str
    label: Label | None = None
    words: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    groups: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class EncodedText:
    id: str
    text: str
    input_ids: list[int]
    target: Any  # class id, multi-hot list, or per-token label ids (None for masked-LM)


def read_task_examples(path: Path, task: TaskKind, data: TextDataConfig) -> list[TaskExample]:
    """The examples of ``path`` for ``task``: a text dataset for classification, a token
    dataset for tagging, and for masked-LM either of those or a ``.txt`` file of lines."""
    if task == "token-classification":
        from voxtext.data.tokens import read_token_dataset

        return [
            TaskExample(
                t.id, " ".join(t.tokens), None, tuple(t.tokens), tuple(t.tags), dict(t.groups)
            )
            for t in read_token_dataset(path)
        ]
    if task == "masked-lm" and path.suffix.lower() == ".txt":
        return _text_lines(path)
    examples: list[TextExample] = read_text_dataset(
        path, group_columns=data.group_columns, multi_label=data.multi_label
    )
    return [TaskExample(e.id, e.text, e.label, groups=dict(e.groups)) for e in examples]


def _text_lines(path: Path) -> list[TaskExample]:
    """Unlabelled texts, one per line; blank lines are skipped and counted on stderr."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: no such text file") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc}); convert it to UTF-8") from None
    examples = [
        TaskExample(f"{path.name}:{n}", line.strip())
        for n, line in enumerate(lines, start=1)
        if line.strip()
    ]
    if len(examples) < len(lines):
        print(f"voxtext: {path}: skipped {len(lines) - len(examples)} blank lines", file=sys.stderr)
    if not examples:
        raise DataError(f"{path}: holds no text; give one text per line")
    return examples


@dataclass(frozen=True)
class LabelSet:
    """The classes (or tags) of a task, in id order, and whether examples carry several."""

    values: tuple[str | int, ...]
    multi_label: bool = False

    @classmethod
    def from_examples(cls, examples: Sequence[TaskExample], task: TaskKind) -> LabelSet:
        if task == "token-classification":
            tags: list[str] = sorted(
                {t for e in examples for t in e.tags or ()}, key=lambda t: (t != "O", t[2:], t)
            )
            return cls(tuple(tags))
        values: set[str | int] = set()
        labels = [e.label for e in examples]
        multi = any(isinstance(label, tuple) for label in labels)
        for label in labels:
            values.update(_label_values(label))
        if len(values) < 2 and not multi:
            raise DataError(
                f"the training data has {len(values)} class(es) ({sorted(map(str, values))}); "
                "a classifier needs at least two"
            )
        return cls(tuple(sorted(values, key=lambda v: (str(type(v)), v))), multi)

    def index(self) -> dict[str | int, int]:
        return {v: i for i, v in enumerate(self.values)}

    def to_dict(self) -> dict[str, Any]:
        return {"values": list(self.values), "multi_label": self.multi_label}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelSet:
        return cls(tuple(data["values"]), bool(data["multi_label"]))


def check_known_labels(examples: Sequence[TaskExample], labels: LabelSet, where: Path) -> None:
    """Every label (tag) of ``examples`` must be one the model learnt; list those that are not."""
    known = set(labels.values)
    unknown: dict[str, list[str]] = {}
    for e in examples:
        values = e.tags if e.tags is not None else _label_values(e.label)
        for v in values or ():
            if v not in known:
                unknown.setdefault(str(v), []).append(e.id)
    if unknown:
        listed = "; ".join(
            f"{v!r} (e.g. {ids[0]}, {len(ids)} in all)" for v, ids in unknown.items()
        )
        raise DataError(
            f"{where}: labels the training data does not have: {listed}. A model cannot "
            f"predict them; known labels: {list(labels.values)}"
        )


def _label_values(label: Label | None) -> tuple[str | int, ...]:
    if label is None:
        return ()
    return label if isinstance(label, tuple) else (label,)


def encode_examples(
    examples: Sequence[TaskExample],
    tokenizer: TextTokenizer,
    task: TaskKind,
    labels: LabelSet | None,
) -> list[EncodedText]:
    """Token ids and targets of every example (texts at once through ``encode_batch``)."""
    index = labels.index() if labels is not None else {}
    if task == "token-classification":
        encoded = []
        for e in examples:
            ids, word_ids = tokenizer.encode_words(e.words or ())
            encoded.append(
                EncodedText(e.id, e.text, ids, _token_targets(word_ids, e.tags or (), index))
            )
        return encoded
    all_ids = tokenizer.encode_batch([e.text for e in examples])
    targets: list[Any]
    if task == "masked-lm":
        targets = [None] * len(examples)
    elif labels is not None and labels.multi_label:
        targets = [_multi_hot(_label_values(e.label), index) for e in examples]
    else:
        targets = [index[e.label] for e in examples]  # type: ignore[index]
    return [
        EncodedText(e.id, e.text, ids, t)
        for e, ids, t in zip(examples, all_ids, targets, strict=True)
    ]


def _token_targets(
    word_ids: Sequence[int | None], tags: Sequence[str], index: dict[str | int, int]
) -> list[int]:
    """The tag id of each word on its first token; -100 on later sub-words and specials."""
    targets, previous = [], None
    for word in word_ids:
        targets.append(IGNORE if word is None or word == previous else index[tags[word]])
        previous = word
    return targets


def _multi_hot(values: Sequence[str | int], index: dict[str | int, int]) -> list[float]:
    row = [0.0] * len(index)
    for v in values:
        row[index[v]] = 1.0
    return row


def report_truncation(items: Sequence[EncodedText], tokenizer: TextTokenizer, where: str) -> int:
    """Count (and say on stderr) the texts that filled ``max_length``: they were cut short."""
    cut = sum(len(item.input_ids) >= tokenizer.max_length for item in items)
    if cut:
        print(
            f"voxtext: {where}: {cut} of {len(items)} texts reach the encoder's max_length "
            f"{tokenizer.max_length} and were truncated",
            file=sys.stderr,
        )
    return cut


def collate(items: Sequence[EncodedText], pad_id: int, task: str = "main") -> dict[str, Any]:
    """Pad a batch to its longest text (see the module docstring for the fields)."""
    lengths = torch.tensor([len(i.input_ids) for i in items], dtype=torch.long)
    width = int(lengths.max())
    input_ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    for row, item in enumerate(items):
        input_ids[row, : len(item.input_ids)] = torch.tensor(item.input_ids, dtype=torch.long)
    batch: dict[str, Any] = {
        "input_ids": input_ids,
        "lengths": lengths,
        "ids": [i.id for i in items],
        "texts": [i.text for i in items],
        "task": task,
    }
    first = items[0].target
    if first is None:
        batch["labels"] = None
    elif isinstance(first, int):
        batch["labels"] = torch.tensor([i.target for i in items], dtype=torch.long)
    elif items[0].target and isinstance(first[0], float):
        batch["labels"] = torch.tensor([i.target for i in items], dtype=torch.float32)
    else:
        labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
        for row, item in enumerate(items):
            labels[row, : len(item.target)] = torch.tensor(item.target, dtype=torch.long)
        batch["labels"] = labels
    return batch


class _Collate:
    """A picklable ``collate`` bound to a pad id and task (DataLoader workers need that)."""

    def __init__(self, pad_id: int, task: str) -> None:
        self.pad_id, self.task = pad_id, task

    def __call__(self, items: Sequence[EncodedText]) -> dict[str, Any]:
        return collate(items, self.pad_id, self.task)


def task_batches(
    items: list[EncodedText], pad_id: int, task: str, data: TextDataConfig, seed: int
) -> SampledBatches:
    """Training batches of one task: length buckets, at most ``batch_size`` texts and
    ``max_batch_tokens`` padded tokens each (token counts play the sampler's durations)."""
    lengths = [len(i.input_ids) for i in items]
    budget = data.max_batch_tokens or data.batch_size * max(lengths)
    sampler = DurationBatchSampler(
        lengths,
        budget,
        max_batch_size=data.batch_size,
        seed=seed,
        ids=[i.id for i in items],
        oversized="error",
    )
    return SampledBatches(items, sampler, _Collate(pad_id, task), num_workers=data.num_workers)


class MultiTaskBatches:
    """Batches of several tasks in one epoch, each batch from one task, their order shuffled
    by ``(seed, epoch)`` (every task's batches are seen once per epoch: proportional mixing).
    A single task passes straight through."""

    def __init__(self, sources: dict[str, SampledBatches], seed: int) -> None:
        self.sources, self.seed = sources, seed
        self.epoch, self.consumed = 0, 0

    def _order(self) -> list[str]:
        order = [name for name, source in self.sources.items() for _ in range(len(source))]
        random.Random(f"{self.seed}:{self.epoch}").shuffle(order)
        return order

    def __len__(self) -> int:
        return sum(len(s) for s in self.sources.values())

    def set_epoch(self, epoch: int) -> None:
        self.epoch, self.consumed = epoch, 0
        for source in self.sources.values():
            source.set_epoch(epoch)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        iterators = {name: iter(source) for name, source in self.sources.items()}
        for name in self._order()[self.consumed :]:
            batch = next(iterators[name])
            self.consumed += 1
            yield batch

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "consumed": self.consumed,
            "tasks": {name: s.state_dict() for name, s in self.sources.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.consumed = int(state["epoch"]), int(state["consumed"])
        for name, source in self.sources.items():
            source.load_state_dict(state["tasks"][name])
