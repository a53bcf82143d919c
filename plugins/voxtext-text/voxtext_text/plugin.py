"""Hooks of voxtext-text: each component registered by name with its frozen config.

The configs are torch-free; every factory imports its module (torch, transformers) only when
called, so listing plugins stays cheap.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from voxtext import hookimpl
from voxtext.hookspecs import Register
from voxtext_text.eda import EDA, EDAConfig
from voxtext_text.encoder_configs import CompactBertConfig, HFTextEncoderConfig
from voxtext_text.head_configs import MaskedLMHeadConfig, SequenceHeadConfig, TokenHeadConfig


def _hf_text_encoder(config: HFTextEncoderConfig) -> Any:
    from voxtext_text.hf_encoder import HFTextEncoder

    return HFTextEncoder(config)


def _compact_bert(config: CompactBertConfig) -> Any:
    from voxtext_text.compact_bert import CompactBertEncoder

    return CompactBertEncoder(config)


def _sequence_head(config: SequenceHeadConfig) -> Any:
    from voxtext_text.heads import SequenceClassificationHead

    return SequenceClassificationHead(config)


def _token_head(config: TokenHeadConfig) -> Any:
    from voxtext_text.heads import TokenClassificationHead

    return TokenClassificationHead(config)


def _masked_lm_head(config: MaskedLMHeadConfig) -> Any:
    from voxtext_text.heads import MaskedLMHead

    return MaskedLMHead(config)


@hookimpl
def register_encoders(register: Register) -> None:
    register(
        "hf-text",
        _hf_text_encoder,
        config=HFTextEncoderConfig,
        description="any transformers text encoder (BERT family) from a local folder, offline",
    )
    register(
        "compact-bert",
        _compact_bert,
        config=CompactBertConfig,
        description="a small BERT built from a config, vocabulary learnt from the training text",
    )


@hookimpl
def register_decoders(register: Register) -> None:
    register(
        "sequence-classification",
        _sequence_head,
        config=SequenceHeadConfig,
        description="pooled text -> class logits (softmax, or sigmoid for multi-label)",
    )
    register(
        "token-classification",
        _token_head,
        config=TokenHeadConfig,
        description="per-token tag logits (BIO tagging, NER)",
    )
    register(
        "masked-lm",
        _masked_lm_head,
        config=MaskedLMHeadConfig,
        description="masked-language-model head for pretraining, tied to the input embeddings",
    )


@hookimpl
def register_tasks(register: Register) -> None:
    from voxtext_text.task import TextTask

    descriptions = {
        "text-classification": "fine-tune a text encoder to classify texts (single/multi-label)",
        "token-classification": "fine-tune a text encoder to tag words (BIO, NER)",
        "masked-lm": "pretrain a text encoder as a masked language model",
    }
    for kind, description in descriptions.items():
        register(kind, partial(TextTask, kind), description=description)


@hookimpl
def register_augmentations(register: Register) -> None:
    register(
        "eda",
        EDA,
        config=EDAConfig,
        description="EDA text edits: synonym replacement, random insertion, swap and deletion",
    )
