"""Scoring types of the fairness report: units, per-utterance counts and alignments.

The counting itself is voxtext's own (:mod:`voxtext.speech.scoring`, on jiwer's alignment), the
one that selects checkpoints on dev, so a report's CER is the dev CER of the same predictions
by construction. Here: which unit a corpus is scored in, and the scored predictions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from voxtext.speech.scoring import METRIC_NAMES, Alignment, ErrorCounts, Unit, align, count_errors
from voxtext_fairness.records import Prediction

__all__ = [
    "METRIC_NAMES",
    "Alignment",
    "ErrorCounts",
    "ScoredPredictions",
    "Unit",
    "align",
    "choose_unit",
    "count_errors",
    "unspaced_script_fraction",
]

# Scripts written without spaces between words: error rates are counted in characters there.
_UNSPACED_SCRIPT = re.compile(
    "[\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han (extension A, unified, compatibility)
    "\U00020000-\U0003134f"  # Han extensions B-G
    "\u0e00-\u0e7f\u0e80-\u0eff"  # Thai, Lao
    "\u1000-\u109f\u1780-\u17ff"  # Myanmar, Khmer
    "\u0f00-\u0fff"  # Tibetan
    "]"
)


@dataclass
class ScoredPredictions:
    """Validated predictions, their alignment in characters and in words (the explanations
    use both), and the per-utterance counts of the units the report is scored in."""

    predictions: list[Prediction]
    alignments: dict[str, Alignment]
    counts: dict[str, ErrorCounts]

    @classmethod
    def of(
        cls, predictions: list[Prediction], refs: list[str], hyps: list[str], units: list[Unit]
    ) -> ScoredPredictions:
        alignments = {u: align(refs, hyps, u) for u in ("char", "word")}
        return cls(predictions, alignments, {u: alignments[u].counts() for u in units})


def unspaced_script_fraction(texts: Sequence[str]) -> float:
    """The fraction of letters in ``texts`` from scripts written without word spaces."""
    unspaced = sum(len(_UNSPACED_SCRIPT.findall(text)) for text in texts)
    letters = sum(sum(1 for c in text if c.isalpha()) for text in texts)
    return unspaced / letters if letters else 0.0


def choose_unit(references: Sequence[str]) -> Unit:
    """``"char"`` when most letters of the references are Han, kana, Thai and the like."""
    return "char" if unspaced_script_fraction(references) >= 0.5 else "word"
