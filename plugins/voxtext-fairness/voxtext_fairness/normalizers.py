"""Text normalisers applied to references and hypotheses before error rates are counted.

Two transcripts that differ only in width (``ＡＢＣ`` vs ``ABC``), case or punctuation should
not count as recognition errors, or a dialect whose transcribers write full-width punctuation
looks worse than it is. The same holds for spelling conventions: a recogniser that writes
"harbor" for a British "harbour", or answers Mandarin in traditional characters (``內容``)
where the references are simplified (``内容``), made no recognition error, and counting one is
an accent-fairness bug in the metric itself. Every report records ``describe()`` of the
normaliser it used, so two reports are only compared when they normalised the same way.

Registered: ``default``, ``english-spelling`` (default, then British to American spelling from
``data/english_spelling.tsv``, our own table), ``zh-hans`` (default, then traditional to
simplified Chinese through OpenCC's ``t2s`` tables) and ``none``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar, Literal

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
    ``spelling``: ``"american"`` maps British and Commonwealth spellings word by word to
    American ones (``harbour`` -> ``harbor``, ``organise`` -> ``organize``), from the table
    ``data/english_spelling.tsv``; ``"keep"`` leaves them.
    ``chinese_script``: ``"simplified"`` converts traditional Chinese characters to
    simplified ones with OpenCC's ``t2s`` conversion (phrase-aware); ``"keep"`` leaves them.
    Whitespace is always collapsed to single spaces and stripped.
    """

    name: ClassVar[str] = "default"
    nfkc: bool = True
    casefold: bool = True
    remove_punctuation: bool = True
    inner_apostrophes: Literal["keep", "remove"] = "keep"
    numerals: Literal["keep", "ascii", "remove"] = "keep"
    spelling: Literal["keep", "american"] = "keep"
    chinese_script: Literal["keep", "simplified"] = "keep"


@dataclass(frozen=True)
class EnglishSpellingConfig(DefaultNormalizerConfig):
    """The ``default`` steps, then British to American spelling (see the fields there)."""

    name: ClassVar[str] = "english-spelling"
    spelling: Literal["keep", "american"] = "american"


@dataclass(frozen=True)
class ChineseSimplifiedConfig(DefaultNormalizerConfig):
    """The ``default`` steps, then traditional to simplified Chinese (OpenCC ``t2s``)."""

    name: ClassVar[str] = "zh-hans"
    chinese_script: Literal["keep", "simplified"] = "simplified"


class DefaultTextNormalizer:
    """NFKC, case folding, punctuation removal, numeral handling, optional spelling and
    Chinese-script conversion, and whitespace collapse (the ``default``, ``english-spelling``
    and ``zh-hans`` normalisers are this class with different defaults)."""

    def __init__(self, config: DefaultNormalizerConfig | None = None) -> None:
        self.config = config or DefaultNormalizerConfig()
        self._to_simplified = (
            _opencc_t2s().convert if self.config.chinese_script == "simplified" else None
        )

    def __call__(self, text: str) -> str:
        config = self.config
        if config.nfkc:
            text = unicodedata.normalize("NFKC", text)
        if self._to_simplified is not None:
            text = self._to_simplified(text)
        if config.casefold:
            text = text.casefold()
        if config.numerals != "keep":
            text = self._numerals(text)
        if config.remove_punctuation:
            text = self._remove_punctuation(text)
        text = _WHITESPACE.sub(" ", text).strip()
        if config.spelling == "american":
            text = " ".join(_american(word) for word in text.split(" "))
        return text

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
        if config.chinese_script == "simplified":
            import opencc

            version = getattr(opencc, "__version__", "unknown")
            steps.insert(1, f"traditional to simplified Chinese (OpenCC t2s, opencc {version})")
        if config.spelling == "american":
            steps.append(
                f"British to American spelling ({len(_spelling_table())} word forms, "
                "voxtext-fairness english_spelling.tsv)"
            )
        return {
            "name": config.name,
            "nfkc": config.nfkc,
            "casefold": config.casefold,
            "remove_punctuation": config.remove_punctuation,
            "inner_apostrophes": config.inner_apostrophes,
            "numerals": config.numerals,
            "spelling": config.spelling,
            "chinese_script": config.chinese_script,
            "steps": steps,
        }


@functools.cache
def _spelling_table() -> dict[str, str]:
    """British -> American word forms (lower case) from the packaged table."""
    text = (
        resources.files("voxtext_fairness")
        .joinpath("data/english_spelling.tsv")
        .read_text(encoding="utf-8")
    )
    table = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            british, american = line.split("\t")
            table[british] = american
    return table


def _american(word: str) -> str:
    """``word`` in American spelling, keeping a capital first letter or all capitals and a
    possessive ``'s`` (``Harbour's`` -> ``Harbor's``)."""
    for suffix in ("'s", "'"):
        if word.endswith(suffix) and len(word) > len(suffix):
            stem = word[: -len(suffix)]
            if stem.lower() in _spelling_table():
                return _american(stem) + suffix
    american = _spelling_table().get(word.lower())
    if american is None:
        return word
    if word.isupper() and len(word) > 1:
        return american.upper()
    return american[:1].upper() + american[1:] if word[:1].isupper() else american


@functools.cache
def _opencc_t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def _between_letters(text: str, index: int) -> bool:
    return 0 < index < len(text) - 1 and text[index - 1].isalpha() and text[index + 1].isalpha()


class IdentityTextNormalizer:
    """Leaves text as it is: scores exactly what the recogniser wrote."""

    def __call__(self, text: str) -> str:
        return text

    def describe(self) -> dict[str, Any]:
        return {"name": "none", "steps": ["text scored exactly as written"]}
