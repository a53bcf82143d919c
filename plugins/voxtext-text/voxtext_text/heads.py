"""Heads on a text encoder's output ``(batch, tokens, dim)``: sequence classification (pooled,
one logit row per text), token classification (one row per token) and BERT's masked-LM head.

Each conforms to :class:`voxtext.protocols.Head` and carries ``level`` (``"sequence"`` or
``"token"``) and ``num_labels``. Heads return raw logits: the task picks softmax or sigmoid
(multi-label) in its loss. Token heads compute logits at padded positions too (each position
is independent, so padding cannot leak into valid ones); the task's loss masks them out.
"""

from __future__ import annotations

import torch
from torch import nn

from voxtext.errors import ConfigError
from voxtext_text.head_configs import (
    MaskedLMHeadConfig,
    SequenceHeadConfig,
    TokenHeadConfig,
    require_sizes,
)


def valid_positions(lengths: torch.Tensor, tokens: int, device: torch.device) -> torch.Tensor:
    """Bool ``(batch, tokens)``: True where the position is within the row's length."""
    return torch.arange(tokens, device=device)[None, :] < lengths.to(device)[:, None]


def mean_pool(encoded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean of ``encoded`` ``(B, T, D)`` over each row's first ``lengths`` positions -> ``(B, D)``.

    Padding is replaced by zeros (not multiplied by a mask), so even NaN or inf junk there
    cannot leak. A row of length 0 pools to zeros.
    """
    valid = valid_positions(lengths, encoded.shape[1], encoded.device)
    summed = torch.where(valid[:, :, None], encoded, 0.0).sum(dim=1)
    counts = valid.sum(dim=1, keepdim=True).clamp(min=1)
    return summed / counts.to(summed.dtype)


def check_encoded(encoded: torch.Tensor, lengths: torch.Tensor, input_dim: int, who: str) -> None:
    """Clear errors for the shape mistakes a head would otherwise report as a matmul failure."""
    if encoded.dim() != 3 or encoded.shape[2] != input_dim:
        raise ValueError(
            f"{who}: expected encoded (batch, tokens, {input_dim}), got {tuple(encoded.shape)}; "
            f"input_dim must equal the encoder's output_dim"
        )
    if lengths.shape != (encoded.shape[0],):
        raise ValueError(
            f"{who}: expected lengths of shape ({encoded.shape[0]},), got {tuple(lengths.shape)}"
        )


class SequenceClassificationHead(nn.Module):
    """``forward(encoded (B, T, D), lengths (B,))`` -> logits ``(B, num_labels)``.

    Pools (first position or mean over valid positions), optionally applies dense + tanh
    (``hidden_dim``, BERT's pooler), then dropout and a linear classifier.
    """

    level = "sequence"

    def __init__(self, config: SequenceHeadConfig | None = None) -> None:
        super().__init__()
        config = config or SequenceHeadConfig()
        require_sizes(config, "sequence-classification")
        self.config = config
        self.num_labels = config.num_labels
        self.input_dim = config.input_dim
        features = config.input_dim
        self.pooler: nn.Linear | None = None
        if config.hidden_dim is not None:
            self.pooler = nn.Linear(config.input_dim, config.hidden_dim)
            features = config.hidden_dim
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(features, config.num_labels)

    def forward(self, encoded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        check_encoded(encoded, lengths, self.input_dim, "sequence-classification")
        pooled = mean_pool(encoded, lengths) if self.config.pooling == "mean" else encoded[:, 0]
        if self.pooler is not None:
            pooled = torch.tanh(self.pooler(pooled))
        return self.classifier(self.dropout(pooled))


class TokenClassificationHead(nn.Module):
    """``forward(encoded (B, T, D), lengths (B,))`` -> logits ``(B, T, num_labels)``: dropout
    and a linear classifier at every position (BIO tagging)."""

    level = "token"

    def __init__(self, config: TokenHeadConfig | None = None) -> None:
        super().__init__()
        config = config or TokenHeadConfig()
        require_sizes(config, "token-classification")
        self.config = config
        self.num_labels = config.num_labels
        self.input_dim = config.input_dim
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.input_dim, config.num_labels)

    def forward(self, encoded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        check_encoded(encoded, lengths, self.input_dim, "token-classification")
        return self.classifier(self.dropout(encoded))


class MaskedLMHead(nn.Module):
    """BERT's masked-LM head: dense(D -> D) + GELU + LayerNorm, then ``decoder``
    Linear(D -> vocabulary, with bias); ``num_labels`` is the vocabulary size.

    ``forward(encoded (B, T, D), lengths (B,), positions=None)``:

    - ``positions is None`` -> logits ``(B, T, num_labels)`` at every position;
    - ``positions`` bool ``(B, T)`` -> logits ``(N, num_labels)`` only where it is True, in
      row-major order (``N = positions.sum()``; equal to ``full_logits[positions]``). MLM
      pretraining masks ~15 % of tokens, so this skips ~85 % of the transform and of the
      vocabulary projection, which dominates the head's cost for large vocabularies.

    ``tie_to(embedding)`` makes the decoder weight *the same parameter* as the encoder's input
    embedding table (``(vocabulary, D)``), as BERT does; the bias stays the head's own.
    ``tied_parameters()`` names it then (``("decoder.weight",)``; ``()`` before tying): a
    checkpoint holds that table once, under the encoder.
    """

    level = "token"

    def __init__(self, config: MaskedLMHeadConfig | None = None) -> None:
        super().__init__()
        config = config or MaskedLMHeadConfig()
        require_sizes(config, "masked-lm")
        self.config = config
        self.num_labels = config.num_labels
        self.input_dim = config.input_dim
        self.dense = nn.Linear(config.input_dim, config.input_dim)
        self.activation = nn.GELU()
        self.layer_norm = nn.LayerNorm(config.input_dim, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.input_dim, config.num_labels, bias=True)
        self._tied = False

    def tie_to(self, embedding: nn.Embedding) -> None:
        """Share the decoder weight with ``embedding.weight`` (gradients then reach both uses)."""
        if not isinstance(embedding, nn.Embedding):
            raise TypeError(
                f"masked-lm.tie_to expects an nn.Embedding (the encoder's input_embeddings()), "
                f"got {type(embedding).__name__}"
            )
        expected = (self.num_labels, self.input_dim)
        if tuple(embedding.weight.shape) != expected:
            raise ConfigError(
                f"masked-lm.tie_to: the embedding table is {tuple(embedding.weight.shape)} "
                f"(vocabulary, dim) but the head decodes {expected}; set masked-lm num_labels="
                f"{embedding.num_embeddings} (the encoder's vocabulary) and input_dim="
                f"{embedding.embedding_dim} (its hidden size)"
            )
        self.decoder.weight = embedding.weight
        self._tied = True

    def tied_parameters(self) -> tuple[str, ...]:
        """Names (relative to the head) of the parameters that are the tied embedding table."""
        return ("decoder.weight",) if self._tied else ()

    def forward(
        self,
        encoded: torch.Tensor,
        lengths: torch.Tensor,
        positions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        check_encoded(encoded, lengths, self.input_dim, "masked-lm")
        if positions is not None:
            if positions.dtype != torch.bool or positions.shape != encoded.shape[:2]:
                raise ValueError(
                    f"masked-lm: positions must be a bool mask of shape "
                    f"{tuple(encoded.shape[:2])} (batch, tokens), got {positions.dtype} "
                    f"{tuple(positions.shape)}"
                )
            encoded = encoded[positions.to(encoded.device)]
        hidden = self.layer_norm(self.activation(self.dense(encoded)))
        return self.decoder(hidden)
