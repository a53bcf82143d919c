"""Markdown tables of the metrics: one row per class (or entity type), then the averages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the results render themselves through this module
    from voxtext.text.metrics.results import (
        ClassificationMetrics,
        ClassLabel,
        ClassReport,
        EntityMetrics,
    )


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
