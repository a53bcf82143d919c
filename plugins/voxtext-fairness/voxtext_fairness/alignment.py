"""Per-utterance substitutions, deletions, insertions and reference length from jiwer.

jiwer's alignment is the reference everyone cross-checks error rates against, so the counts
come from it rather than from an edit distance of our own; only the per-utterance bookkeeping
(summing alignment chunks) happens here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Unit = Literal["char", "word"]

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
_WHITESPACE = re.compile(r"\s+")

METRIC_NAMES = {"char": "CER", "word": "WER"}


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


def unspaced_script_fraction(texts: Sequence[str]) -> float:
    """The fraction of letters in ``texts`` from scripts written without word spaces."""
    unspaced = sum(len(_UNSPACED_SCRIPT.findall(text)) for text in texts)
    letters = sum(sum(1 for c in text if c.isalpha()) for text in texts)
    return unspaced / letters if letters else 0.0


def choose_unit(references: Sequence[str]) -> Unit:
    """``"char"`` when most letters of the references are Han, kana, Thai and the like."""
    return "char" if unspaced_script_fraction(references) >= 0.5 else "word"


def count_errors(references: Sequence[str], hypotheses: Sequence[str], unit: Unit) -> ErrorCounts:
    """Align each reference with its hypothesis (already normalised) in ``unit`` units.

    Character units drop all whitespace first: a space is not a character of Han text, and
    a recogniser that inserts spaces between characters has made no recognition error.
    """
    import jiwer

    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    size = len(references)
    counts = {name: np.zeros(size, dtype=np.int64) for name in ("S", "D", "I", "N")}
    if size == 0:
        return _as_counts(counts)
    if unit == "char":
        refs = [_WHITESPACE.sub("", text) for text in references]
        hyps = [_WHITESPACE.sub("", text) for text in hypotheses]
        output = jiwer.process_characters(refs, hyps)
    else:
        output = jiwer.process_words(list(references), list(hypotheses))
    for index, (chunks, reference) in enumerate(
        zip(output.alignments, output.references, strict=True)
    ):
        counts["N"][index] = len(reference)
        for chunk in chunks:
            if chunk.type == "substitute":
                counts["S"][index] += chunk.ref_end_idx - chunk.ref_start_idx
            elif chunk.type == "delete":
                counts["D"][index] += chunk.ref_end_idx - chunk.ref_start_idx
            elif chunk.type == "insert":
                counts["I"][index] += chunk.hyp_end_idx - chunk.hyp_start_idx
    return _as_counts(counts)


def _as_counts(counts: dict[str, np.ndarray]) -> ErrorCounts:
    return ErrorCounts(counts["S"], counts["D"], counts["I"], counts["N"])
