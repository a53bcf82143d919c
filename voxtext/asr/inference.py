"""Loading a trained recogniser from its checkpoint and using it: ``transcribe`` audio files,
or, as :class:`CheckpointRecognizer` (a ``protocols.Recognizer``), decode a manifest into the
predictions JSONL that ``voxtext report`` reads (``voxtext.asr.recognition``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from voxtext.asr.alignment import TimedTranscript
from voxtext.asr.assembly import decoder_for, reassemble
from voxtext.asr.decoding import decode_files, decode_waveforms, identify_waveform_groups
from voxtext.asr.long_audio import transcribe_long
from voxtext.components import ComponentSpec, Provenance, rebuild_component
from voxtext.data.audio import audio_info
from voxtext.errors import VoxtextError
from voxtext.protocols import RecognitionInput, Transcript
from voxtext.speech.decoding import input_waveforms
from voxtext.speech.groups import UNKNOWN_ID, GroupVocabulary
from voxtext.tasks import DEFAULT_TASK
from voxtext.train.checkpoint import CheckpointError, Which
from voxtext.train.metadata import CheckpointMetadata, load_task_checkpoint

#: The format of CTC checkpoints written before the one checkpoint schema
#: (``voxtext.train.metadata``); :func:`upgrade_metadata` reads them.
LEGACY_FORMAT = "voxtext.asr/1"

#: Components a checkpoint records that are not part of the network it reassembles.
DECODING_ROLES = ("tokenizer", "decoder")


@dataclass
class Recognizer:
    """A trained CTC model with its tokenizer and decoder, ready for audio files."""

    #: the ``CTCModel``, or an exported graph run by onnxruntime (``--runtime onnx``,
    #: ``onnx_runtime.OnnxCTCModel``): both take waveforms and give CTC log-probs
    model: torch.nn.Module
    tokenizer: Any
    decoder: Any
    sample_rate: int
    checkpoint: Path
    metadata: CheckpointMetadata
    #: the decoder in use when it is not the checkpoint's own (``with_decoder``)
    decoder_record: Provenance | None = None

    @property
    def groups(self) -> GroupVocabulary | None:
        """The group vocabulary of a group-aware model (``None`` for a plain one)."""
        groups = self.metadata.task_state.get("groups")
        return GroupVocabulary.from_dict(groups) if groups else None

    def with_decoder(self, spec: ComponentSpec) -> Recognizer:
        """The same model with another decoder (``ctc-beam`` with an LM, say)."""
        decoder, record = decoder_for(spec, self.tokenizer, where="--decoder")
        return Recognizer(
            self.model,
            self.tokenizer,
            decoder,
            self.sample_rate,
            self.checkpoint,
            self.metadata,
            record,
        )

    def as_recognizer(
        self, max_batch_seconds: float = 120.0, *, identify_groups: bool = False
    ) -> CheckpointRecognizer:
        """This model behind ``protocols.Recognizer``, as ``voxtext evaluate`` uses it; with
        ``identify_groups`` the model chooses each utterance's group itself (it needs a
        group-identification module such as the dialect-id head)."""
        if identify_groups and not self.model.identifies_groups:
            raise VoxtextError(
                f"{self.checkpoint}: this model cannot identify groups from audio (it was "
                "trained without a group-identification strategy such as dialect-id); decode "
                "with the true groups or none instead"
            )
        return CheckpointRecognizer(self, max_batch_seconds, identify_groups)

    def transcribe(
        self,
        paths: Sequence[Path],
        max_batch_seconds: float = 120.0,
        groups: Sequence[Mapping[str, str] | None] | None = None,
    ) -> list[str]:
        """Texts of ``paths``; ``groups`` give each file's groups (``{"dialect": "yue"}``)
        for a group-aware model; a file without one, or with a value the model was not
        trained on, takes the unknown-group path."""
        durations = [audio_info(p).duration for p in paths]
        return decode_files(
            self.model,
            self.decoder,
            list(paths),
            durations,
            sample_rate=self.sample_rate,
            max_batch_seconds=max_batch_seconds,
            group_ids=self.group_ids(groups, len(paths)),
        )

    def transcribe_timed(
        self,
        path: Path,
        *,
        vad: Any | None = None,
        max_seconds: float = 30.0,
        overlap_seconds: float = 2.0,
        max_batch_seconds: float = 120.0,
        groups: Mapping[str, str] | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> TimedTranscript:
        """One file of any length, read in blocks and cut at silence by ``vad`` (a
        ``protocols.VoiceActivityDetector``) or into windows of ``max_seconds`` overlapping
        by ``overlap_seconds``, with word and token times and confidences; see
        ``voxtext.asr.long_audio``. ``progress(seconds)`` reports the seconds read."""
        ids = self.group_ids([groups], 1)
        return transcribe_long(
            self,
            path,
            vad=vad,
            max_seconds=max_seconds,
            overlap_seconds=overlap_seconds,
            max_batch_seconds=max_batch_seconds,
            group_id=ids[0] if ids else None,
            progress=progress,
        )

    def group_ids(
        self, groups: Sequence[Mapping[str, str] | None] | None, count: int
    ) -> list[int] | None:
        """Group ids of ``count`` utterances' groups (``None`` for a plain model)."""
        vocabulary = self.groups
        if vocabulary is None:
            return None
        if groups is None:
            return [UNKNOWN_ID] * count
        if len(groups) != count:
            raise ValueError(f"{len(groups)} group entries for {count} audio files")
        return vocabulary.ids_of(groups)


