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

from voxtext.text.metrics.classification import classification_metrics, multilabel_metrics
from voxtext.text.metrics.entities import bio_spans, entity_metrics
from voxtext.text.metrics.results import (
    ClassificationMetrics,
    ClassLabel,
    ClassReport,
    EntityMetrics,
    EntitySpan,
)

__all__ = [
    "ClassLabel",
    "ClassReport",
    "ClassificationMetrics",
    "EntityMetrics",
    "EntitySpan",
    "bio_spans",
    "classification_metrics",
    "entity_metrics",
    "multilabel_metrics",
]
