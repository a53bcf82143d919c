"""Configurations of the text encoders, kept apart from the encoders so that registering the
plugin imports neither torch nor transformers (the factories in ``plugin.py`` import those).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from voxtext.errors import ConfigError

#: The special tokens of the compact BERT, in id order: ``[PAD]`` is 0, ``[MASK]`` is 4.
COMPACT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

#: Module-name suffixes LoRA adapts when ``lora_targets`` is not given, per ``model_type`` of
#: the transformers config: the attention query and value projections (the LoRA paper's
#: choice), under each family's own names.
DEFAULT_LORA_TARGETS: dict[str, tuple[str, ...]] = {
    "bert": ("query", "value"),
    "roberta": ("query", "value"),
    "xlm-roberta": ("query", "value"),
    "xlm-roberta-xl": ("query", "value"),
    "camembert": ("query", "value"),
    "electra": ("query", "value"),
    "ernie": ("query", "value"),
    "mpnet": ("q", "v"),
    "distilbert": ("q_lin", "v_lin"),
    "deberta": ("in_proj",),
    "deberta-v2": ("query_proj", "value_proj"),
    "modernbert": ("Wqkv",),
}


def _check_positive(where: str, **values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}.{name} must be an integer >= 1, got {value!r}")


def _check_dropout(where: str, **values: float) -> None:
    for name, value in values.items():
        if not 0.0 <= value < 1.0:
            raise ConfigError(f"{where}.{name} must be in [0, 1), got {value}")


@dataclass(frozen=True)
class HFTextEncoderConfig:
    """A transformers text encoder (BERT, RoBERTa, DistilBERT, DeBERTa-v2, MiniLM ...) read from
    a local folder; nothing is downloaded.

    ``path``: a folder written by ``save_pretrained`` — ``config.json`` and the tokenizer files
    (``tokenizer.json`` or ``vocab.txt`` ...), plus the weights when ``pretrained``.
    ``pretrained``: load the weights; False builds the architecture from ``config.json`` with
    random weights (what a checkpoint rebuild uses, the checkpoint then supplies the weights).
    ``max_length``: ids per text after truncation, special tokens included; capped at what the
    model's position embeddings allow (the effective value is ``encoder.tokenizer.max_length``
    and what ``to_dict()`` records). ``attn_implementation``: ``"sdpa"`` (fused kernels) or
    ``"eager"``. ``lora_targets``: module-name suffixes LoRA adapts; ``None`` picks the
    family's query/value projections (:data:`DEFAULT_LORA_TARGETS`).
    ``gradient_checkpointing``: recompute activations in the backward pass (less memory).
    """

    path: str = ""
    pretrained: bool = True
    max_length: int = 512
    attn_implementation: Literal["sdpa", "eager"] = "sdpa"
    lora_targets: tuple[str, ...] | None = None
    gradient_checkpointing: bool = False

    def __post_init__(self) -> None:
        where = "hf-text"
        if not str(self.path).strip():
            raise ConfigError(
                f"{where}: encoder.path is empty; set it to a local folder holding a "
                "transformers text model (config.json + tokenizer files + weights, as written "
                "by save_pretrained). Models are never downloaded."
            )
        _check_positive(where, max_length=self.max_length)
        if self.max_length < 3:
            raise ConfigError(
                f"{where}.max_length={self.max_length} leaves no room for text between the "
                "special tokens; use at least 3"
            )
        if self.attn_implementation not in ("sdpa", "eager"):
            raise ConfigError(
                f"{where}.attn_implementation must be 'sdpa' or 'eager', got "
                f"{self.attn_implementation!r}"
            )
        if self.lora_targets is not None and (
            not self.lora_targets or not all(isinstance(t, str) and t for t in self.lora_targets)
        ):
            raise ConfigError(
                f"{where}.lora_targets must be a non-empty list of module-name suffixes "
                f"(e.g. ['query', 'value']) or left out, got {self.lora_targets!r}"
            )


@dataclass(frozen=True)
class CompactBertConfig:
    """A small BERT built from this config, for Chinese text, with a character-level
    vocabulary.

    Text is cut into units: each CJK character (and any other non-space character) on its own,
    runs of ASCII letters/digits as one unit (lowercased when ``lowercase``).
    ``vocabulary``: the full symbol list, id ``i`` is ``vocabulary[i]``, starting with
    ``[PAD] [UNK] [CLS] [SEP] [MASK]``; ``to_dict()`` of a built encoder records it.
    ``texts``: training texts to learn the vocabulary from when ``vocabulary`` is not given:
    units occurring at least ``min_count`` times, the ``max_vocab`` most frequent (ties broken
    by the unit's text, so the result is deterministic). Texts are not recorded by ``to_dict()``.
    ``max_length``: ids per text, ``[CLS]`` and ``[SEP]`` included (also the number of position
    embeddings). Defaults (256 wide, 4 layers) give ~3.2 M parameters plus 256 per vocabulary
    entry.
    """

    vocabulary: tuple[str, ...] | None = None
    texts: tuple[str, ...] | None = field(default=None, repr=False)
    min_count: int = 2
    max_vocab: int = 8000
    lowercase: bool = True
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 1024
    max_length: int = 128
    dropout: float = 0.1
    attention_dropout: float = 0.1

    def __post_init__(self) -> None:
        where = "compact-bert"
        _check_positive(
            where,
            min_count=self.min_count,
            max_vocab=self.max_vocab,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            intermediate_size=self.intermediate_size,
            max_length=self.max_length,
        )
        if self.hidden_size % self.num_heads:
            raise ConfigError(
                f"{where}.hidden_size={self.hidden_size} must be divisible by "
                f"num_heads={self.num_heads}"
            )
        if self.max_length < 3:
            raise ConfigError(
                f"{where}.max_length={self.max_length} leaves no room for text between [CLS] "
                "and [SEP]; use at least 3"
            )
        _check_dropout(where, dropout=self.dropout, attention_dropout=self.attention_dropout)
        self._check_vocabulary_source(where)

    def _check_vocabulary_source(self, where: str) -> None:
        if self.vocabulary is None and self.texts is None:
            raise ConfigError(
                f"{where}: give either 'texts' (training texts to learn the character "
                "vocabulary from) or 'vocabulary' (the symbol list a built encoder's to_dict() "
                "records)"
            )
        if self.vocabulary is not None and self.texts is not None:
            raise ConfigError(
                f"{where}: got both 'vocabulary' and 'texts'; the texts would be ignored. Give "
                "texts to learn a vocabulary, or a vocabulary to reuse one, not both"
            )
        if self.vocabulary is not None:
            check_vocabulary(self.vocabulary, f"{where}.vocabulary")


def check_vocabulary(vocabulary: tuple[str, ...], where: str) -> None:
    """A vocabulary must start with the specials in order and hold no duplicates or blanks."""
    if tuple(vocabulary[: len(COMPACT_SPECIALS)]) != COMPACT_SPECIALS:
        raise ConfigError(
            f"{where} must start with {list(COMPACT_SPECIALS)} (ids 0-4), got "
            f"{list(vocabulary[: len(COMPACT_SPECIALS)])}"
        )
    seen: set[str] = set()
    for index, symbol in enumerate(vocabulary):
        if not isinstance(symbol, str) or not symbol or symbol.isspace():
            raise ConfigError(f"{where}[{index}] is {symbol!r}; symbols must be non-blank text")
        if symbol in seen:
            raise ConfigError(f"{where}[{index}] {symbol!r} appears twice")
        seen.add(symbol)