def load_recognizer(
    path: str | Path, *, device: str = "cpu", which: Which = "best", task: str = DEFAULT_TASK
) -> Recognizer:
    """From a run folder (its ``best``/``latest``/``averaged`` checkpoint) or a checkpoint
    folder written by ``task``. Every component's plugin must still be installed: a missing
    one is named with the version the checkpoint was built with."""
    folder, state, metadata = load_task_checkpoint(path, task, which=which)
    source = f"checkpoint {folder}"
    model_roles = [role for role in metadata.components if role not in DECODING_ROLES]
    tokenizer = rebuild_component(metadata.record("tokenizer", source=source), source=source)
    task_state = metadata.task_state
    model = reassemble(
        metadata.records(model_roles),
        int(task_state["vocab_size"]),
        source=source,
        groups=task_state.get("groups"),
    )
    if model.normalizer is not None and task_state.get("normalizer_state") is not None:
        model.normalizer.load_state_dict(
            {
                k: torch.tensor(v, dtype=torch.float64)
                for k, v in task_state["normalizer_state"].items()
            }
        )
    inference_state = {k: v for k, v in state.items() if not k.startswith("augmentations.")}
    model.load_state_dict(inference_state)
    model.to(device).eval()
    decoder_record = metadata.record("decoder", source=source)
    decoder, _ = decoder_for(
        ComponentSpec(decoder_record.name, decoder_record.config),
        tokenizer,
        where=f"{source}: decoder",
    )
    return Recognizer(model, tokenizer, decoder, int(task_state["sample_rate"]), folder, metadata)


def upgrade_metadata(saved: Mapping[str, Any], source: str) -> CheckpointMetadata | None:
    """A CTC checkpoint's metadata of the :data:`LEGACY_FORMAT` (or an ONNX export's of
    that time, which kept the same entries) in the one schema; None for another format."""
    if saved.get("format") != LEGACY_FORMAT:
        return None
    missing = [k for k in ("components", "tokenizer", "decoder", "vocab_size") if k not in saved]
    if missing:
        raise CheckpointError(f"{source}: a {LEGACY_FORMAT} checkpoint without {missing}")
    components = {
        **saved["components"],
        "tokenizer": saved["tokenizer"],
        "decoder": saved["decoder"],
    }
    state_keys = ("config", "sample_rate", "normalizer_state", "vocab_size", "training_data")
    task_state = {key: saved[key] for key in state_keys if key in saved}
    if saved.get("groups"):
        task_state["groups"] = saved["groups"]
    task = saved.get("config", {}).get("task", DEFAULT_TASK)
    return CheckpointMetadata(str(task), components, task_state)


@dataclass
class CheckpointRecognizer:
    """A trained checkpoint as a ``protocols.Recognizer``. Each input's ``groups`` condition a
    group-aware model (none, or a value it was not trained on: the unknown-group path);
    utterances are decoded in batches of similar length up to ``max_batch_seconds``."""

    recognizer: Recognizer
    max_batch_seconds: float = 120.0
    #: predicted-label inference: ignore the inputs' groups, identify each from its audio
    #: (first pass, no group shown), decode with it (second pass); the group goes in ``info``
    identify_groups: bool = False

    @property
    def sample_rate(self) -> int:
        return self.recognizer.sample_rate

    def transcribe(self, items: Sequence[RecognitionInput]) -> list[Transcript]:
        waveforms = input_waveforms(items, self.sample_rate)
        durations = [len(w) / self.sample_rate for w in waveforms]
        model, vocabulary = self.recognizer.model, self.recognizer.groups
        group_ids: list[int] | None
        if self.identify_groups and vocabulary is not None:
            group_ids = identify_waveform_groups(
                model, waveforms.__getitem__, durations, max_batch_seconds=self.max_batch_seconds
            )
        else:
            group_ids = self.recognizer.group_ids([i.groups for i in items], len(items))
        texts = decode_waveforms(
            model,
            self.recognizer.decoder,
            waveforms.__getitem__,
            durations,
            max_batch_seconds=self.max_batch_seconds,
            group_ids=group_ids,
        )
        if not self.identify_groups or vocabulary is None or group_ids is None:
            return [Transcript(text) for text in texts]
        return [
            Transcript(text, {"predicted_groups": {vocabulary.attribute: vocabulary.values[g]}})
            for text, g in zip(texts, group_ids, strict=True)
        ]

    def transcribe_file(
        self,
        path: Path,
        *,
        vad: Any | None,
        max_seconds: float,
        overlap_seconds: float,
        groups: Mapping[str, str] | None,
        progress: Callable[[float], None] | None,
    ) -> TimedTranscript:
        """One file of any length with word times (``long_audio.FileTranscriber``)."""
        return self.recognizer.transcribe_timed(
            path,
            vad=vad,
            max_seconds=max_seconds,
            overlap_seconds=overlap_seconds,
            max_batch_seconds=self.max_batch_seconds,
            groups=groups,
            progress=progress,
        )

    def describe(self) -> dict[str, Any]:
        """The checkpoint, and every component it was built from with its plugin version."""
        from voxtext import __version__

        metadata = self.recognizer.metadata
        source = str(self.recognizer.checkpoint)
        decoder = self.recognizer.decoder_record or metadata.record("decoder", source=source)
        components = {
            role: record.to_dict()
            for role, record in metadata.records().items()
            if role not in DECODING_ROLES
        }
        return {
            "engine": "voxtext",
            "model": str(self.recognizer.checkpoint),
            "version": __version__,
            "settings": {
                "format": metadata.format,
                "task": metadata.task,
                "components": components,
                # without its config: that holds the whole learnt vocabulary
                "tokenizer": {
                    k: v for k, v in metadata.components["tokenizer"].items() if k != "config"
                },
                "decoder": decoder.to_dict(),
                "groups": metadata.task_state.get("groups"),
                "max_batch_seconds": self.max_batch_seconds,
                "groups_from": "identified from audio" if self.identify_groups else "inputs",
            },
        }
