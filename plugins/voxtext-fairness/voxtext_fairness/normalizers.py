"""Text normalisers applied to references and hypotheses before error rates are counted.

Two transcripts that differ only in width (``ＡＢＣ`` vs ``ABC``), case or punctuation should
not count as recognition errors, or a dialect whose transcribers write full-width punctuation
looks worse than it is. Every report records ``describe()`` of the normaliser it used, so two
reports are only compared when they normalised the same way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

_WHITESPACE = re.compile(r"\s+")
_APOSTROPHES = "'\u2019\u02bc\uff07"  # ASCII, right single quote, modifier letter, full-width


@dataclass(frozen=True)
class DefaultNormalizerConfig:
    """What the ``default`` normaliser does, step by step, in this order.

    ``nfkc``: Unicode NFKC, which also maps full-width Latin letters, digits and punctuation
    to their ASCII forms and half-width katakana to full width.
    ``casefold``: Unicode case folding (``Straße`` -> ``strasse``), stronger than ``lower()``.
    ``remove_punctuation``: every character of Unicode category P* becomes a space (so
    ``a,b`` -> ``a b`` and ``你好。`` -> ``你好``).
    ``inner_apostrophes``: ``"keep"`` keeps an apostrophe between two letters (``don't``)
    as ASCII ``'`` even when punctuation is removed; ``"remove"`` joins the letters
    (``dont``).
    ``numerals``: ``"keep"`` leaves digits; ``"ascii"`` maps every Unicode decimal digit
    (Devanagari ``४``, Arabic-Indic ``٤``) to ``0-9``; ``"remove"`` drops digits, for corpora
    whose numbers are transcribed inconsistently.
    Whitespace is always collapsed to single spaces and stripped.
    """

    nfkc: bool = True
    casefold: bool = True
    remove_punctuation: bool = True
    inner_apostrophes: Literal["keep", "remove"] = "keep"
    numerals: Literal["keep", "ascii", "remove"] = "keep"


class DefaultTextNormalizer:
    """NFKC, case folding, punctuation removal, numeral handling and whitespace collapse."""

    def __init__(self, config: DefaultNormalizerConfig | None = None) -> None:
        self.config = config or DefaultNormalizerConfig()

    def __call__(self, text: str) -> str:
        config = self.config
        if config.nfkc:
            text = unicodedata.normalize("NFKC", text)
        if config.casefold:
            text = text.casefold()
        if config.numerals != "keep":
            text = self._numerals(text)
        if config.remove_punctuation:
            text = self._remove_punctuation(text)
        return _WHITESPACE.sub(" ", text).strip()

    def _numerals(self, text: str) -> str:
        if self.config.numerals == "remove":
            return "".join(" " if unicodedata.category(c) == "Nd" else c for c in text)
        return "".join(
            str(unicodedata.decimal(c)) if unicodedata.category(c) == "Nd" else c for c in text
        )

    def _remove_punctuation(self, text: str) -> str:
        out: list[str] = []
        for index, char in enumerate(text):
            if not unicodedata.category(char).startswith("P"):
                out.append(char)
            elif char in _APOSTROPHES and _between_letters(text, index):
                # "don't" stays one word: splitting it would add an insertion per contraction.
                out.append("'" if self.config.inner_apostrophes == "keep" else "")
            else:
                out.append(" ")
        return "".join(out)

    def describe(self) -> dict[str, Any]:
        config = self.config
        steps = []
        if config.nfkc:
            steps.append("unicode NFKC (full-width to half-width forms)")
        if config.casefold:
            steps.append("case folding")
        if config.numerals == "ascii":
            steps.append("decimal digits of every script to ASCII 0-9")
        elif config.numerals == "remove":
            steps.append("digits removed")
        if config.remove_punctuation:
            steps.append(
                f"punctuation (Unicode P*) removed; inner apostrophes "
                f"{'kept' if config.inner_apostrophes == 'keep' else 'removed'}"
            )
        steps.append("whitespace collapsed")
        return {
            "name": "default",
            "nfkc": config.nfkc,
            "casefold": config.casefold,
            "remove_punctuation": config.remove_punctuation,
            "inner_apostrophes": config.inner_apostrophes,
            "numerals": config.numerals,
            "steps": steps,
        }


def _between_letters(text: str, index: int) -> bool:
    return 0 < index < len(text) - 1 and text[index - 1].isalpha() and text[index + 1].isalpha()


class IdentityTextNormalizer:
    """Leaves text as it is: scores exactly what the recogniser wrote."""

    def __call__(self, text: str) -> str:
        return text

    def describe(self) -> dict[str, Any]:
        return {"name": "none", "steps": ["text scored exactly as written"]}
