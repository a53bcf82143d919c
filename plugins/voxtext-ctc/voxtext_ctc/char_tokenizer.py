"""``char``: a CJK-aware character tokenizer for CTC.

Ids: ``0`` is ``<blank>``, ``1`` is ``<unk>``, ``2`` the word boundary ``▁``, then the units
learnt from the training texts, most frequent first. Han characters, kana and hangul
syllables are one unit each; alphabetic scripts give letters (``alphabetic_unit="char"``) or
whole words (``"word"``). ``to_dict()`` holds the fitted ``vocabulary``, so
``registry("tokenizers").create("char", tokenizer.to_dict())`` rebuilds it without the texts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from voxtext.config import to_dict as config_to_dict
from voxtext.errors import ConfigError, DataError
from voxtext_ctc.configs import CharTokenizerConfig
from voxtext_ctc.text_units import join_symbols, split_units
from voxtext_ctc.training_texts import gather_texts

BLANK = "<blank>"
UNK = "<unk>"


class CharTokenizer:
    """Characters (and optionally alphabetic words) to ids and back; see the module doc."""

    blank_id = 0
    unk_id = 1
    boundary_id = 2

    def __init__(self, config: CharTokenizerConfig) -> None:
        self.config = config
        units = config.vocabulary or self._fit(config)
        reserved = (BLANK, UNK, config.word_boundary)
        clashes = sorted(set(units) & set(reserved))
        if clashes or len(set(units)) != len(units):
            problem = f"reserved symbols {clashes}" if clashes else "duplicate units"
            raise ConfigError(
                f"char tokenizer: `vocabulary` contains {problem}; pass the list from to_dict()"
            )
        self.symbols: tuple[str, ...] = (*reserved, *units)
        self.vocab_size = len(self.symbols)
        self._ids = {symbol: i for i, symbol in enumerate(self.symbols)}

    @staticmethod
    def _fit(config: CharTokenizerConfig) -> tuple[str, ...]:
        texts = gather_texts(config.texts, config.manifest, where="char tokenizer")
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(split_units(text, config.alphabetic_unit, config.word_boundary))
        counts.pop(config.word_boundary, None)
        kept = [(n, u) for u, n in counts.items() if n >= config.min_count]
        # Most frequent first, ties by code point, so the same texts give the same ids.
        kept.sort(key=lambda item: (-item[0], item[1]))
        if config.max_size is not None:
            kept = kept[: config.max_size]
        if not kept:
            raise ConfigError(
                f"char tokenizer: no unit occurs at least min_count={config.min_count} times "
                f"in the {len(texts)} training texts; lower `min_count`"
            )
        return tuple(unit for _, unit in kept)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for unit in split_units(text, self.config.alphabetic_unit, self.config.word_boundary):
            index = self._ids.get(unit)
            if index is not None:
                ids.append(index)
            elif self.config.on_unknown == "unk":
                ids.append(self.unk_id)
            elif self.config.on_unknown == "error":
                raise DataError(
                    f"char tokenizer: {unit!r} in {text[:60]!r} is not in the vocabulary of "
                    f"{self.vocab_size} symbols; set on_unknown='unk' to map it to {UNK}"
                )
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        bad = [i for i in ids if not 0 <= int(i) < self.vocab_size]
        if bad:
            raise DataError(
                f"char tokenizer: ids {bad[:5]} are outside the vocabulary "
                f"(0..{self.vocab_size - 1})"
            )
        return join_symbols(
            self.symbols, (int(i) for i in ids), self.blank_id, self.config.word_boundary
        )

    def to_dict(self) -> dict[str, Any]:
        """Config values with the fitted vocabulary and no training data (JSON-able)."""
        values = config_to_dict(self.config)
        values.update(texts=[], manifest=None, vocabulary=list(self.symbols[3:]))
        return values

    def __repr__(self) -> str:
        return f"CharTokenizer({self.vocab_size} symbols, {self.config.alphabetic_unit} units)"
