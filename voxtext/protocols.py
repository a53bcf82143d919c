"""Small interfaces for each component kind; shapes are written ``(batch, frames, dim)``.

Components do not inherit from these: any object with the right attributes conforms
(``typing.Protocol``), and the contract tests check conformance with ``isinstance``.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:  # annotations only: importing the protocols must not cost a torch import
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
class TraceableFeatureExtractor(Protocol):
    """A feature extractor that can go inside an exported graph (``voxtext export``).

    ``traceable()`` returns a callable with the extractor's ``__call__`` contract built only
    from whole-tensor operations (no data-dependent shapes or Python loops over values), giving
    the same features up to float rounding. It raises ``ConfigError`` for options it cannot
    export, saying which.
    """

    def traceable(self) -> Any: ...


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
class TextAugmentation(Protocol):
    """A seeded perturbation of one training text (EDA-style edits), ``domain == "text"``.

    ``__call__(text, rng)`` returns the new text; the same ``rng`` state gives the same output.
    Registered under ``augmentations`` beside the audio ones; each task takes the domains it
    understands and rejects the others by name.
    """

    domain: Literal["text"]

    def __call__(self, text: str, rng: random.Random) -> str: ...


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


@runtime_checkable
class TextTokenizer(Protocol):
    """Text to the input ids of a text encoder: special tokens added, truncated to
    ``max_length`` ids.

    ``encode(text)``: ids of one text; ``encode_batch(texts)`` the same for many (fast tokenizers
    do them at once). ``encode_words(words)``: ids of pre-split words (token
    classification) and, per id, the index of the word it belongs to (``None`` for special
    tokens); words cut off by truncation have no ids. ``tokens(ids)``: the token strings, for
    reports. ``pad_id`` pads batches; ``mask_id`` is the MLM mask (``None`` if it has none);
    ``special_ids`` are never masked or tagged.
    """

    vocab_size: int
    pad_id: int
    mask_id: int | None
    special_ids: frozenset[int]
    max_length: int

    def encode(self, text: str) -> list[int]: ...

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]: ...

    def encode_words(self, words: Sequence[str]) -> tuple[list[int], list[int | None]]: ...

    def tokens(self, ids: Sequence[int]) -> list[str]: ...


@runtime_checkable
class TextEncoder(Protocol):
    """An ``nn.Module`` over token ids: ``forward(input_ids, lengths)`` with ``input_ids``
    int64 ``(batch, tokens)`` padded with ``tokenizer.pad_id`` and ``lengths`` int64
    ``(batch,)``; returns ``(hidden, lengths)``, ``hidden`` float ``(batch, tokens,
    output_dim)``. Attribute ``takes_tokens`` is True (read it with
    :func:`encoder_takes_tokens`).

    ``input_embeddings()``: the token embedding table (adversarial training perturbs it, a
    masked-LM head ties its output to it). ``lora_targets``: module-name suffixes LoRA adapts
    by default (``("query", "value")`` for BERT). ``to_dict()``: JSON-able config values that
    rebuild the same architecture and tokenizer *without* pretrained weights, through
    ``registry("encoders").create(name, to_dict())`` (the checkpoint holds the weights).
    Optional ``save_files(directory)``: writes the files such a rebuild reads (model config,
    tokenizer; never weights) so a run folder stands alone; the rebuild then gets ``path`` =
    that folder.
    """

    output_dim: int
    takes_tokens: bool
    tokenizer: TextTokenizer
    lora_targets: tuple[str, ...]

    def __call__(
        self, input_ids: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]: ...

    def input_embeddings(self) -> torch.nn.Embedding: ...

    def to_dict(self) -> dict[str, Any]: ...


def encoder_takes_tokens(encoder: object) -> bool:
    """Whether ``encoder`` is a text encoder taking token ids ``(batch, tokens)``."""
    return bool(getattr(encoder, "takes_tokens", False))


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
    ``(batch, frames, num_labels)`` for token heads. Heads registered for text carry
    ``level``: ``"sequence"`` or ``"token"``; a masked-LM head (``level == "token"``, one
    label per vocabulary entry) may offer ``tie_to(embedding)`` to share the input embedding
    table; such a head also offers ``tied_parameters()``, the names (relative to the head) of
    its parameters that are that table once tied, which a checkpoint stores only once (under
    the encoder)."""

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


#: The group value of id 0: utterances without the group attribute, or with a value the
#: training data did not have. Every group-aware model has a path for it (a fallback).
UNKNOWN_GROUP = "<unknown>"


@dataclass(frozen=True)
class GroupContext:
    """What a group strategy builds against.

    ``attribute``: the manifest group attribute (``"dialect"``). ``values[i]`` is the value of
    group id ``i``; ``values[0]`` is :data:`UNKNOWN_GROUP`, the others the training data's
    values, sorted. ``input_dim``: the encoder's input feature dimension (``None`` for an
    encoder that takes waveforms). ``encoder``: the encoder module (``output_dim``; the
    Conformer and Transformer encoders also expose their blocks as ``layers``).
    """

    attribute: str
    values: tuple[str, ...]
    input_dim: int | None
    encoder: Any

    @property
    def num_groups(self) -> int:
        """Number of group ids, the unknown group included."""
        return len(self.values)


