"""What the metrics return: per-class reports and the classification and entity scores,
JSON-able (``to_dict``) and as Markdown (``to_markdown``: one row per class or entity type,
then the averages)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
            **averages_dict(self),
            "support": self.support,
            "labels": list(self.labels),
            "per_class": [report.to_dict() for report in self.per_class],
            "confusion": None if self.confusion is None else [list(r) for r in self.confusion],
        }

    def to_markdown(self, digits: int = 3) -> str:
        """A per-class table with the averages, then the confusion matrix (single-label)."""
        lines = report_table("class", self.per_class, self, digits)
        lines += ["", f"accuracy: {self.accuracy:.{digits}f} ({self.support} examples)"]
        if self.hamming_accuracy is not None:
            lines.append(f"hamming accuracy: {self.hamming_accuracy:.{digits}f}")
        if self.confusion is not None:
            lines += ["", *confusion_table(self.labels, self.confusion)]
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
            **averages_dict(self),
            "support": self.support,
            "predicted": self.predicted,
            "types": list(self.types),
            "per_type": [report.to_dict() for report in self.per_type],
        }

    def to_markdown(self, digits: int = 3) -> str:
        """A per-type table with the averages and the tag accuracy."""
        lines = report_table("entity type", self.per_type, self, digits)
        lines += ["", f"tag accuracy: {self.accuracy:.{digits}f}"]
        return "\n".join(lines) + "\n"


def averages_dict(metrics: ClassificationMetrics | EntityMetrics) -> dict[str, float]:
    return {
        f"{kind}_{score}": getattr(metrics, f"{kind}_{score}")
        for kind in ("micro", "macro", "weighted")
        for score in ("precision", "recall", "f1")
    }


def report_table(
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
        lines.append(table_row(cell(report.label), scores, report.support, digits))
    for kind in ("micro", "macro", "weighted"):
        scores = tuple(getattr(metrics, f"{kind}_{name}") for name in ("precision", "recall", "f1"))
        lines.append(table_row(f"*{kind} avg*", scores, total, digits))
    return lines


def confusion_table(labels: Sequence[ClassLabel], confusion: Sequence[Sequence[int]]) -> list[str]:
    """Markdown lines of a confusion matrix (rows: true class, columns: predicted class)."""
    names = [cell(label) for label in labels]
    lines = [
        "Confusion matrix (rows: true class, columns: predicted class):",
        "",
        "| true \\ predicted | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for name, row in zip(names, confusion, strict=True):
        lines.append(f"| {name} | " + " | ".join(str(count) for count in row) + " |")
    return lines


def table_row(name: str, scores: tuple[float, ...], support: int, digits: int) -> str:
    return f"| {name} | " + " | ".join(f"{s:.{digits}f}" for s in scores) + f" | {support} |"


def cell(label: ClassLabel) -> str:
    """A label as a markdown table cell: pipes escaped, line breaks flattened."""
    return " ".join(str(label).split()).replace("|", "\\|") or repr(label)
