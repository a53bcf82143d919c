"""Evaluation metrics for text classification (single- and multi-label) and entity tagging.

The numbers match scikit-learn's ``precision_recall_fscore_support`` with ``zero_division=0``
(a ratio with nothing to divide by is 0.0) and seqeval's default, conlleval-compatible entity
scoring; the tests check both. Nothing the caller passes is dropped: a prediction outside the
labels of the data, or outside ``label_order``, becomes a class of its own, which lowers the
scores it should lower.

Averages: *micro* pools every decision (for single-label data it equals accuracy), *macro* is
the unweighted mean over classes, *weighted* weights each class by its support (true count).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxtext.data.tokens import OUTSIDE, split_tag
from voxtext.errors import DataError

ClassLabel = str | int
"""One class of a classification task: a string or an integer."""

EntitySpan = tuple[str, int, int]
"""(entity type, first token, one past the last token) of one entity in a sentence."""


@dataclass(frozen=True)
class ClassReport:
    """Precision, recall and F1 of one class (or entity type); ``support`` is its true count."""

    label: ClassLabel
    precision: float
    recall: float
    f1: float
    support: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.support,
        }


@dataclass(frozen=True)
class ClassificationMetrics:
    """Scores of a classifier over a dataset.

    ``accuracy`` is the share of examples whose prediction is exactly right (for multi-label
    data: the whole set of labels, "subset accuracy"). ``confusion[i][j]`` counts examples of
    true class ``labels[i]`` predicted as ``labels[j]`` (None for multi-label data).
    ``support`` is the number of examples; ``hamming_accuracy`` (multi-label only) is the
    share of (example, label) decisions that are right.
    """

    accuracy: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    micro_precision: float
    micro_recall: float
    micro_f1: float
    weighted_precision: float
    weighted_recall: float
    weighted_f1: float
    per_class: tuple[ClassReport, ...]
    labels: tuple[ClassLabel, ...]
    confusion: tuple[tuple[int, ...], ...] | None
    support: int
    hamming_accuracy: float | None = None

    def report(self, label: ClassLabel) -> ClassReport:
        """The per-class report of ``label``."""
        for report in self.per_class:
            if report.label == label and type(report.label) is type(label):
                return report
        raise KeyError(f"no class {label!r} (classes: {', '.join(map(repr, self.labels))})")

    def to_dict(self) -> dict[str, Any]:
        """Every number, JSON-able; labels keep their type (str or int)."""
        return {
            "accuracy": self.accuracy,
            "hamming_accuracy": self.hamming_accuracy,
            **_averages_dict(self),
            "support": self.support,
            "labels": list(self.labels),
            "per_class": [report.to_dict() for report in self.per_class],
            "confusion": None if self.confusion is None else [list(r) for r in self.confusion],
        }

    def to_markdown(self, digits: int = 3) -> str:
        """A per-class table with the averages, then the confusion matrix (single-label)."""
        lines = _report_table("class", self.per_class, self, digits)
        lines += ["", f"accuracy: {self.accuracy:.{digits}f} ({self.support} examples)"]
        if self.hamming_accuracy is not None:
            lines.append(f"hamming accuracy: {self.hamming_accuracy:.{digits}f}")
        if self.confusion is not None:
            names = [_cell(label) for label in self.labels]
            lines += [
                "",
                "Confusion matrix (rows: true class, columns: predicted class):",
                "",
                "| true \\ predicted | " + " | ".join(names) + " |",
                "|---|" + "---:|" * len(names),
            ]
            for name, row in zip(names, self.confusion, strict=True):
                lines.append(f"| {name} | " + " | ".join(str(count) for count in row) + " |")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class EntityMetrics:
    """Entity-level scores of a tagger, seqeval's default (conlleval) way: an entity counts as
    found only when its type, start and end all match.

    ``precision``/``recall``/``f1`` are micro averages over entities (seqeval's ``f1_score``
    default). ``support`` is the number of true entities, ``predicted`` of predicted ones;
    ``accuracy`` is the share of tokens whose tag is right (``O`` included).
    """

    precision: float
    recall: float
    f1: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    weighted_precision: float
    weighted_recall: float
    weighted_f1: float
    per_type: tuple[ClassReport, ...]
    types: tuple[str, ...]
    accuracy: float
    support: int
    predicted: int

    @property
    def micro_precision(self) -> float:
        return self.precision

    @property
    def micro_recall(self) -> float:
        return self.recall

    @property
    def micro_f1(self) -> float:
        return self.f1

    def to_dict(self) -> dict[str, Any]:
        """Every number, JSON-able."""
        return {
            "accuracy": self.accuracy,
            **_averages_dict(self),
            "support": self.support,
            "predicted": self.predicted,
            "types": list(self.types),
            "per_type": [report.to_dict() for report in self.per_type],
        }

    def to_markdown(self, digits: int = 3) -> str:
        """A per-type table with the averages and the tag accuracy."""
        lines = _report_table("entity type", self.per_type, self, digits)
        lines += ["", f"tag accuracy: {self.accuracy:.{digits}f}"]
        return "\n".join(lines) + "\n"


# -- single-label -----------------------------------------------------------------------------
def classification_metrics(
    labels: Sequence[ClassLabel],
    preds: Sequence[ClassLabel],
    label_order: Sequence[ClassLabel] | None = None,
) -> ClassificationMetrics:
    """Score single-label predictions ``preds`` against the true ``labels``.

    ``label_order`` fixes the order of ``labels``/``per_class``/``confusion``; classes found in
    the data but missing from it are added after it. Without it the classes are sorted (by
    ``repr`` when strings and integers are mixed).
    """
    true = _checked_labels(labels, "labels")
    predicted = _checked_labels(preds, "preds")
    _check_same_length(true, predicted, "labels", "preds", "example")
    order = _class_order(label_order, [*true, *predicted])
    index = {_key(label): position for position, label in enumerate(order)}
    true_index = np.array([index[_key(label)] for label in true], dtype=np.int64)
    pred_index = np.array([index[_key(label)] for label in predicted], dtype=np.int64)
    confusion = np.zeros((len(order), len(order)), dtype=np.int64)
    np.add.at(confusion, (true_index, pred_index), 1)
    hits = np.diag(confusion)
    scores = _scores(hits, confusion.sum(axis=0), confusion.sum(axis=1), order)
    return ClassificationMetrics(
        accuracy=float(hits.sum() / len(true)),
        **scores,
        labels=tuple(order),
        confusion=tuple(tuple(int(count) for count in row) for row in confusion),
        support=len(true),
    )


# -- multi-label ------------------------------------------------------------------------------
def multilabel_metrics(
    labels: Sequence[Collection[ClassLabel]],
    preds: Sequence[Collection[ClassLabel]],
    label_order: Sequence[ClassLabel] | None = None,
) -> ClassificationMetrics:
    """Score multi-label predictions: each example's true and predicted labels are sets.

    ``accuracy`` is subset accuracy (the whole set right); ``hamming_accuracy`` the share of
    (example, class) decisions that are right. An example may have no labels at all.
    """
    true = _checked_label_sets(labels, "labels")
    predicted = _checked_label_sets(preds, "preds")
    _check_same_length(true, predicted, "labels", "preds", "example")
    seen = [label for group in (*true, *predicted) for _, label in group]
    order = _class_order(label_order, seen)
    index = {_key(label): position for position, label in enumerate(order)}
    true_matrix = _indicator(true, index, len(order))
    pred_matrix = _indicator(predicted, index, len(order))
    hits = (true_matrix & pred_matrix).sum(axis=0)
    scores = _scores(hits, pred_matrix.sum(axis=0), true_matrix.sum(axis=0), order)
    exact = np.all(true_matrix == pred_matrix, axis=1)
    # With no classes at all there are no decisions, and none is wrong.
    decisions = true_matrix.size
    right = (true_matrix == pred_matrix).sum()
    return ClassificationMetrics(
        accuracy=float(exact.mean()),
        **scores,
        labels=tuple(order),
        confusion=None,
        support=len(true),
        hamming_accuracy=float(right / decisions) if decisions else 1.0,
    )


def _indicator(
    label_sets: list[frozenset[tuple[str, ClassLabel]]],
    index: dict[tuple[str, ClassLabel], int],
    width: int,
) -> np.ndarray:
    """A boolean (examples, classes) matrix: True where the example has the class."""
    matrix = np.zeros((len(label_sets), width), dtype=bool)
    for row, group in enumerate(label_sets):
        matrix[row, [index[key] for key in group]] = True
    return matrix


# -- entities ---------------------------------------------------------------------------------
def bio_spans(tags: Sequence[str]) -> list[EntitySpan]:
    """The entities in one sentence's tags as (type, start, end exclusive), in order.

    Follows seqeval's default mode (conlleval): an ``I-`` after ``O`` or after another type
    starts an entity (IOB1), a type change ends one, ``E-`` ends one and ``S-`` is one by
    itself (IOBES). Raises DataError for a tag that is not O or B-/I-/E-/S- with a type.
    """
    _check_tag_list(tags, "tags")
    spans: list[EntitySpan] = []
    prev_prefix, prev_type, start = OUTSIDE, "", 0
    for position, tag in enumerate([*tags, OUTSIDE]):
        prefix, type_ = split_tag(tag) or (OUTSIDE, "")
        if _chunk_ends(prev_prefix, prefix, prev_type, type_):
            spans.append((prev_type, start, position))
        if _chunk_starts(prev_prefix, prefix, prev_type, type_):
            start = position
        prev_prefix, prev_type = prefix, type_
    return spans


def _chunk_ends(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    """Whether an entity ended before this tag (conlleval's endOfChunk)."""
    if prev_prefix in ("E", "S"):
        return True
    if prev_prefix in ("B", "I") and prefix in ("B", "S", OUTSIDE):
        return True
    return prev_prefix != OUTSIDE and prev_type != type_


def _chunk_starts(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    """Whether an entity starts at this tag (conlleval's startOfChunk)."""
    if prefix in ("B", "S"):
        return True
    if prefix in ("I", "E") and prev_prefix in ("E", "S", OUTSIDE):
        return True
    return prefix != OUTSIDE and prev_type != type_


def entity_metrics(
    true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]
) -> EntityMetrics:
    """Score predicted tag sequences against the true ones, sentence by sentence."""
    _check_sentences(true_tags, pred_tags)
    true_spans: set[tuple[int, EntitySpan]] = set()
    pred_spans: set[tuple[int, EntitySpan]] = set()
    right_tags = total_tags = 0
    for sentence, (true_sentence, pred_sentence) in enumerate(
        zip(true_tags, pred_tags, strict=True)
    ):
        true_spans.update((sentence, span) for span in bio_spans(true_sentence))
        pred_spans.update((sentence, span) for span in bio_spans(pred_sentence))
        right_tags += sum(t == p for t, p in zip(true_sentence, pred_sentence, strict=True))
        total_tags += len(true_sentence)
    if total_tags == 0:
        raise DataError("entity_metrics: every sentence is empty — there are no tags to score")
    types = sorted({span[0] for _, span in true_spans | pred_spans})
    hits = _count_by_type(true_spans & pred_spans, types)
    predicted, true = _count_by_type(pred_spans, types), _count_by_type(true_spans, types)
    scores = _scores(hits, predicted, true, types)
    return EntityMetrics(
        precision=scores["micro_precision"],
        recall=scores["micro_recall"],
        f1=scores["micro_f1"],
        macro_precision=scores["macro_precision"],
        macro_recall=scores["macro_recall"],
        macro_f1=scores["macro_f1"],
        weighted_precision=scores["weighted_precision"],
        weighted_recall=scores["weighted_recall"],
        weighted_f1=scores["weighted_f1"],
        per_type=scores["per_class"],
        types=tuple(types),
        accuracy=right_tags / total_tags,
        support=len(true_spans),
        predicted=len(pred_spans),
    )


def _count_by_type(spans: Iterable[tuple[int, EntitySpan]], types: list[str]) -> np.ndarray:
    position = {type_: index for index, type_ in enumerate(types)}
    counts = np.zeros(len(types), dtype=np.int64)
    for _, (type_, _, _) in spans:
        counts[position[type_]] += 1
    return counts


def _check_sentences(
    true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]
) -> None:
    """Both are non-empty lists of tag lists, sentence by sentence of the same length."""
    for name, value in (("true_tags", true_tags), ("pred_tags", pred_tags)):
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise DataError(
                f"{name} is {type(value).__name__}, expected a list of sentences "
                'each a list of tags, e.g. [["B-PER", "O"]]'
            )
    _check_same_length(true_tags, pred_tags, "true_tags", "pred_tags", "sentence")
    mismatched = []
    for sentence, (true, pred) in enumerate(zip(true_tags, pred_tags, strict=True)):
        _check_tag_list(true, f"true_tags[{sentence}]")
        _check_tag_list(pred, f"pred_tags[{sentence}]")
        if len(true) != len(pred):
            mismatched.append(f"sentence {sentence}: {len(true)} true tags, {len(pred)} predicted")
    if mismatched:
        raise DataError(
            f"entity_metrics: {len(mismatched)} sentences have a different number of true and "
            "predicted tags — predict exactly one tag per token:",
            mismatched,
        )


