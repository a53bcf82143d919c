"""Small interfaces for each component kind; shapes are written ``(batch, frames, dim)``.

Components do not inherit from these: any object with the right attributes conforms
(``typing.Protocol``), and the contract tests check conformance with ``isinstance``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import torch


@runtime_checkable
class FeatureExtractor(Protocol):
    """Waveforms to frame features.

    ``__call__(waveforms, lengths)``: ``waveforms`` float ``(batch, samples)`` at
    ``sample_rate``, zero-padded; ``lengths`` int64 ``(batch,)`` valid samples per row.
    Returns ``(features, frame_lengths)``: float ``(batch, frames, feature_dim)`` and int64
    ``(batch,)``. Frames past a row's length are zero. Row ``i`` of a batch equals the
    result for that utterance alone.
    """

    sample_rate: int
    feature_dim: int

    def __call__(
        self, waveforms: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]: ...


@runtime_checkable
class FeatureNormalizer(Protocol):
    """Normalises padded features ``(batch, frames, dim)`` with lengths ``(batch,)``.

    ``__call__(features, lengths)`` returns features of the same shape (padding stays zero).
    Normalisers with ``needs_fitting`` (global CMVN) first see the training data through
    ``accumulate(features, lengths)``; their statistics live in ``state_dict()`` so a
    checkpoint restores them with ``load_state_dict``.
    """

    needs_fitting: bool

    def __call__(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor: ...

    def accumulate(self, features: torch.Tensor, lengths: torch.Tensor) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


@runtime_checkable
class Augmentation(Protocol):
    """A seeded perturbation of a padded batch.

    ``domain`` says what it takes: ``"waveform"`` — ``(batch, samples)`` — or ``"features"``
    — ``(batch, frames, dim)``. ``__call__(x, lengths, generator)`` returns ``(x', lengths')``
    (speed perturbation changes lengths). The same generator state gives the same output.
    """

    domain: Literal["waveform", "features"]

    def __call__(
        self, x: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]: ...


@runtime_checkable
class TextNormalizer(Protocol):
    """``__call__(text) -> text``; ``describe()`` says what it does, for reports."""

    def __call__(self, text: str) -> str: ...

    def describe(self) -> dict[str, Any]: ...


@runtime_checkable
class Tokenizer(Protocol):
    """Text to ids and back. ``blank_id`` is the CTC blank (``None`` if the tokenizer has
    none); ``symbols[i]`` is the text of id ``i``. ``to_dict()`` is what a checkpoint stores
    to rebuild it: JSON-able values of the tokenizer's registered config, with what it learnt
    (vocabulary, model) included and its training data left out, so that
    ``registry("tokenizers").create(name, tokenizer.to_dict())`` rebuilds an identical
    tokenizer without the data."""

    vocab_size: int
    blank_id: int | None
    symbols: Sequence[str]

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


@runtime_checkable
class Encoder(Protocol):
    """An ``nn.Module``: ``forward(x, lengths)`` with ``x`` float ``(batch, frames,
    input_dim)`` and ``lengths`` int64 ``(batch,)``; returns ``(encoded, out_lengths)`` with
    ``encoded`` ``(batch, frames', output_dim)`` (``frames'`` after subsampling).

    Optional attribute ``takes_waveform`` (absent means False; read it with
    :func:`encoder_takes_waveform`): an encoder that sets it True takes raw audio, ``x`` float
    ``(batch, samples)`` at its ``sample_rate`` attribute with ``lengths`` in samples, so the
    trainer must skip feature extraction and feature augmentation for it."""

    output_dim: int

    def __call__(
        self, x: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]: ...


def encoder_takes_waveform(encoder: object) -> bool:
    """Whether ``encoder`` wants raw waveforms ``(batch, samples)`` instead of features."""
    return bool(getattr(encoder, "takes_waveform", False))


@dataclass(frozen=True)
class Hypothesis:
    """One decoded result: token ids, their text, and the search score (log domain)."""

    tokens: tuple[int, ...]
    text: str
    score: float = 0.0


@runtime_checkable
class CTCDecoder(Protocol):
    """``decode(log_probs, lengths)``: ``log_probs`` float ``(batch, frames, vocab)``
    (log-softmax), ``lengths`` int64 ``(batch,)``; returns the best hypotheses per row,
    best first (``list`` of length ``batch`` of non-empty lists). Registered CTC decoders
    take the tokenizer's ``symbols`` and ``blank_id`` as config fields (that is how they map
    ids to text, and how the contract tests recognise them among the decoders)."""

    def decode(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[Hypothesis]]: ...


@runtime_checkable
class Head(Protocol):
    """An ``nn.Module`` on encoder output: ``forward(encoded, lengths)`` with ``encoded``
    ``(batch, frames, dim)``; returns logits ``(batch, num_labels)`` for sequence heads or
    ``(batch, frames, num_labels)`` for token heads."""

    num_labels: int

    def __call__(self, encoded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class FairnessEvaluator(Protocol):
    """``evaluate(records, group_by)``: ``records`` are prediction rows (``id``, ``ref``,
    ``hyp``, ``speaker``, ``groups`` for ASR; ``label``/``pred``/``score`` for classification);
    ``group_by`` names the group attributes (``["dialect"]``, ``["dialect", "gender"]`` for
    an intersection). Returns a report object with ``to_dict()``."""

    def evaluate(self, records: Sequence[Mapping[str, Any]], group_by: Sequence[str]) -> Any: ...


@dataclass(frozen=True)
class CorpusSplits:
    """What a corpus prepared: manifest path per split name, and facts for the model card."""

    manifests: Mapping[str, Path]
    synthetic: bool = False
    notes: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Corpus(Protocol):
    """``prepare(out_dir)`` writes manifests (and audio, if it makes any) under ``out_dir``,
    reusing what is already there, and returns the splits."""

    def prepare(self, out_dir: Path) -> CorpusSplits: ...


@runtime_checkable
class Command(Protocol):
    """A ``voxtext`` subcommand: ``help`` is its one-line summary, ``add_arguments`` fills
    its parser, ``run`` returns the process exit code."""

    help: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...
