"""From per-class counts to scores, shared by every metric family: precision, recall and F1
per class, and their micro, macro and weighted averages (scikit-learn's zero_division=0)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from voxtext.errors import DataError
from voxtext.text.metrics.results import ClassLabel, ClassReport


def class_scores(
    hits: np.ndarray, predicted: np.ndarray, true: np.ndarray, order: Sequence[ClassLabel]
) -> dict[str, Any]:
    """Per-class reports and micro/macro/weighted averages from per-class counts."""
    precision = ratio(hits, predicted)
    recall = ratio(hits, true)
    f1 = ratio(2 * hits, predicted + true)  # = 2PR/(P+R), and 0 where nothing is right
    micro_hits, micro_predicted, micro_true = hits.sum(), predicted.sum(), true.sum()
    return {
        "macro_precision": mean(precision),
        "macro_recall": mean(recall),
        "macro_f1": mean(f1),
        "micro_precision": float(ratio(micro_hits, micro_predicted)),
        "micro_recall": float(ratio(micro_hits, micro_true)),
        "micro_f1": float(ratio(2 * micro_hits, micro_predicted + micro_true)),
        "weighted_precision": mean(precision, true),
        "weighted_recall": mean(recall, true),
        "weighted_f1": mean(f1, true),
        "per_class": tuple(
            ClassReport(label, float(p), float(r), float(f), int(n))
            for label, p, r, f, n in zip(order, precision, recall, f1, true, strict=True)
        ),
    }


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0.0 where the denominator is 0 (sklearn's zero_division=0)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def mean(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The (weighted) mean; 0.0 when there are no classes or no true examples to weight by."""
    if values.size == 0 or (weights is not None and weights.sum() == 0):
        return 0.0
    return float(np.average(values, weights=weights))


def check_same_length(
    first: Sequence[Any], second: Sequence[Any], first_name: str, second_name: str, unit: str
) -> None:
    if len(first) == 0:
        raise DataError(f"{first_name} is empty — there is nothing to score")
    if len(first) != len(second):
        raise DataError(
            f"{first_name} has {len(first)} {unit}s but {second_name} has {len(second)} — "
            f"give one prediction per {unit}, in the same order"
        )
