"""East Asian characters that are text units of their own, for tokenizers and text edits.

Han, kana and bopomofo are written without spaces between words, so each character is a
unit. Hangul is written with spaces between words yet its syllables are natural character
units too: :func:`is_cjk_unit` counts it (a character tokenizer's view), :func:`is_unspaced`
does not (a word-level view, such as EDA's choice of word or character edits).
"""

from __future__ import annotations

from bisect import bisect_right

# (first, last, spaced): sorted code point ranges; ``spaced`` marks hangul and the half-width
# forms, which word-level tools treat like an alphabet.
_RANGES = (
    (0x1100, 0x11FF, True),  # Hangul Jamo
    (0x2E80, 0x2FDF, False),  # CJK radicals, Kangxi radicals
    (0x3000, 0x303F, False),  # CJK symbols and punctuation
    (0x3040, 0x30FF, False),  # Hiragana, Katakana
    (0x3100, 0x312F, False),  # Bopomofo
    (0x3130, 0x318F, True),  # Hangul compatibility jamo
    (0x31A0, 0x31FF, False),  # Bopomofo extended, CJK strokes, Katakana phonetic extensions
    (0x3400, 0x4DBF, False),  # CJK extension A
    (0x4E00, 0x9FFF, False),  # CJK unified ideographs
    (0xA960, 0xA97F, True),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF, True),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF, False),  # CJK compatibility ideographs
    (0xFE30, 0xFE4F, False),  # CJK compatibility forms
    (0xFF00, 0xFF65, False),  # full-width forms (，。！ and full-width letters)
    (0xFF66, 0xFFEF, True),  # half-width katakana and hangul, full-width signs
    (0x20000, 0x3134F, False),  # CJK extensions B-G and the supplementary compatibility block
)
_STARTS = [start for start, _, _ in _RANGES]


def _range(char: str) -> tuple[int, int, bool] | None:
    code = ord(char)
    index = bisect_right(_STARTS, code) - 1
    if index >= 0 and code <= _RANGES[index][1]:
        return _RANGES[index]
    return None


def is_cjk_unit(char: str) -> bool:
    """True for a character that is a unit of its own (Han, kana, hangul, CJK punctuation …)."""
    return _range(char) is not None


def is_unspaced(char: str) -> bool:
    """True for a character of a script written without spaces between words (Han, kana,
    bopomofo, CJK punctuation and full-width forms; not hangul)."""
    found = _range(char)
    return found is not None and not found[2]
