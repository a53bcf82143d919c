"""Why a group does worse: its commonest errors, the words it misses more than the best
group, its error rate by utterance duration and speaking rate, and its worst utterances.

Everything here is descriptive — counts from the alignment the report's rates come from, no
intervals — and says so in the report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from voxtext_fairness.alignment import Alignment, ScoredPredictions
from voxtext_fairness.group_stats import GroupedCounts
from voxtext_fairness.records import Prediction
from voxtext_fairness.report import (
    AlignedUtterance,
    BinRate,
    ConfusionMatrix,
    ErrorPair,
    Explanations,
    GroupExplanation,
    MissedWord,
    finite_or_none,
)

TOP_PAIRS = 8
TOP_WORDS = 10
WORST_UTTERANCES = 3
N_BINS = 3  # tertiles over the whole set, so every group is binned on the same edges
_KINDS = {"substitute": "substitution", "delete": "deletion", "insert": "insertion"}


def explain_groups(
    scored: ScoredPredictions,
    counts: GroupedCounts,
    attributes: Sequence[str],
    unit: str,
    metric: str,
    *,
    with_words: bool,
) -> Explanations:
    """Explanations for each group of ``counts``; ``with_words`` adds word-level error pairs
    and missed words (off for unspaced scripts, where a "word" is a whole sentence)."""
    rates = _group_rates(counts)
    defined = [k for k in range(len(counts.labels)) if np.isfinite(rates[k])]
    best = min(defined, key=lambda k: rates[k]) if defined else None
    words = scored.alignments["word"]
    misses = _word_misses(words, counts) if with_words else None
    duration_edges, rate_edges, notes = _bin_edges(counts)
    speaking_rate = counts.units / counts.durations
    groups = []
    for k, label in enumerate(counts.labels):
        members = np.flatnonzero(counts.group == k)
        units = ["char", "word"] if with_words else ["char"]
        groups.append(
            GroupExplanation(
                group=label,
                top_errors={u: _top_pairs(scored.alignments[u], members) for u in units},
                missed_words=_missed_words(misses, k, best) if misses is not None else [],
                by_duration=_binned(counts, members, counts.durations, duration_edges, "s"),
                by_speaking_rate=_binned(counts, members, speaking_rate, rate_edges, "/s"),
                worst_utterances=_worst(scored, counts, members),
            )
        )
    return Explanations(
        attributes=list(attributes),
        metric=metric,
        best=counts.labels[best] if best is not None else None,
        groups=groups,
        speaking_rate_unit=f"reference {'characters' if unit == 'char' else 'words'} per second",
        notes=notes,
    )


def _group_rates(counts: GroupedCounts) -> np.ndarray:
    k = len(counts.labels)
    errors = np.bincount(counts.group, weights=counts.errors, minlength=k)
    units = np.bincount(counts.group, weights=counts.units, minlength=k)
    with np.errstate(all="ignore"):
        return np.where(units > 0, errors / units, np.nan)


def _top_pairs(alignment: Alignment, members: np.ndarray) -> list[ErrorPair]:
    """The commonest substitution, deletion and insertion pairs of these utterances."""
    tally: Counter[tuple[str, str, str]] = Counter()
    for i in members:
        ref, hyp = alignment.references[i], alignment.hypotheses[i]
        for chunk in alignment.chunks[i]:
            if chunk.type == "substitute":  # jiwer's substitute chunks pair unit by unit
                pairs = zip(
                    ref[chunk.ref_start_idx : chunk.ref_end_idx],
                    hyp[chunk.hyp_start_idx : chunk.hyp_end_idx],
                    strict=True,
                )
                tally.update(("substitution", r, h) for r, h in pairs)
            elif chunk.type == "delete":
                tally.update(
                    ("deletion", r, "") for r in ref[chunk.ref_start_idx : chunk.ref_end_idx]
                )
            elif chunk.type == "insert":
                tally.update(
                    ("insertion", "", h) for h in hyp[chunk.hyp_start_idx : chunk.hyp_end_idx]
                )
    ranked = sorted(tally.items(), key=lambda item: (-item[1], item[0]))[:TOP_PAIRS]
    return [ErrorPair(kind, r, h, n) for (kind, r, h), n in ranked]


def _word_misses(
    alignment: Alignment, counts: GroupedCounts
) -> list[tuple[Counter[str], Counter[str]]]:
    """Per group: (occurrences, misses) of each reference word; a miss is a deletion or a
    substitution of it."""
    out = [(Counter[str](), Counter[str]()) for _ in counts.labels]
    for i, chunks in enumerate(alignment.chunks):
        seen, missed = out[int(counts.group[i])]
        ref = alignment.references[i]
        seen.update(ref)
        for chunk in chunks:
            if chunk.type in ("substitute", "delete"):
                missed.update(ref[chunk.ref_start_idx : chunk.ref_end_idx])
    return out


def _missed_words(
    misses: list[tuple[Counter[str], Counter[str]]], k: int, best: int | None
) -> list[MissedWord]:
    """Words group ``k`` misses most beyond the best group's rate for the same word (the best
    group's overall word miss rate for words it never saw)."""
    seen, missed = misses[k]
    if best is None:
        return []
    best_seen, best_missed = misses[best]
    best_overall = sum(best_missed.values()) / max(1, sum(best_seen.values()))
    rows = []
    for word, n in seen.items():
        if missed[word] == 0:
            continue
        best_rate = best_missed[word] / best_seen[word] if best_seen[word] else None
        expected = n * (best_rate if best_rate is not None else best_overall)
        rows.append(
            MissedWord(word, n, missed[word], missed[word] / n, best_rate, missed[word] - expected)
        )
    if k == best:  # the best group against itself: its most-missed words, excess zero
        rows.sort(key=lambda r: (-r.missed, r.word))
    else:
        rows.sort(key=lambda r: (-r.excess, r.word))
    return rows[:TOP_WORDS]


