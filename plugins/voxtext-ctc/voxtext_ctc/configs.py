"""The configurations of this plugin's components, kept apart from the components so that
registering the plugin imports neither torch nor numpy (the factories import those)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from voxtext_ctc.text_units import WORD_BOUNDARY, AlphabeticUnit


@dataclass(frozen=True)
class CharTokenizerConfig:
    """Learn units from ``texts`` and/or ``manifest``, or take a fitted ``vocabulary``.

    ``min_count``: units seen fewer times become ``<unk>``; ``max_size``: keep at most this
    many units (most frequent). ``on_unknown``: what ``encode`` does with a unit outside the
    vocabulary — map it to ``<unk>``, drop it, or raise.
    """

    texts: tuple[str, ...] = ()
    manifest: Path | None = None
    vocabulary: tuple[str, ...] = ()
    alphabetic_unit: AlphabeticUnit = "char"
    min_count: int = 1
    max_size: int | None = None
    word_boundary: str = WORD_BOUNDARY
    on_unknown: Literal["unk", "skip", "error"] = "unk"

    def __post_init__(self) -> None:
        if self.min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {self.min_count}")
        if self.max_size is not None and self.max_size < 1:
            raise ValueError(f"max_size must be >= 1 or None, got {self.max_size}")
        if len(self.word_boundary) != 1 or self.word_boundary.isspace():
            raise ValueError(
                f"word_boundary must be one non-space character, got {self.word_boundary!r}"
            )
        if self.vocabulary and (self.texts or self.manifest is not None):
            raise ValueError(
                "give either a fitted `vocabulary` or training `texts`/`manifest`, not both"
            )


@dataclass(frozen=True)
class SentencePieceConfig:
    """``vocab_size`` counts SentencePiece's pieces (``<unk>`` included, the blank not).

    ``normalization``: SentencePiece's normalisation rule; ``"identity"`` keeps text as given
    (normalise text with a text normaliser instead, so references and hypotheses agree).
    ``character_coverage`` below 1.0 sends the rarest characters to ``<unk>``. Training uses
    one thread and no sampling, so the same texts give the same model.
    """

    texts: tuple[str, ...] = ()
    manifest: Path | None = None
    model: str = ""
    model_type: Literal["unigram", "bpe"] = "unigram"
    vocab_size: int = 256
    character_coverage: float = 1.0
    normalization: Literal["identity", "nmt_nfkc", "nfkc", "nmt_nfkc_cf", "nfkc_cf"] = "identity"
    max_sentence_length: int = 4192

    def __post_init__(self) -> None:
        if self.vocab_size < 2:
            raise ValueError(f"vocab_size must be >= 2, got {self.vocab_size}")
        if not 0.0 < self.character_coverage <= 1.0:
            raise ValueError(f"character_coverage must be in (0, 1], got {self.character_coverage}")
        if self.model and (self.texts or self.manifest is not None):
            raise ValueError(
                "give either a trained `model` or training `texts`/`manifest`, not both"
            )


@dataclass(frozen=True)
class GreedyConfig:
    """``symbols``/``blank_id``: the tokenizer's (see ``decoder_inputs``)."""

    symbols: tuple[str, ...] = ()
    blank_id: int = 0
    word_boundary: str = WORD_BOUNDARY


@dataclass(frozen=True)
class BeamConfig:
    """``beam_size`` prefixes per utterance; ``nbest`` hypotheses returned per utterance.

    Token pruning per frame: at most ``token_beam`` non-blank tokens (``None``: no limit),
    each with log-prob ``>= token_min_logp`` (``None``: no threshold; the frame's argmax
    always qualifies). Beams scoring below the best minus ``-beam_prune_logp`` are dropped.

    LM: ``lm_path`` (an ARPA file), ``lm_unit`` ``"word"`` (scored at word boundaries) or
    ``"char"`` (every token is an LM word; the boundary token is looked up as
    ``lm_boundary_word``), score ``alpha * ln P + beta`` per LM unit.

    Hotwords: ``hotwords`` (words or phrases) get ``hotword_bonus`` per matched character
    (or ``hotword_bonuses``, one per phrase).
    """

    symbols: tuple[str, ...] = ()
    blank_id: int = 0
    word_boundary: str = WORD_BOUNDARY
    beam_size: int = 10
    nbest: int = 1
    token_beam: int | None = None
    token_min_logp: float | None = -5.0
    beam_prune_logp: float | None = -10.0
    lm_path: Path | None = None
    lm_unit: Literal["word", "char"] = "word"
    lm_boundary_word: str = WORD_BOUNDARY
    alpha: float = 0.5
    beta: float = 1.0
    hotwords: tuple[str, ...] = ()
    hotword_bonus: float = 1.5
    hotword_bonuses: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.beam_size < 1:
            raise ValueError(f"beam_size must be >= 1, got {self.beam_size}")
        if not 1 <= self.nbest <= self.beam_size:
            raise ValueError(f"nbest must be in 1..beam_size ({self.beam_size}), got {self.nbest}")
        if self.token_beam is not None and self.token_beam < 1:
            raise ValueError(f"token_beam must be >= 1 or None, got {self.token_beam}")
        if self.beam_prune_logp is not None and self.beam_prune_logp > 0:
            raise ValueError(
                f"beam_prune_logp must be <= 0 (a log-prob margin), got {self.beam_prune_logp}"
            )
        if self.hotword_bonuses and len(self.hotword_bonuses) != len(self.hotwords):
            raise ValueError(
                f"hotword_bonuses has {len(self.hotword_bonuses)} values for "
                f"{len(self.hotwords)} hotwords; give one per hotword or none"
            )
