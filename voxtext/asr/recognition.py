"""Decoding a speech manifest with any ``protocols.Recognizer`` (a trained checkpoint, or an
engine a plugin registers) into the predictions JSONL that ``voxtext report`` reads.

``predictions.jsonl`` holds one utterance per line and nothing else: the report validates
every line, so a header line would read as a broken prediction. What was audited goes into
the sidecar ``predictions.meta.json`` beside it (:func:`metadata_path`): the recogniser's
``describe()``, the registry entry it came from, and the manifest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxtext.asr.inference import Recognizer as CheckpointModel
from voxtext.asr.long_audio import default_vad, transcribe_file
from voxtext.data.audio import load_audio
from voxtext.data.manifest import Utterance, read_manifest
from voxtext.data.predictions import PREDICTIONS_FORMAT, metadata_path
from voxtext.errors import VoxtextError
from voxtext.protocols import RecognitionInput, Recognizer, Transcript
from voxtext.train.precision import machine_description
from voxtext.train.reporting import ProgressLog

#: Audio handed to a recogniser per call: bounds memory on long manifests; a recogniser
#: still batches inside a call as it likes.
CHUNK_SECONDS = 600.0

#: Utterances longer than this are cut as ``voxtext transcribe`` cuts a file, unless the
#: caller says otherwise (:class:`LongAudio`).
DEFAULT_LONG_SECONDS = 30.0


@dataclass(frozen=True)
class LongAudio:
    """How utterances longer than ``max_seconds`` are decoded: through the long-audio path
    (``long_audio.transcribe_file``), cut at pauses by ``vad`` (a
    ``protocols.VoiceActivityDetector``; None: fixed windows overlapping by
    ``overlap_seconds``) into segments of at most ``max_seconds``, as ``voxtext transcribe``
    cuts a file."""

    vad: Any | None
    max_seconds: float = 30.0
    overlap_seconds: float = 2.0


def evaluate_manifest(
    recognizer: Recognizer | CheckpointModel,
    manifest: Path,
    out: Path,
    *,
    max_batch_seconds: float = 120.0,
    use_groups: bool = True,
    source: Mapping[str, Any] | None = None,
    chunk_seconds: float = CHUNK_SECONDS,
    long_audio: LongAudio | None = None,
) -> list[dict[str, Any]]:
    """Recognise every utterance of ``manifest`` and write the predictions JSONL (``id``,
    ``ref``, ``hyp``, ``speaker``, ``groups``, ``duration``, ``synthetic``, and ``extra`` with
    the recogniser's per-utterance ``info`` when it gives any) to ``out``, and its sidecar.

    A loaded checkpoint (``load_recognizer``) is wrapped as a recogniser decoding batches of
    up to ``max_batch_seconds``. Each input carries its manifest groups (oracle conditioning
    of a group-aware model), or none with ``use_groups=False``. ``source`` (JSON-able) says
    where the recogniser came from, e.g. its registry name and plugin, for the sidecar.
    ``long_audio``: how utterances too long to decode at once are cut (default: the default
    detector, 30 s segments)."""
    engine: Recognizer = (
        recognizer.as_recognizer(max_batch_seconds)
        if isinstance(recognizer, CheckpointModel)
        else recognizer
    )
    utterances = read_manifest(manifest)
    transcripts: list[Transcript] = []
    log = ProgressLog(f"decode {manifest.name}", sum(u.duration for u in utterances))
    decoded_seconds = 0.0
    for chunk in _chunks(utterances, chunk_seconds):
        transcripts += _recognise(engine, chunk, use_groups, long_audio)
        decoded_seconds += sum(u.duration for u in chunk)
        log.update(decoded_seconds)
    rows = [_row(u, t) for u, t in zip(utterances, transcripts, strict=True)]
    _write_atomically(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    metadata = {
        "format": PREDICTIONS_FORMAT,
        "predictions": out.name,
        "manifest": str(manifest),
        "utterances": len(rows),
        "recognizer": engine.describe(),
        "source": dict(source or {}),
        "use_groups": use_groups,
        "machine": machine_description(),
    }
    _write_atomically(
        metadata_path(out), json.dumps(metadata, indent=2, ensure_ascii=False, default=str) + "\n"
    )
    return rows


def _recognise(
    recognizer: Recognizer,
    utterances: Sequence[Utterance],
    use_groups: bool,
    long_audio: LongAudio | None,
) -> list[Transcript]:
    """One transcript per utterance: long ones one by one through the long-audio path, the
    others in one call."""
    found: dict[int, Transcript] = {}
    short = []
    for index, utterance in enumerate(utterances):
        limit = long_audio.max_seconds if long_audio is not None else DEFAULT_LONG_SECONDS
        if utterance.duration > limit:
            long_audio = long_audio or LongAudio(default_vad())
            timed = transcribe_file(
                recognizer,
                utterance.audio,
                vad=long_audio.vad,
                max_seconds=long_audio.max_seconds,
                overlap_seconds=long_audio.overlap_seconds,
                groups=dict(utterance.groups) if use_groups else {},
            )
            found[index] = Transcript(timed.text)
        else:
            short.append(index)
    for index, transcript in zip(
        short, _recognise_short(recognizer, [utterances[i] for i in short], use_groups), strict=True
    ):
        found[index] = transcript
    return [found[i] for i in range(len(utterances))]


def _recognise_short(
    recognizer: Recognizer, utterances: Sequence[Utterance], use_groups: bool
) -> list[Transcript]:
    if not utterances:
        return []
    rate = recognizer.sample_rate
    items = [
        RecognitionInput(
            u.id, load_audio(u.audio, rate).numpy(), rate, dict(u.groups) if use_groups else {}
        )
        for u in utterances
    ]
    transcripts = list(recognizer.transcribe(items))
    if len(transcripts) != len(items) or not all(isinstance(t, Transcript) for t in transcripts):
        raise VoxtextError(
            f"recogniser {type(recognizer).__name__} returned {len(transcripts)} results for "
            f"{len(items)} utterances; transcribe() must return one Transcript per input"
        )
    return transcripts


def _chunks(utterances: Sequence[Utterance], seconds: float) -> Iterator[Sequence[Utterance]]:
    """Consecutive runs of utterances of at most ``seconds`` of audio (at least one each)."""
    start, total = 0, 0.0
    for index, utterance in enumerate(utterances):
        if index > start and total + utterance.duration > seconds:
            yield utterances[start:index]
            start, total = index, 0.0
        total += utterance.duration
    if start < len(utterances):
        yield utterances[start:]


def _row(utterance: Utterance, transcript: Transcript) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": utterance.id,
        "ref": utterance.text,
        "hyp": transcript.text,
        "speaker": utterance.speaker,
        "groups": dict(utterance.groups),
        "duration": utterance.duration,
        # generated speech (a manifest's extra.synthetic) is flagged in every report
        "synthetic": bool(utterance.extra.get("synthetic", False)),
    }
    if transcript.info:
        row["extra"] = dict(transcript.info)
    return row


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def identification_accuracy(
    rows: Sequence[Mapping[str, Any]], attribute: str, known: Sequence[str] | None = None
) -> tuple[int, int]:
    """(right, counted) of the groups a model identified itself (``extra.predicted_groups``,
    see ``CheckpointRecognizer.identify_groups``), over the predictions labelled with
    ``attribute`` (with a value in ``known`` when given: one the model can choose)."""
    counted = [
        r
        for r in rows
        if attribute in r["groups"] and (known is None or r["groups"][attribute] in known)
    ]
    right = sum(
        r["extra"]["predicted_groups"].get(attribute) == r["groups"][attribute] for r in counted
    )
    return right, len(counted)