@dataclass(frozen=True)
class AuxiliaryOutput:
    """An auxiliary training objective of a group module for one batch.

    ``loss``: float32 scalar, already weighted, added to the training loss per unit (it is a
    mean, like the per-unit CTC loss). ``ratios``: metrics as ``name -> (numerator,
    denominator)`` sums over the batch (``"dialect_id_acc" -> (correct, counted)``); training
    logs their ratio, dev evaluation sums both over the dev set and reports ``dev_<name>``.
    """

    loss: torch.Tensor
    ratios: Mapping[str, tuple[float, float]] = field(default_factory=dict)


@runtime_checkable
class GroupModule(Protocol):
    """An ``nn.Module`` a group strategy adds to the CTC model. ``group_ids`` are int64
    ``(batch,)`` (0 = unknown).

    ``before_encoder(x, lengths, group_ids)``: ``x`` float ``(batch, frames, input_dim)``, the
    normalised features; returns the encoder input (same shape). Called right before the
    encoder runs; ``after_encoder(encoded, lengths, group_ids)`` right after it, on
    ``(batch, frames', output_dim)``, returns the same shape. A module that hooks into the
    encoder's layers keeps ``group_ids`` between the two calls.
    ``auxiliary(encoded, lengths, group_ids, hidden)``: an extra objective on the final
    encoder output, or ``None``; ``group_ids`` are the true groups, ``hidden`` bool
    ``(batch,)`` marks rows whose true group no module saw (training replaces it by unknown
    with probability ``unknown_probability``; the largest of the modules' is used).
    ``reads_groups``: whether ``before_encoder``/``after_encoder`` use the group ids.
    Optional attribute ``needs_hidden_rows`` (absent means False): the auxiliary objective
    learns only from hidden rows, so a model whose other modules read the group must hide it
    sometimes (the model then refuses ``unknown_probability`` 0 everywhere).
    Optional method ``predict_groups(encoded, lengths)``: int64 ``(batch,)`` group ids (never
    0) identified from the encoder output of a run that saw no group; a model with such a
    module can choose its conditioning itself when the true group is not known (two passes:
    identify, then recognise with the identified group).
    """

    reads_groups: bool
    unknown_probability: float

    def before_encoder(
        self, x: torch.Tensor, lengths: torch.Tensor, group_ids: torch.Tensor
    ) -> torch.Tensor: ...

    def after_encoder(
        self, encoded: torch.Tensor, lengths: torch.Tensor, group_ids: torch.Tensor
    ) -> torch.Tensor: ...

    def auxiliary(
        self,
        encoded: torch.Tensor,
        lengths: torch.Tensor,
        group_ids: torch.Tensor,
        hidden: torch.Tensor,
    ) -> AuxiliaryOutput | None: ...


