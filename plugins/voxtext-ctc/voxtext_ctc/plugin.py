"""Hooks of voxtext-ctc: registering is cheap; each factory imports its module when called."""

from __future__ import annotations

from typing import Any

from voxtext import hookimpl
from voxtext_ctc.configs import BeamConfig, CharTokenizerConfig, GreedyConfig, SentencePieceConfig


def _char_tokenizer(config: CharTokenizerConfig) -> Any:
    from voxtext_ctc.char_tokenizer import CharTokenizer

    return CharTokenizer(config)


def _sentencepiece_tokenizer(config: SentencePieceConfig) -> Any:
    from voxtext_ctc.sentencepiece_tokenizer import SentencePieceTokenizer

    return SentencePieceTokenizer(config)


def _greedy_decoder(config: GreedyConfig) -> Any:
    from voxtext_ctc.greedy import GreedyCTCDecoder

    return GreedyCTCDecoder(config)


def _beam_decoder(config: BeamConfig) -> Any:
    from voxtext_ctc.beam_decoder import BeamCTCDecoder

    return BeamCTCDecoder(config)


@hookimpl
def register_tokenizers(register: Any) -> None:
    register(
        "char",
        _char_tokenizer,
        config=CharTokenizerConfig,
        description="characters (one per Han/kana/hangul char), letters or words, + <blank>",
    )
    register(
        "sentencepiece",
        _sentencepiece_tokenizer,
        config=SentencePieceConfig,
        description="SentencePiece BPE/unigram trained from texts, + <blank>",
    )


@hookimpl
def register_decoders(register: Any) -> None:
    register(
        "ctc-greedy",
        _greedy_decoder,
        config=GreedyConfig,
        description="CTC best path: argmax, collapse repeats, drop blanks (batched, torch)",
    )
    register(
        "ctc-beam",
        _beam_decoder,
        config=BeamConfig,
        description="batched CTC prefix beam search, optional ARPA n-gram LM and hotwords",
    )


def _ctc_task() -> Any:
    from voxtext_ctc.task import CTCTask

    return CTCTask()


@hookimpl
def register_tasks(register: Any) -> None:
    register(
        "asr",
        _ctc_task,
        description="CTC speech recognition: registry front end and encoder, linear CTC head, "
        "group strategies (voxtext.asr)",
    )
