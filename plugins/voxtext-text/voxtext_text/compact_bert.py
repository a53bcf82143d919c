"""A compact BERT built from a config (no pretrained weights), for Chinese text classification
after masked-LM pretraining on the task's own text.

It is transformers' ``BertModel`` (post-norm BERT, SDPA attention, no pooler) over the
character-level vocabulary of :mod:`voxtext_text.char_tokenizer`, learnt from the training
texts or given. ``forward(input_ids, lengths)``: ``input_ids`` int64 ``(batch, tokens)``,
``lengths`` int64 ``(batch,)``; returns ``(hidden (batch, tokens, hidden_size), lengths)`` with
hidden states past a row's length zero.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from voxtext.errors import ConfigError
from voxtext_text.char_tokenizer import PAD, CharTokenizer, learn_vocabulary
from voxtext_text.encoder_configs import COMPACT_SPECIALS, CompactBertConfig
from voxtext_text.hf_encoder import padded_forward


def build_vocabulary(config: CompactBertConfig) -> tuple[str, ...]:
    """The given vocabulary, or the one learnt from ``config.texts``."""
    if config.vocabulary is not None:
        return tuple(config.vocabulary)
    texts = config.texts or ()
    vocabulary = learn_vocabulary(
        texts, min_count=config.min_count, max_vocab=config.max_vocab, lowercase=config.lowercase
    )
    if len(vocabulary) == len(COMPACT_SPECIALS):
        raise ConfigError(
            f"compact-bert: no unit occurs min_count={config.min_count} times in the "
            f"{len(texts)} texts given, so the vocabulary would be empty; give more texts or "
            "lower min_count"
        )
    return vocabulary


class CompactBertEncoder(nn.Module):
    """The ``compact-bert`` encoder (see the module docstring)."""

    takes_tokens = True
    lora_targets = ("query", "value")

    def __init__(self, config: CompactBertConfig) -> None:
        super().__init__()
        from transformers import BertConfig, BertModel

        self.config = config
        self.vocabulary = build_vocabulary(config)
        self.tokenizer = CharTokenizer(self.vocabulary, config.max_length, config.lowercase)
        self.model_config = BertConfig(
            vocab_size=len(self.vocabulary),
            hidden_size=config.hidden_size,
            num_hidden_layers=config.num_layers,
            num_attention_heads=config.num_heads,
            intermediate_size=config.intermediate_size,
            max_position_embeddings=config.max_length,
            hidden_dropout_prob=config.dropout,
            attention_probs_dropout_prob=config.attention_dropout,
            type_vocab_size=1,  # single-segment inputs: a second segment row would never train
            pad_token_id=PAD,
            attn_implementation="sdpa",
        )
        self.model = BertModel(self.model_config, add_pooling_layer=False)
        self.output_dim = config.hidden_size
        self.max_length = config.max_length

    def forward(
        self, input_ids: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not torch.compiler.is_compiling() and input_ids.shape[1] > self.max_length:
            raise ValueError(
                f"compact-bert: {input_ids.shape[1]} ids per row exceed max_length="
                f"{self.max_length}; encode with encoder.tokenizer, which truncates"
            )
        return padded_forward(self.model, input_ids, lengths, PAD, "compact-bert"), lengths

    def input_embeddings(self) -> nn.Embedding:
        return self.model.get_input_embeddings()

    def to_dict(self) -> dict[str, Any]:
        """Config values rebuilding the same tokenizer and architecture (random weights): the
        learnt vocabulary replaces the training texts."""
        config = self.config
        return {
            "vocabulary": list(self.vocabulary),
            "min_count": config.min_count,
            "max_vocab": config.max_vocab,
            "lowercase": config.lowercase,
            "hidden_size": config.hidden_size,
            "num_layers": config.num_layers,
            "num_heads": config.num_heads,
            "intermediate_size": config.intermediate_size,
            "max_length": config.max_length,
            "dropout": config.dropout,
            "attention_dropout": config.attention_dropout,
        }