@runtime_checkable
class GroupLoss(Protocol):
    """Combines per-utterance losses into the training loss, group by group.

    ``__call__(utterance_losses, target_lengths, group_ids)``: float32 ``(batch,)`` summed CTC
    losses, int64 ``(batch,)`` target lengths and group ids; returns ``(loss, stats)``: a
    float32 scalar on the scale of a per-token mean, and floats to log. Its state (group
    weights) lives in ``state_dict()`` and is saved with the trainer state for resuming.
    """

    def __call__(
        self, utterance_losses: torch.Tensor, target_lengths: torch.Tensor, group_ids: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


@runtime_checkable
class GroupStrategy(Protocol):
    """A group-aware training strategy; each of its three parts may be absent (``None``).

    ``sampling_weights(group_ids, context)``: one non-negative weight per training utterance
    (draws with p ∝ weight). ``build_module(context)``: a :class:`GroupModule` added to the
    model (also at inference, rebuilt from the checkpoint). ``build_loss(context)``: a
    :class:`GroupLoss` replacing the plain CTC mean. A config may combine strategies, with at
    most one giving sampling weights and one giving a loss.
    """

    def sampling_weights(
        self, group_ids: Sequence[int], context: GroupContext
    ) -> Sequence[float] | None: ...

    def build_module(self, context: GroupContext) -> GroupModule | None: ...

    def build_loss(self, context: GroupContext) -> GroupLoss | None: ...


@dataclass(frozen=True)
class RecognitionInput:
    """One utterance for a :class:`Recognizer`.

    ``waveform``: float32 mono samples in [-1, 1], a numpy array ``(samples,)`` at
    ``sample_rate`` Hz. ``id``: the utterance id (for messages and logs). ``groups``: the
    utterance's group attributes (``{"dialect": "yue"}``) for a recogniser that conditions on
    the oracle group; empty means unknown, and a recogniser that does not condition ignores it.
    """

    id: str
    waveform: Any
    sample_rate: int
    groups: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Transcript:
    """What a recogniser heard in one utterance: ``text`` (may be empty), and ``info``,
    optional JSON-able facts about it (``language``, ``language_probability``,
    ``avg_logprob``) that the predictions file keeps under ``extra``."""

    text: str
    info: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Recognizer(Protocol):
    """Audio to text, as a whole: a voxtext checkpoint restored for inference, or another
    engine a plugin wraps, so one fairness report audits either.

    ``sample_rate``: the rate it wants; ``voxtext evaluate`` reads manifest audio at it (a
    recogniser given another rate resamples). ``transcribe(items)``: one :class:`Transcript`
    per :class:`RecognitionInput`, in the input order; it may batch or reorder inside.
    ``describe()``: what was audited, JSON-able, with at least ``engine`` (``"voxtext"``,
    ``"faster-whisper"``), ``model`` (name or path), ``version`` (of the engine and model) and
    ``settings`` (everything that changes the output: decoder, beam size, language...);
    ``voxtext evaluate`` writes it beside the predictions.
    """

    @property
    def sample_rate(self) -> int: ...

    def transcribe(self, items: Sequence[RecognitionInput]) -> list[Transcript]: ...

    def describe(self) -> dict[str, Any]: ...


@runtime_checkable
class VoiceActivityDetector(Protocol):
    """Where the speech is. ``speech_regions(waveform, sample_rate)``: ``waveform`` float32
    mono ``(samples,)``; returns sorted, non-overlapping ``(start, end)`` sample ranges (end
    exclusive) holding speech, already padded with whatever margin the detector wants.
    ``lookahead_seconds``: how much audio past a region's end the detector must have seen
    before that end is final (it bridges pauses shorter than this), which is what lets
    ``voxtext transcribe`` run it block by block over a file of any length."""

    lookahead_seconds: float

    def speech_regions(self, waveform: torch.Tensor, sample_rate: int) -> list[tuple[int, int]]: ...


@runtime_checkable
class Task(Protocol):
    """A kind of training job, registered by name (``register_tasks``); ``voxtext train``
    runs the one a config's ``task`` field names.

    ``load_config(values, where)``: the job's frozen config from a config mapping (a TOML
    file's tables merged with overrides; ``where`` names the source in error messages). It
    has at least ``out_dir`` and ``trainer`` (a ``voxtext.train.TrainerConfig``); component
    tables the mapping leaves out get the task's own defaults. ``train(config, resume=...)``:
    run it with the core ``Trainer``; returns its ``TrainResult``. Its checkpoints hold a
    ``voxtext.train.CheckpointMetadata`` naming the task, so ``voxtext evaluate`` finds it
    again; a task whose checkpoints once had a format of their own converts them with
    ``upgrade_metadata`` (``voxtext.train.metadata.LegacyMetadata``).

    To be evaluated a task also conforms to :class:`SpeechTask` (``voxtext evaluate`` decodes
    a speech manifest through its recogniser) or to :class:`EvaluatingTask` (it scores a
    labelled file itself); a task may be both, and then ``evaluate`` is used.
    """

    def load_config(self, values: Mapping[str, Any], where: str) -> Any: ...

    def train(self, config: Any, *, resume: bool = False) -> Any: ...


@runtime_checkable
class SpeechTask(Task, Protocol):
    """A task whose trained models hear audio.

    ``recognizer(path, identify_groups=...)``: a trained run folder or checkpoint as a
    :class:`Recognizer`; with ``identify_groups`` a group-aware model chooses each utterance's
    group from its audio (a task whose models cannot raises a ``ConfigError`` saying so).
    """

    def recognizer(self, path: Path, *, identify_groups: bool = False) -> Recognizer: ...


@dataclass(frozen=True)
class EvaluationRequest:
    """What ``voxtext evaluate CHECKPOINT DATA`` asks of an :class:`EvaluatingTask`.

    ``checkpoint``: a run or checkpoint folder the task trained. ``data``: the labelled file.
    ``out``: where to write (``None``: the task's default place). ``group_by``: group
    attributes to report metrics by. ``ensemble``: more runs whose predictions are combined
    with the first one's; ``head``: which of a multi-head model's outputs to score
    (``"main"``); ``device``: where the model runs. A task that cannot honour a non-default
    value raises a ``ConfigError`` naming the option.
    """

    checkpoint: Path
    data: Path
    out: Path | None = None
    group_by: tuple[str, ...] = ()
    ensemble: tuple[Path, ...] = ()
    head: str = "main"
    device: str = "cpu"


@dataclass(frozen=True)
class EvaluationResult:
    """What an evaluation found: ``metrics`` (name -> value, printed one per line, in order)
    and ``summary``, one line saying where the predictions and reports were written."""

    metrics: Mapping[str, float]
    summary: str


@runtime_checkable
class EvaluatingTask(Task, Protocol):
    """A task that scores a labelled data file with a trained model itself (text tasks):
    ``evaluate(request)`` writes predictions and reports and returns the metrics."""

    def evaluate(self, request: EvaluationRequest) -> EvaluationResult: ...