def _bin_edges(counts: GroupedCounts) -> tuple[np.ndarray | None, np.ndarray | None, list[str]]:
    known = np.isfinite(counts.durations)
    if not known.all():
        return (
            None,
            None,
            [
                f"{int((~known).sum())} utterances have no duration: the error rate by duration "
                "and speaking rate needs 'duration' on every prediction"
            ],
        )
    if len(counts.durations) < N_BINS:
        return None, None, ["too few utterances to bin by duration and speaking rate"]
    quantiles = np.linspace(0, 1, N_BINS + 1)[1:-1]
    speaking_rate = counts.units / counts.durations
    return (
        np.quantile(counts.durations, quantiles),
        np.quantile(speaking_rate, quantiles),
        ["bins are tertiles over all utterances, the same edges for every group"],
    )


def _binned(
    counts: GroupedCounts,
    members: np.ndarray,
    values: np.ndarray,
    edges: np.ndarray | None,
    suffix: str,
) -> list[BinRate]:
    if edges is None:
        return []
    which = np.searchsorted(edges, values[members], side="right")
    bounds = [-np.inf, *edges, np.inf]
    out = []
    for b in range(len(edges) + 1):
        inside = members[which == b]
        units, errors = int(counts.units[inside].sum()), int(counts.errors[inside].sum())
        out.append(
            BinRate(
                _bin_label(bounds[b], bounds[b + 1], suffix),
                len(inside),
                units,
                errors,
                finite_or_none(errors / units) if units else None,
            )
        )
    return out


def _bin_label(low: float, high: float, suffix: str) -> str:
    if not np.isfinite(low):
        return f"< {high:.2f}{suffix}"
    if not np.isfinite(high):
        return f"≥ {low:.2f}{suffix}"
    return f"{low:.2f}–{high:.2f}{suffix}"


def _worst(
    scored: ScoredPredictions, counts: GroupedCounts, members: np.ndarray
) -> list[AlignedUtterance]:
    """The group's utterances with the most errors as ``counts`` counts them (ties: higher
    rate), shown
    aligned in words when the reference is spaced text (a character alignment without its
    spaces is unreadable there) and in characters otherwise."""
    order = sorted(
        members,
        key=lambda i: (-counts.errors[i], -counts.errors[i] / max(1, counts.units[i]), i),
    )
    out = []
    for i in order[:WORST_UTTERANCES]:
        if counts.errors[i] == 0:
            break
        words = scored.alignments["word"]
        spaced = len(words.references[i]) > 1
        alignment = words if spaced else scored.alignments["char"]
        prediction = scored.predictions[i]
        out.append(
            AlignedUtterance(
                prediction.id,
                prediction.speaker,
                int(counts.errors[i]),
                int(counts.units[i]),
                finite_or_none(counts.errors[i] / counts.units[i]) if counts.units[i] else None,
                aligned_segments(alignment, int(i)),
            )
        )
    return out


def aligned_segments(alignment: Alignment, index: int) -> list[dict[str, str]]:
    """Utterance ``index`` as segments ``{"type", "ref", "hyp"}`` in alignment order."""
    joiner = "" if alignment.unit == "char" else " "
    ref, hyp = alignment.references[index], alignment.hypotheses[index]
    return [
        {
            "type": chunk.type,
            "ref": joiner.join(ref[chunk.ref_start_idx : chunk.ref_end_idx]),
            "hyp": joiner.join(hyp[chunk.hyp_start_idx : chunk.hyp_end_idx]),
        }
        for chunk in alignment.chunks[index]
    ]


def confusion_matrix(predictions: Sequence[Prediction], attribute: str) -> ConfusionMatrix | None:
    """True against identified ``attribute`` over the predictions that carry an identified
    value for it; None when none does (the model is not group-aware, or was told)."""
    pairs = [
        (p.groups[attribute], p.predicted_groups[attribute])
        for p in predictions
        if attribute in p.predicted_groups
    ]
    if not pairs:
        return None
    labels = sorted({t for t, _ in pairs} | {q for _, q in pairs})
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for truth, guess in pairs:
        counts[index[truth]][index[guess]] += 1
    right = sum(counts[i][i] for i in range(len(labels)))
    return ConfusionMatrix(attribute, labels, counts, right / len(pairs), len(pairs))
