"""Loading a trained recogniser from its checkpoint and using it: ``transcribe`` audio files,
``evaluate_manifest`` into the predictions JSONL that ``voxtext report`` reads."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from voxtext.asr.assembly import decoder_for, reassemble
from voxtext.asr.decoding import decode_files
from voxtext.asr.groups import UNKNOWN_ID, GroupVocabulary
from voxtext.asr.model import CTCModel
from voxtext.components import ComponentSpec, Provenance, rebuild_component
from voxtext.data.audio import audio_info
from voxtext.data.manifest import read_manifest
from voxtext.errors import VoxtextError
from voxtext.train.checkpoint import load_checkpoint, resolve_checkpoint

FORMAT = "voxtext.asr/1"


@dataclass
class Recognizer:
    """A trained CTC model with its tokenizer and decoder, ready for audio files."""

    model: CTCModel
    tokenizer: Any
    decoder: Any
    sample_rate: int
    checkpoint: Path
    metadata: Mapping[str, Any]

    @property
    def groups(self) -> GroupVocabulary | None:
        """The group vocabulary of a group-aware model (``None`` for a plain one)."""
        groups = self.metadata.get("groups")
        return GroupVocabulary.from_dict(groups) if groups else None

    def with_decoder(self, spec: ComponentSpec) -> Recognizer:
        """The same model with another decoder (``ctc-beam`` with an LM, say)."""
        decoder, _ = decoder_for(spec, self.tokenizer, where="--decoder")
        return Recognizer(
            self.model, self.tokenizer, decoder, self.sample_rate, self.checkpoint, self.metadata
        )

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


def load_recognizer(path: str | Path, *, device: str = "cpu", which: str = "best") -> Recognizer:
    """From a run folder (its ``best``/``latest``/``averaged`` checkpoint) or a checkpoint
    folder. Every component's plugin must still be installed: a missing one is named with
    the version the checkpoint was built with."""
    folder = resolve_checkpoint(path, which)  # type: ignore[arg-type]
    state, saved = load_checkpoint(folder)
    metadata = saved.get("metadata", {})
    if metadata.get("format") != FORMAT:
        raise VoxtextError(
            f"{folder} is not an ASR checkpoint (format "
            f"{metadata.get('format')!r}, expected {FORMAT!r})"
        )
    source = f"checkpoint {folder}"
    records = {role: Provenance.from_dict(r) for role, r in metadata["components"].items()}
    tokenizer = rebuild_component(Provenance.from_dict(metadata["tokenizer"]), source=source)
    model = reassemble(
        records, int(metadata["vocab_size"]), source=source, groups=metadata.get("groups")
    )
    if model.normalizer is not None and metadata.get("normalizer_state") is not None:
        model.normalizer.load_state_dict(
            {
                k: torch.tensor(v, dtype=torch.float64)
                for k, v in metadata["normalizer_state"].items()
            }
        )
    inference_state = {k: v for k, v in state.items() if not k.startswith("augmentations.")}
    model.load_state_dict(inference_state)
    model.to(device).eval()
    decoder_record = Provenance.from_dict(metadata["decoder"])
    decoder, _ = decoder_for(
        ComponentSpec(decoder_record.name, decoder_record.config),
        tokenizer,
        where=f"{source}: decoder",
    )
    return Recognizer(model, tokenizer, decoder, int(metadata["sample_rate"]), folder, metadata)


def evaluate_manifest(
    recognizer: Recognizer,
    manifest: Path,
    out: Path,
    *,
    max_batch_seconds: float = 120.0,
    use_groups: bool = True,
) -> list[dict[str, Any]]:
    """Decode every utterance of ``manifest`` and write the predictions JSONL (``id``,
    ``ref``, ``hyp``, ``speaker``, ``groups``, ``duration``, ``synthetic``) that fairness
    reports read. A group-aware model gets each utterance's group from the manifest, or none
    (the unknown-group path) with ``use_groups=False``."""
    utterances = read_manifest(manifest)
    hypotheses = decode_files(
        recognizer.model,
        recognizer.decoder,
        [u.audio for u in utterances],
        [u.duration for u in utterances],
        sample_rate=recognizer.sample_rate,
        max_batch_seconds=max_batch_seconds,
        group_ids=recognizer.group_ids(
            [u.groups for u in utterances] if use_groups else None, len(utterances)
        ),
    )
    rows = [
        {
            "id": u.id,
            "ref": u.text,
            "hyp": hyp,
            "speaker": u.speaker,
            "groups": dict(u.groups),
            "duration": u.duration,
            # generated speech (a manifest's extra.synthetic) is flagged in every report
            "synthetic": bool(u.extra.get("synthetic", False)),
        }
        for u, hyp in zip(utterances, hypotheses, strict=True)
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(out)
    return rows
