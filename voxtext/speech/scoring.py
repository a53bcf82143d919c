"""The one scoring path: the CER/WER that selects a checkpoint on dev is the one the fairness
report prints (``voxtext_fairness`` builds its per-utterance counts on :func:`align`).

Units, the same everywhere:

- ``"char"`` (CER): every character except whitespace. How a hypothesis spaces its words is
  not a character error (Han text has no spaces, and a recogniser that writes ``ab cd`` for
  ``abcd`` recognised every character); word segmentation is what WER measures.
- ``"word"`` (WER): whitespace-separated tokens.

Rates are micro averages — all errors over all reference units — and an utterance with an
empty reference still counts its insertions. Texts are scored as given: normalise both
sides first with a registered text normaliser (training uses a run's ``text_normalizer``,
:func:`text_normalizer`; the report its ``normalizer``; the recipes set both to the same one).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jiwer
import numpy as np

Unit = Literal["char", "word"]
METRIC_NAMES = {"char": "CER", "word": "WER"}
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ErrorCounts:
    """Per-utterance counts, each an int64 array of shape ``(utterances,)``."""

    substitutions: np.ndarray
    deletions: np.ndarray
    insertions: np.ndarray
    reference_units: np.ndarray

    @property
    def errors(self) -> np.ndarray:
        return self.substitutions + self.deletions + self.insertions

    def rate(self) -> float:
        """All errors over all reference units; NaN when there are no reference units."""
        units = int(self.reference_units.sum())
        return int(self.errors.sum()) / units if units else float("nan")


@dataclass(frozen=True)
class Alignment:
    """jiwer's alignment of each reference with its hypothesis, in ``unit`` units.

    ``references[i]``/``hypotheses[i]``: the units of utterance ``i``; ``chunks[i]``: jiwer
    ``AlignmentChunk``s (``type`` equal/substitute/delete/insert and index ranges).
    """

    unit: Unit
    references: list[list[str]]
    hypotheses: list[list[str]]
    chunks: list[list[Any]]

    def counts(self) -> ErrorCounts:
        size = len(self.chunks)
        out = {name: np.zeros(size, dtype=np.int64) for name in ("S", "D", "I", "N")}
        for index, (chunks, reference) in enumerate(zip(self.chunks, self.references, strict=True)):
            out["N"][index] = len(reference)
            for chunk in chunks:
                if chunk.type == "substitute":
                    out["S"][index] += chunk.ref_end_idx - chunk.ref_start_idx
                elif chunk.type == "delete":
                    out["D"][index] += chunk.ref_end_idx - chunk.ref_start_idx
                elif chunk.type == "insert":
                    out["I"][index] += chunk.hyp_end_idx - chunk.hyp_start_idx
        return ErrorCounts(out["S"], out["D"], out["I"], out["N"])


def align(references: Sequence[str], hypotheses: Sequence[str], unit: Unit) -> Alignment:
    """Align each (already normalised) reference with its hypothesis in ``unit`` units."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if unit not in METRIC_NAMES:
        raise ValueError(f"unit must be 'char' or 'word', got {unit!r}")
    if not references:
        return Alignment(unit, [], [], [])
    output: jiwer.CharacterOutput | jiwer.WordOutput
    if unit == "char":
        refs = [_WHITESPACE.sub("", text) for text in references]
        hyps = [_WHITESPACE.sub("", text) for text in hypotheses]
        output = jiwer.process_characters(refs, hyps)
    else:
        output = jiwer.process_words(list(references), list(hypotheses))
    return Alignment(
        unit,
        [list(r) for r in output.references],
        [list(h) for h in output.hypotheses],
        [list(c) for c in output.alignments],
    )


def count_errors(references: Sequence[str], hypotheses: Sequence[str], unit: Unit) -> ErrorCounts:
    """Per-utterance substitutions, deletions, insertions and reference units."""
    return align(references, hypotheses, unit).counts()


def error_rate(references: Sequence[str], hypotheses: Sequence[str], unit: Unit) -> float:
    """CER (``unit="char"``) or WER (``"word"``) over all pairs, micro-averaged."""
    return count_errors(references, hypotheses, unit).rate()


def grouped_error_rates(
    references: Sequence[str],
    hypotheses: Sequence[str],
    groups: Sequence[Mapping[str, str]],
    group_by: Sequence[str],
    *,
    unit: Unit = "char",
    prefix: str = "dev_",
    worst_of: str | None = None,
) -> dict[str, float]:
    """``{prefix}cer`` overall, ``{prefix}cer/<attr>=<value>`` per group value,
    ``{prefix}worst_cer/<attr>`` per attribute and ``{prefix}worst_cer``: the worst group of
    attribute ``worst_of`` (of every attribute when ``None``), for selecting on the worst
    dialect. Only groups present in the data with a non-empty reference count: a group absent
    from dev (or a value unseen there) neither fails nor hides the others."""
    if worst_of is not None and worst_of not in group_by:
        raise ValueError(f"worst_of={worst_of!r} is not among group_by {list(group_by)}")
    name = METRIC_NAMES[unit].lower()
    counts = count_errors(references, hypotheses, unit)  # aligned once, summed per group
    errors, units = counts.errors, counts.reference_units
    metrics = {f"{prefix}{name}": counts.rate()}
    worst_per_attribute: dict[str, float] = {}
    for attribute in group_by:
        members: dict[str, list[int]] = defaultdict(list)
        for i, g in enumerate(groups):
            if attribute in g:
                members[g[attribute]].append(i)
        rates = []
        for value, index in sorted(members.items()):
            total = int(units[index].sum())
            rate = int(errors[index].sum()) / total if total else float("nan")
            metrics[f"{prefix}{name}/{attribute}={value}"] = rate
            if not math.isnan(rate):  # nan: the group has only empty references
                rates.append(rate)
        worst_per_attribute[attribute] = max(rates, default=float("nan"))
        if len(group_by) > 1:
            metrics[f"{prefix}worst_{name}/{attribute}"] = worst_per_attribute[attribute]
    if group_by:
        considered = [worst_per_attribute[worst_of]] if worst_of else worst_per_attribute.values()
        finite = [rate for rate in considered if not math.isnan(rate)]
        metrics[f"{prefix}worst_{name}"] = max(finite, default=float("nan"))
    return metrics


def text_normalizer(name: str | None) -> Callable[[str], str]:
    """The registered text normaliser ``name`` (``text_normalizers``), or the identity."""
    if name is None:
        return lambda text: text
    import voxtext

    normalizer: Callable[[str], str] = voxtext.registry("text_normalizers").create(name)
    return normalizer
