"""Splitting text into the units of a character tokenizer, and joining symbols back to text.

Scripts written without spaces between words (Han, kana, hangul syllables) give one unit per
character: their characters are the natural CTC targets. Alphabetic scripts give one unit per
letter (``"char"``) or per word (``"word"``). Whitespace between units becomes one word-boundary
unit, so ``"hello 世界"`` and ``"hello世界"`` stay distinguishable and both round-trip.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Literal

from voxtext.data.scripts import is_cjk_unit

AlphabeticUnit = Literal["char", "word"]

# The boundary symbol SentencePiece uses too, so one joining rule serves both tokenizers.
WORD_BOUNDARY = "▁"


# Inside a word (word mode) these join letters: "don't", "rock-n-roll".
_WORD_JOINERS = frozenset("'’-")


def split_units(
    text: str, alphabetic_unit: AlphabeticUnit = "char", boundary: str = WORD_BOUNDARY
) -> list[str]:
    """``text`` as tokenizer units; each whitespace run between units becomes ``boundary``.

    Combining marks stay on the character they modify (``"e\\u0301"`` is one unit). The
    boundary character itself in ``text`` counts as whitespace.
    """
    units: list[str] = []
    word = ""  # the alphabetic word being built (word mode only)
    gap = False  # whitespace seen since the last unit

    def emit(unit: str) -> None:
        nonlocal gap
        if gap and units:
            units.append(boundary)
        gap = False
        units.append(unit)

    for char in text:
        if char.isspace() or char == boundary:
            if word:
                emit(word)
                word = ""
            gap = True
            continue
        category = unicodedata.category(char)
        if is_cjk_unit(char):
            if word:
                emit(word)
                word = ""
            emit(char)
        elif category[0] == "M" and not gap and (word or (units and units[-1] != boundary)):
            if word:
                word += char
            else:
                units[-1] += char
        elif alphabetic_unit == "word" and (
            category[0] in "LMN" or (word and char in _WORD_JOINERS)
        ):
            word += char  # a pending gap is emitted with the word
        else:
            if word:
                emit(word)
                word = ""
            emit(char)
    if word:
        emit(word)
    return units


def join_symbols(
    symbols: Sequence[str], ids: Iterable[int], blank_id: int | None, boundary: str = WORD_BOUNDARY
) -> str:
    """The text of token ``ids``: symbols concatenated, ``boundary`` read as a space, blanks
    dropped, whitespace collapsed. Works for character units and SentencePiece pieces alike."""
    text = "".join(symbols[i] for i in ids if i != blank_id)
    return " ".join(text.replace(boundary, " ").split())
