"""Splitting text into the units of a character tokenizer, and joining symbols back to text.

Scripts written without spaces between words (Han, kana, hangul syllables) give one unit per
character: their characters are the natural CTC targets. Alphabetic scripts give one unit per
letter (``"char"``) or per word (``"word"``). Whitespace between units becomes one word-boundary
unit, so ``"hello 世界"`` and ``"hello世界"`` stay distinguishable and both round-trip.
"""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Literal

AlphabeticUnit = Literal["char", "word"]

# The boundary symbol SentencePiece uses too, so one joining rule serves both tokenizers.
WORD_BOUNDARY = "▁"

# Code point ranges whose characters are each a unit of their own: CJK ideographs (with the
# extensions and compatibility blocks), CJK punctuation, kana, bopomofo, hangul jamo and
# syllables, and full-width forms.
_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x3130, 0x318F),  # Hangul compatibility jamo
    (0x31A0, 0x31FF),  # Bopomofo extended, CJK strokes, Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # half-width and full-width forms
    (0x20000, 0x3134F),  # CJK extensions B-G and the supplementary compatibility block
)
_RANGE_STARTS = [start for start, _ in _CJK_RANGES]

# Inside a word (word mode) these join letters: "don't", "rock-n-roll".
_WORD_JOINERS = frozenset("'’-")


def is_cjk_unit(char: str) -> bool:
    """True for a character written without spaces around it (Han, kana, hangul …)."""
    code = ord(char)
    index = bisect.bisect_right(_RANGE_STARTS, code) - 1
    return index >= 0 and code <= _CJK_RANGES[index][1]


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
