"""Checking class labels the caller passes and ordering the classes: strings or integers,
never silently dropped or merged (``1`` and ``"1"`` stay two classes)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

import numpy as np

from voxtext.errors import DataError
from voxtext.text.metrics.results import ClassLabel


def label_key(label: ClassLabel) -> tuple[str, ClassLabel]:
    """A dictionary key that keeps 1 and "1" apart (and would keep True apart from 1)."""
    return (type(label).__name__, label)


def checked_labels(values: Sequence[Any], name: str) -> list[ClassLabel]:
    """The labels as plain str/int (numpy scalars unwrapped); DataError naming bad entries."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray):
        raise DataError(f"{name} is {type(values).__name__}, expected a list of labels")
    if len(values) == 0:
        raise DataError(f"{name} is empty — there is nothing to score")
    checked, bad = [], []
    for index, value in enumerate(values):
        label = as_label(value)
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


def as_label(value: Any) -> ClassLabel | None:
    """``value`` as a str or int label, or None when it is neither (bools are refused)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return value


def checked_label_sets(
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
        labels = checked_labels(list(group), f"{name}[{index}]") if len(group) else []
        sets.append(frozenset(label_key(label) for label in labels))
    return sets


def class_order(label_order: Sequence[ClassLabel] | None, seen: Iterable[Any]) -> list[ClassLabel]:
    """``label_order`` (checked) followed by the seen classes it lacks, sorted."""
    fixed = [] if label_order is None else checked_labels(label_order, "label_order")
    keys = [label_key(label) for label in fixed]
    if len(set(keys)) != len(keys):
        repeated = sorted({repr(label) for label in fixed if keys.count(label_key(label)) > 1})
        raise DataError(f"label_order lists {', '.join(repeated)} more than once — list each once")
    known = set(keys)
    rest = {label_key(label): label for label in seen if label_key(label) not in known}
    return fixed + sorted_labels(list(rest.values()))


def sorted_labels(labels: list[ClassLabel]) -> list[ClassLabel]:
    """Sorted naturally when all strings or all integers, else by repr."""
    if all(isinstance(label, str) for label in labels) or all(
        isinstance(label, int) for label in labels
    ):
        return sorted(labels)
    return sorted(labels, key=repr)