def _check_tag_list(tags: Sequence[str], name: str) -> None:
    """``tags`` is a list of strings, each O or B-/I-/E-/S- with a type."""
    if isinstance(tags, str) or not isinstance(tags, Sequence):
        raise DataError(
            f"{name} is {type(tags).__name__}, expected a list of tags, e.g. ['B-PER', 'O']"
        )
    bad = [
        f"[{i}] {tag!r}"
        for i, tag in enumerate(tags)
        if not isinstance(tag, str) or not split_tag(tag)
    ]
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise DataError(
            f"{name} holds tags that are not entity tags: {shown} — "
            'write O, or B-, I-, E- or S- and the entity type, e.g. "B-PER"'
        )


# -- shared -----------------------------------------------------------------------------------
def _scores(
    hits: np.ndarray, predicted: np.ndarray, true: np.ndarray, order: Sequence[ClassLabel]
) -> dict[str, Any]:
    """Per-class reports and micro/macro/weighted averages from per-class counts."""
    precision = _ratio(hits, predicted)
    recall = _ratio(hits, true)
    f1 = _ratio(2 * hits, predicted + true)  # = 2PR/(P+R), and 0 where nothing is right
    micro_hits, micro_predicted, micro_true = hits.sum(), predicted.sum(), true.sum()
    return {
        "macro_precision": _mean(precision),
        "macro_recall": _mean(recall),
        "macro_f1": _mean(f1),
        "micro_precision": float(_ratio(micro_hits, micro_predicted)),
        "micro_recall": float(_ratio(micro_hits, micro_true)),
        "micro_f1": float(_ratio(2 * micro_hits, micro_predicted + micro_true)),
        "weighted_precision": _mean(precision, true),
        "weighted_recall": _mean(recall, true),
        "weighted_f1": _mean(f1, true),
        "per_class": tuple(
            ClassReport(label, float(p), float(r), float(f), int(n))
            for label, p, r, f, n in zip(order, precision, recall, f1, true, strict=True)
        ),
    }


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0.0 where the denominator is 0 (sklearn's zero_division=0)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def _mean(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The (weighted) mean; 0.0 when there are no classes or no true examples to weight by."""
    if values.size == 0 or (weights is not None and weights.sum() == 0):
        return 0.0
    return float(np.average(values, weights=weights))


def _averages_dict(metrics: ClassificationMetrics | EntityMetrics) -> dict[str, float]:
    return {
        f"{kind}_{score}": getattr(metrics, f"{kind}_{score}")
        for kind in ("micro", "macro", "weighted")
        for score in ("precision", "recall", "f1")
    }


def _report_table(
    heading: str,
    reports: Sequence[ClassReport],
    metrics: ClassificationMetrics | EntityMetrics,
    digits: int,
) -> list[str]:
    """Markdown rows: one per class, then the micro, macro and weighted averages."""
    total = sum(report.support for report in reports)
    lines = [f"| {heading} | precision | recall | f1 | support |", "|---|---:|---:|---:|---:|"]
    for report in reports:
        scores = (report.precision, report.recall, report.f1)
        lines.append(_table_row(_cell(report.label), scores, report.support, digits))
    for kind in ("micro", "macro", "weighted"):
        scores = tuple(getattr(metrics, f"{kind}_{name}") for name in ("precision", "recall", "f1"))
        lines.append(_table_row(f"*{kind} avg*", scores, total, digits))
    return lines


def _table_row(name: str, scores: tuple[float, ...], support: int, digits: int) -> str:
    return f"| {name} | " + " | ".join(f"{s:.{digits}f}" for s in scores) + f" | {support} |"


def _cell(label: ClassLabel) -> str:
    """A label as a markdown table cell: pipes escaped, line breaks flattened."""
    return " ".join(str(label).split()).replace("|", "\\|") or repr(label)


def _key(label: ClassLabel) -> tuple[str, ClassLabel]:
    """A dictionary key that keeps 1 and "1" apart (and would keep True apart from 1)."""
    return (type(label).__name__, label)


def _checked_labels(values: Sequence[Any], name: str) -> list[ClassLabel]:
    """The labels as plain str/int (numpy scalars unwrapped); DataError naming bad entries."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise DataError(f"{name} is {type(values).__name__}, expected a list of labels")
    if len(values) == 0:
        raise DataError(f"{name} is empty — there is nothing to score")
    checked, bad = [], []
    for index, value in enumerate(values):
        label = _as_label(value)
        if label is None:
            bad.append(f"[{index}] {value!r} ({type(value).__name__})")
        else:
            checked.append(label)
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise DataError(
            f"{name} holds values that are not labels: {shown} — "
            "a label is a string or an integer (write booleans as 0/1)"
        )
    return checked


def _as_label(value: Any) -> ClassLabel | None:
    """``value`` as a str or int label, or None when it is neither (bools are refused)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return value


def _checked_label_sets(
    values: Sequence[Collection[Any]], name: str
) -> list[frozenset[tuple[str, ClassLabel]]]:
    """Each example's labels as a set of (type name, label) keys; DataError on bad input."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise DataError(f"{name} is {type(values).__name__}, expected a list of label sets")
    if len(values) == 0:
        raise DataError(f"{name} is empty — there is nothing to score")
    sets = []
    for index, group in enumerate(values):
        if isinstance(group, str | bytes) or not isinstance(group, Collection | np.ndarray):
            raise DataError(
                f"{name}[{index}] is {type(group).__name__} {group!r}, expected a collection "
                "of labels, e.g. ['sports', 'politics'] (or [] for none)"
            )
        labels = _checked_labels(list(group), f"{name}[{index}]") if len(group) else []
        sets.append(frozenset(_key(label) for label in labels))
    return sets


def _check_same_length(
    first: Sequence[Any], second: Sequence[Any], first_name: str, second_name: str, unit: str
) -> None:
    if len(first) == 0:
        raise DataError(f"{first_name} is empty — there is nothing to score")
    if len(first) != len(second):
        raise DataError(
            f"{first_name} has {len(first)} {unit}s but {second_name} has {len(second)} — "
            f"give one prediction per {unit}, in the same order"
        )


def _class_order(label_order: Sequence[ClassLabel] | None, seen: Iterable[Any]) -> list[ClassLabel]:
    """``label_order`` (checked) followed by the seen classes it lacks, sorted."""
    fixed = [] if label_order is None else _checked_labels(label_order, "label_order")
    keys = [_key(label) for label in fixed]
    if len(set(keys)) != len(keys):
        repeated = sorted({repr(label) for label in fixed if keys.count(_key(label)) > 1})
        raise DataError(f"label_order lists {', '.join(repeated)} more than once — list each once")
    known = set(keys)
    rest = {_key(label): label for label in seen if _key(label) not in known}
    return fixed + _sorted_labels(list(rest.values()))


def _sorted_labels(labels: list[ClassLabel]) -> list[ClassLabel]:
    """Sorted naturally when all strings or all integers, else by repr."""
    if all(isinstance(label, str) for label in labels) or all(
        isinstance(label, int) for label in labels
    ):
        return sorted(labels)
    return sorted(labels, key=repr)
