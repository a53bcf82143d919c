"""Predictions and scores of a text model over encoded data: class probabilities, tags,
masked-LM accuracy, and the metric dictionaries dev evaluation and reports use.

Batches are sorted by length (little padding) and the results put back in input order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from voxtext.data.batching import length_sorted_batches
from voxtext.protocols import TextTokenizer
from voxtext.text.config import MLMConfig, TaskKind
from voxtext.text.dataset import IGNORE, EncodedText, LabelSet, collate
from voxtext.text.metrics import (
    ClassificationMetrics,
    EntityMetrics,
    classification_metrics,
    entity_metrics,
    multilabel_metrics,
)

ProbabilityFn = Callable[[Sequence[EncodedText]], list[torch.Tensor]]


@torch.no_grad()
def predict_probabilities(
    model: nn.Module,
    items: Sequence[EncodedText],
    *,
    task: str = "main",
    multi_label: bool = False,
    pad_id: int = 0,
    batch_size: int = 128,
) -> list[torch.Tensor]:
    """Per item: class probabilities ``(labels,)`` (sigmoid for multi-label, else softmax),
    or for a token head ``(tokens, labels)`` softmax rows, float32 on the CPU."""
    device = next(model.parameters()).device
    out: list[torch.Tensor | None] = [None] * len(items)
    for indices in length_sorted_batches([len(i.input_ids) for i in items], max_items=batch_size):
        batch = collate([items[i] for i in indices], pad_id, task)
        logits = model(batch["input_ids"].to(device), batch["lengths"].to(device), task).float()
        probs = torch.sigmoid(logits) if multi_label else torch.softmax(logits, dim=-1)
        for row, index in enumerate(indices):
            out[index] = (
                probs[row, : int(batch["lengths"][row])].cpu()
                if probs.dim() == 3
                else probs[row].cpu()
            )
    return [p for p in out if p is not None]


@dataclass(frozen=True)
class ClassPrediction:
    """A predicted class (or, multi-label, the classes over 0.5) with its probability."""

    label: Any
    score: float
    probabilities: tuple[float, ...]


def decide_classes(
    probabilities: Sequence[torch.Tensor], labels: LabelSet
) -> list[ClassPrediction]:
    out = []
    for probs in probabilities:
        values = probs.tolist()
        if labels.multi_label:
            chosen = tuple(v for v, p in zip(labels.values, values, strict=True) if p > 0.5)
            score = min((p for p in values if p > 0.5), default=1.0 - max(values))
            out.append(ClassPrediction(chosen, float(score), tuple(values)))
        else:
            best = int(probs.argmax())
            out.append(ClassPrediction(labels.values[best], float(values[best]), tuple(values)))
    return out


def decide_tags(
    probabilities: Sequence[torch.Tensor], items: Sequence[EncodedText], labels: LabelSet
) -> list[list[str]]:
    """Word tags: each word takes the tag of its first token (the one it was trained on);
    words cut off by truncation are tagged ``O``."""
    out = []
    for probs, item in zip(probabilities, items, strict=True):
        best = probs.argmax(dim=-1).tolist()
        tags = [
            str(labels.values[b]) for b, t in zip(best, item.target, strict=True) if t != IGNORE
        ]
        out.append(tags)
    return out


def classification_scores(
    truth: Sequence[Any], predictions: Sequence[ClassPrediction], labels: LabelSet
) -> ClassificationMetrics:
    preds = [p.label for p in predictions]
    if labels.multi_label:
        return multilabel_metrics(
            [t if isinstance(t, tuple) else (t,) for t in truth], preds, label_order=labels.values
        )
    return classification_metrics(list(truth), preds, label_order=labels.values)


def tagging_scores(
    truth: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> EntityMetrics:
    """Entity scores; predictions of words lost to truncation count as ``O``."""
    padded = [list(p) + ["O"] * (len(t) - len(p)) for t, p in zip(truth, predicted, strict=True)]
    return entity_metrics([list(t) for t in truth], padded)


def metric_dict(scores: ClassificationMetrics | EntityMetrics, prefix: str) -> dict[str, float]:
    """The headline numbers as ``<prefix>accuracy``, ``<prefix>macro_f1``, …"""
    names = ["accuracy", "macro_precision", "macro_recall", "macro_f1", "micro_f1", "weighted_f1"]
    out = {f"{prefix}{n}": float(getattr(scores, n)) for n in names}
    if isinstance(scores, EntityMetrics):
        out.update(
            {
                f"{prefix}precision": scores.precision,
                f"{prefix}recall": scores.recall,
                f"{prefix}f1": scores.f1,
            }
        )
    return out


@torch.no_grad()
def masked_lm_scores(
    model: nn.Module,
    items: Sequence[EncodedText],
    tokenizer: TextTokenizer,
    config: MLMConfig,
    *,
    batch_size: int = 128,
    seed: int = 1234,
) -> dict[str, float]:
    """Masked-token accuracy and mean cross-entropy with a fixed masking (comparable across
    evaluations)."""
    from voxtext.text.losses import mask_tokens

    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    correct = total = 0
    loss = 0.0
    for indices in length_sorted_batches([len(i.input_ids) for i in items], max_items=batch_size):
        batch = mask_tokens(
            collate([items[i] for i in indices], tokenizer.pad_id), tokenizer, config, generator
        )
        positions = batch["mlm_labels"] != IGNORE
        logits = model(
            batch["input_ids"].to(device),
            batch["lengths"].to(device),
            "main",
            positions=positions.to(device),
        ).float()
        targets = batch["mlm_labels"][positions].to(device)
        loss += float(nn.functional.cross_entropy(logits, targets, reduction="sum"))
        correct += int((logits.argmax(-1) == targets).sum())
        total += int(targets.numel())
    return {"mlm_accuracy": correct / max(total, 1), "mlm_loss": loss / max(total, 1)}


def task_scores(
    model: nn.Module,
    items: Sequence[EncodedText],
    truth: Sequence[Any],
    *,
    kind: TaskKind,
    labels: LabelSet,
    task: str,
    pad_id: int,
    batch_size: int,
) -> ClassificationMetrics | EntityMetrics:
    """Scores of ``task``'s head on encoded ``items`` against ``truth`` (labels or tag lists)."""
    probs = predict_probabilities(
        model,
        items,
        task=task,
        multi_label=labels.multi_label,
        pad_id=pad_id,
        batch_size=batch_size,
    )
    if kind == "token-classification":
        return tagging_scores(truth, decide_tags(probs, items, labels))
    return classification_scores(truth, decide_classes(probs, labels), labels)
