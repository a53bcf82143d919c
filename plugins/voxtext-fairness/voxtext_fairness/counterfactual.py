"""Counterfactual token fairness for text classifiers (Garg et al. 2019).

Swap group terms (``he`` <-> ``she``, ``Cantonese`` <-> ``Mandarin``) in each text and
measure how much the model's score moves: a fair model scores ``x`` and its counterfactual
``x'`` alike. The gap is the mean ``|f(x) − f(x')|`` over texts the swap changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from voxtext.errors import ConfigError
from voxtext_fairness.report import finite_or_none
from voxtext_fairness.resampling import make_rng, percentile_interval


@dataclass
class CounterfactualResult:
    texts: int
    changed: int
    mean_abs_difference: float | None
    ci: tuple[float | None, float | None]
    max_abs_difference: float | None
    examples: list[dict[str, object]] = field(default_factory=list)


def swap_terms(text: str, pattern: re.Pattern[str], mapping: dict[str, str]) -> str:
    """Replace every paired term by its partner in one pass (so a -> b never turns back)."""

    def partner(match: re.Match[str]) -> str:
        word = match.group(0)
        swapped = mapping[word.casefold()]
        if word.isupper() and len(word) > 1:
            return swapped.upper()
        return swapped[:1].upper() + swapped[1:] if word[:1].isupper() else swapped

    return pattern.sub(partner, text)


def counterfactual_gap(
    texts: Sequence[str],
    score: Callable[[list[str]], Sequence[float]],
    term_pairs: Sequence[tuple[str, str]],
    *,
    word_boundaries: bool = True,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> CounterfactualResult:
    """``score(list_of_texts)`` returns one number per text (e.g. P(toxic))."""
    mapping: dict[str, str] = {}
    for pair in term_pairs:
        if len(pair) != 2 or not all(isinstance(t, str) and t.strip() for t in pair):
            raise ConfigError(f"term pair {pair!r}: give two non-empty strings, e.g. ('he', 'she')")
        a, b = pair
        mapping[a.casefold()], mapping[b.casefold()] = b, a
    if not mapping:
        raise ConfigError("term_pairs is empty: give pairs such as [('he', 'she')]")
    alternatives = "|".join(re.escape(t) for t in sorted(mapping, key=len, reverse=True))
    # Word boundaries for spaced scripts; Han text has none, so terms match anywhere there.
    pattern = re.compile(
        rf"\b(?:{alternatives})\b" if word_boundaries else alternatives, re.IGNORECASE
    )
    originals = list(texts)
    swapped = [swap_terms(t, pattern, mapping) for t in originals]
    changed = [i for i, (a, b) in enumerate(zip(originals, swapped, strict=True)) if a != b]
    if not changed:
        return CounterfactualResult(len(originals), 0, None, (None, None), None)
    before = np.asarray(score([originals[i] for i in changed]), dtype=float)
    after = np.asarray(score([swapped[i] for i in changed]), dtype=float)
    if before.shape != (len(changed),) or after.shape != (len(changed),):
        raise ConfigError(
            f"score returned {before.shape} values for {len(changed)} texts: "
            "it must return one number per text"
        )
    difference = np.abs(before - after)
    draws = make_rng(seed).integers(0, len(difference), size=(n_boot, len(difference)))
    low, high = percentile_interval(difference[draws].mean(axis=1)[:, None], confidence)
    top = np.argsort(-difference, kind="stable")[:5]
    examples = [
        {
            "text": originals[changed[i]],
            "counterfactual": swapped[changed[i]],
            "score": float(before[i]),
            "counterfactual_score": float(after[i]),
        }
        for i in top
    ]
    return CounterfactualResult(
        len(originals),
        len(changed),
        float(difference.mean()),
        (finite_or_none(low[0]), finite_or_none(high[0])),
        float(difference.max()),
        examples,
    )
