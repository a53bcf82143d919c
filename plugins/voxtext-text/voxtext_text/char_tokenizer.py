"""The character-level tokenizer of the compact BERT, for Chinese (torch-free).

Text is cut into units: each CJK character on its own, runs of ASCII letters and digits as one
unit (``"iPhone12"`` is one unit, lowercased when asked: English words and numbers inside
Chinese text are rarely informative letter by letter), and every other non-space character
on its own (punctuation, emoji, full-width forms). Spaces only separate units.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from voxtext.errors import ConfigError
from voxtext_text.encoder_configs import COMPACT_SPECIALS, check_vocabulary

# One ASCII letter/digit run, or any single non-space character (CJK included).
_UNIT = re.compile(r"[A-Za-z0-9]+|\S")

PAD, UNK, CLS, SEP, MASK = range(len(COMPACT_SPECIALS))


def split_units(text: str, lowercase: bool = True) -> list[str]:
    """The units of ``text`` (see the module docstring), in order."""
    units = _UNIT.findall(text)
    if lowercase:
        # Only ASCII runs are lowercased; str.lower on a single CJK character is a no-op anyway.
        return [u.lower() if u.isascii() else u for u in units]
    return units


def learn_vocabulary(
    texts: Iterable[str], *, min_count: int = 2, max_vocab: int = 8000, lowercase: bool = True
) -> tuple[str, ...]:
    """The specials, then the units occurring at least ``min_count`` times, most frequent first
    (ties by the unit's text), at most ``max_vocab`` of them."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(split_units(text, lowercase))
    # No unit can equal a special: "[PAD]" in a text splits into "[", "pad", "]".
    frequent = sorted(
        (u for u, n in counts.items() if n >= min_count), key=lambda u: (-counts[u], u)
    )
    return COMPACT_SPECIALS + tuple(frequent[:max_vocab])


class CharTokenizer:
    """Units to ids over a fixed vocabulary, ``[CLS] ... [SEP]`` around each text, truncated to
    ``max_length`` ids; conforms to ``voxtext.protocols.TextTokenizer``. Unknown units map to
    ``[UNK]``."""

    pad_id = PAD
    mask_id: int | None = MASK
    special_ids = frozenset(range(len(COMPACT_SPECIALS)))

    def __init__(self, vocabulary: Sequence[str], max_length: int, lowercase: bool = True) -> None:
        check_vocabulary(tuple(vocabulary), "compact-bert.vocabulary")
        if max_length < 3:
            raise ConfigError(f"compact-bert.max_length must be >= 3, got {max_length}")
        self.symbols = tuple(vocabulary)
        self.max_length = max_length
        self.lowercase = lowercase
        self._ids = {symbol: index for index, symbol in enumerate(self.symbols)}

    @property
    def vocab_size(self) -> int:
        return len(self.symbols)

    def unit_ids(self, text: str) -> list[int]:
        """Ids of the units of ``text``, without specials or truncation."""
        get = self._ids.get
        return [get(unit, UNK) for unit in split_units(text, self.lowercase)]

    def encode(self, text: str) -> list[int]:
        return [CLS, *self.unit_ids(text)[: self.max_length - 2], SEP]

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(text) for text in texts]

    def encode_words(self, words: Sequence[str]) -> tuple[list[int], list[int | None]]:
        """Ids of pre-split words and the word index of each id (``None`` for the specials).
        A word with no units (blank) gets no ids; truncation keeps the leading ids, as
        transformers' tokenizers do, so a word may lose its last units."""
        ids: list[int] = [CLS]
        word_index: list[int | None] = [None]
        room = self.max_length - 1
        for index, word in enumerate(words):
            unit_ids = self.unit_ids(word)[: room - len(ids)]
            ids.extend(unit_ids)
            word_index.extend([index] * len(unit_ids))
        ids.append(SEP)
        word_index.append(None)
        return ids, word_index

    def tokens(self, ids: Sequence[int]) -> list[str]:
        size = len(self.symbols)
        bad = [i for i in ids if not 0 <= i < size]
        if bad:
            raise ValueError(
                f"compact-bert: ids {bad[:5]} are outside the vocabulary (0..{size - 1})"
            )
        return [self.symbols[i] for i in ids]
