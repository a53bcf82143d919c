"""``sentencepiece``: BPE or unigram pieces trained with SentencePiece, plus a CTC blank.

Training runs in memory on ``texts`` and/or a manifest's texts. Id ``0`` is ``<blank>``; id
``i + 1`` is SentencePiece's piece ``i`` (piece 0 is ``<unk>``; no ``<s>``/``</s>``/pad pieces,
which CTC does not use). The trained model's bytes are kept, base64-encoded, in ``to_dict()``
(field ``model``), so ``registry("tokenizers").create("sentencepiece", tok.to_dict())``
restores the same tokenizer from a checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Sequence
from typing import Any

from voxtext.config import to_dict as config_to_dict
from voxtext.errors import ConfigError, DataError
from voxtext_ctc.configs import SentencePieceConfig
from voxtext_ctc.text_units import WORD_BOUNDARY, join_symbols
from voxtext_ctc.training_texts import gather_texts

BLANK = "<blank>"
UNK = "<unk>"


class SentencePieceTokenizer:
    """SentencePiece pieces with a CTC blank at id 0; see the module doc."""

    blank_id = 0

    def __init__(self, config: SentencePieceConfig) -> None:
        import sentencepiece

        self.config = config
        model = _decode_model(config.model) if config.model else _train(config)
        try:
            self._processor = sentencepiece.SentencePieceProcessor(model_proto=model)
        except (RuntimeError, OSError) as exc:
            raise ConfigError(
                f"sentencepiece tokenizer: `model` is not a SentencePiece model ({exc})"
            ) from exc
        self._model = model
        pieces = [self._processor.id_to_piece(i) for i in range(self._processor.get_piece_size())]
        self.symbols: tuple[str, ...] = (BLANK, *pieces)
        self.vocab_size = len(self.symbols)
        self.unk_id = self._processor.unk_id() + 1

    def encode(self, text: str) -> list[int]:
        return [i + 1 for i in self._processor.encode(text)]

    def decode(self, ids: Sequence[int]) -> str:
        bad = [i for i in ids if not 0 <= int(i) < self.vocab_size]
        if bad:
            raise DataError(
                f"sentencepiece tokenizer: ids {bad[:5]} are outside the vocabulary "
                f"(0..{self.vocab_size - 1})"
            )
        # The same joining rule as the CTC decoders (pieces concatenated, "▁" read as a space),
        # so a hypothesis's text equals decode(hypothesis.tokens).
        return join_symbols(self.symbols, (int(i) for i in ids), self.blank_id, WORD_BOUNDARY)

    def to_dict(self) -> dict[str, Any]:
        """Config values with the trained model (base64) and no training data (JSON-able)."""
        values = config_to_dict(self.config)
        values.update(texts=[], manifest=None, model=base64.b64encode(self._model).decode("ascii"))
        return values

    def __repr__(self) -> str:
        return f"SentencePieceTokenizer({self.config.model_type}, {self.vocab_size} symbols)"


def _decode_model(encoded: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(
            "sentencepiece tokenizer: `model` must be the base64 text from to_dict()['model'] "
            f"({exc})"
        ) from exc


def _train(config: SentencePieceConfig) -> bytes:
    import sentencepiece

    texts = [
        t
        for t in gather_texts(config.texts, config.manifest, where="sentencepiece tokenizer")
        if t.strip()
    ]
    writer = io.BytesIO()
    try:
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(texts),
            model_writer=writer,
            vocab_size=config.vocab_size,
            model_type=config.model_type,
            character_coverage=config.character_coverage,
            normalization_rule_name=config.normalization,
            max_sentence_length=config.max_sentence_length,
            unk_id=0,
            bos_id=-1,
            eos_id=-1,
            pad_id=-1,
            unk_surface=UNK,
            byte_fallback=False,
            num_threads=1,
            shuffle_input_sentence=False,
            minloglevel=2,
        )
    except RuntimeError as exc:
        limit = re.search(r"value <= (\d+)", str(exc))
        if limit:
            raise ConfigError(
                f"sentencepiece tokenizer: vocab_size={config.vocab_size} is more pieces than "
                f"{len(texts)} training texts support (at most {limit.group(1)}); lower "
                "`vocab_size` or give more text"
            ) from exc
        raise ConfigError(f"sentencepiece tokenizer: training failed: {exc}") from exc
    return writer.getvalue()
