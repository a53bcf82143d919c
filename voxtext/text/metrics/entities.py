"""Entity-level scores of BIO/IOBES tag sequences, seqeval's default (conlleval) way."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from voxtext.data.tokens import OUTSIDE, split_tag
from voxtext.errors import DataError
from voxtext.text.metrics.counting import check_same_length, class_scores
from voxtext.text.metrics.results import EntityMetrics, EntitySpan


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
    scores = class_scores(hits, predicted, true, types)
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
    check_same_length(true_tags, pred_tags, "true_tags", "pred_tags", "sentence")
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
