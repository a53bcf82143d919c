"""The configurations of the text heads, kept torch-free so registering the plugin stays cheap
(``heads.py`` holds the modules).

``input_dim`` and ``num_labels`` default to 0, meaning "not set yet": the training task fills
them from the encoder's ``output_dim`` and the label set (the vocabulary size for the masked-LM
head), so a user's config names neither. A config may therefore be made with 0 (the task
completes it with ``dataclasses.replace``); building a head from one raises
:class:`~voxtext.errors.ConfigError` naming the field (:func:`require_sizes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from voxtext.errors import ConfigError

POOLINGS = ("cls", "mean")


def check_sizes(config: Any, where: str) -> None:
    """``input_dim`` and ``num_labels`` are 0 (unset, filled by the task) or positive."""
    for name in ("input_dim", "num_labels"):
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(
                f"{where}.{name} must be a positive integer (or 0 to let the task set it), "
                f"got {value!r}"
            )


def require_sizes(config: Any, where: str) -> None:
    """Raise a ConfigError naming the field when ``input_dim`` or ``num_labels`` is still 0."""
    check_sizes(config, where)
    hints = {
        "input_dim": "the encoder's output_dim",
        "num_labels": (
            "the vocabulary size" if where == "masked-lm" else "the number of labels of the task"
        ),
    }
    for name, source in hints.items():
        if getattr(config, name) == 0:
            raise ConfigError(
                f"{where}.{name} is 0: it is set by the task from {source}. Build the head "
                f"through the text-classification task, or pass {name}=<{source}> yourself"
            )


def check_dropout(value: float, where: str) -> None:
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{where}.dropout must be in [0, 1), got {value}")


@dataclass(frozen=True)
class SequenceHeadConfig:
    """Pooled text -> ``num_labels`` logits.

    ``pooling``: ``"cls"`` takes the first position (BERT's [CLS] token), ``"mean"`` averages
    the valid positions (padding excluded). ``hidden_dim``: when set, an extra dense layer with
    tanh between pooling and the classifier, like BERT's pooler (``hidden_dim == input_dim``
    reproduces it). ``dropout`` applies to the pooled vector before the classifier.
    """

    input_dim: int = 0
    num_labels: int = 0
    pooling: Literal["cls", "mean"] = "cls"
    hidden_dim: int | None = None
    dropout: float = 0.1

    def __post_init__(self) -> None:
        where = "sequence-classification"
        check_sizes(self, where)
        if self.pooling not in POOLINGS:
            raise ConfigError(
                f"{where}.pooling={self.pooling!r} is unknown; choose one of {POOLINGS}"
            )
        if self.hidden_dim is not None and (
            not isinstance(self.hidden_dim, int) or self.hidden_dim < 1
        ):
            raise ConfigError(
                f"{where}.hidden_dim must be a positive integer or None (no extra layer), "
                f"got {self.hidden_dim!r}"
            )
        check_dropout(self.dropout, where)


@dataclass(frozen=True)
class TokenHeadConfig:
    """Per-position ``num_labels`` logits (BIO tags for NER); ``dropout`` before the classifier."""

    input_dim: int = 0
    num_labels: int = 0
    dropout: float = 0.1

    def __post_init__(self) -> None:
        check_sizes(self, "token-classification")
        check_dropout(self.dropout, "token-classification")


@dataclass(frozen=True)
class MaskedLMHeadConfig:
    """BERT's masked-LM head: dense + GELU + LayerNorm, then a decoder to ``num_labels`` (the
    vocabulary size) logits. ``layer_norm_eps`` is BERT's 1e-12 by default."""

    input_dim: int = 0
    num_labels: int = 0
    layer_norm_eps: float = 1e-12

    def __post_init__(self) -> None:
        check_sizes(self, "masked-lm")
        if not self.layer_norm_eps > 0.0:
            raise ConfigError(f"masked-lm.layer_norm_eps must be > 0, got {self.layer_norm_eps}")
