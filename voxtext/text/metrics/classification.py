"""Single-label and multi-label classification metrics."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from voxtext.text.metrics.counting import check_same_length, class_scores
from voxtext.text.metrics.labels import checked_label_sets, checked_labels, class_order, label_key
from voxtext.text.metrics.results import ClassificationMetrics, ClassLabel


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
    true = checked_labels(labels, "labels")
    predicted = checked_labels(preds, "preds")
    check_same_length(true, predicted, "labels", "preds", "example")
    order = class_order(label_order, [*true, *predicted])
    index = {label_key(label): position for position, label in enumerate(order)}
    true_index = np.array([index[label_key(label)] for label in true], dtype=np.int64)
    pred_index = np.array([index[label_key(label)] for label in predicted], dtype=np.int64)
    confusion = np.zeros((len(order), len(order)), dtype=np.int64)
    np.add.at(confusion, (true_index, pred_index), 1)
    hits = np.diag(confusion)
    scores = class_scores(hits, confusion.sum(axis=0), confusion.sum(axis=1), order)
    return ClassificationMetrics(
        accuracy=float(hits.sum() / len(true)),
        **scores,
        labels=tuple(order),
        confusion=tuple(tuple(int(count) for count in row) for row in confusion),
        support=len(true),
    )


def multilabel_metrics(
    labels: Sequence[Collection[ClassLabel]],
    preds: Sequence[Collection[ClassLabel]],
    label_order: Sequence[ClassLabel] | None = None,
) -> ClassificationMetrics:
    """Score multi-label predictions: each example's true and predicted labels are sets.

    ``accuracy`` is subset accuracy (the whole set right); ``hamming_accuracy`` the share of
    (example, class) decisions that are right. An example may have no labels at all.
    """
    true = checked_label_sets(labels, "labels")
    predicted = checked_label_sets(preds, "preds")
    check_same_length(true, predicted, "labels", "preds", "example")
    seen = [label for group in (*true, *predicted) for _, label in group]
    order = class_order(label_order, seen)
    index = {label_key(label): position for position, label in enumerate(order)}
    true_matrix = _indicator(true, index, len(order))
    pred_matrix = _indicator(predicted, index, len(order))
    hits = (true_matrix & pred_matrix).sum(axis=0)
    scores = class_scores(hits, pred_matrix.sum(axis=0), true_matrix.sum(axis=0), order)
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
