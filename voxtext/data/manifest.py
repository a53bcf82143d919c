"""Speech manifests: JSON Lines files listing utterances, read with every line validated.

One JSON object per line::

    {"id": "spk1-0001", "audio": "wav/spk1-0001.flac", "text": "nei hou",
     "duration": 2.35, "speaker": "spk1", "groups": {"dialect": "yue", "gender": "f"}}

``id`` (non-empty string), ``audio`` (path; relative paths are resolved against the
manifest's folder), ``text`` (string) and ``duration`` (seconds, > 0) are required.
``speaker`` (string) is optional but recommended: per-group reports count speakers.
``groups`` maps a group attribute to this utterance's value (strings only) and is what
fairness reports split by. ``extra`` is an object for the user's own data; any other field
is reported, because a misspelt field that is silently ignored loses data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import soundfile

from voxtext.data.audio import NON_FINITE_FIX, first_non_finite
from voxtext.data.validation import (
    FieldReader,
    PathLike,
    Problems,
    check_unique_id,
    duration_field,
    read_json_lines,
    report_unknown_fields,
    soundfile_message,
    write_atomically,
)

MANIFEST_FIELDS = ("id", "audio", "text", "duration", "speaker", "groups", "extra")

# A manifest duration may round or trim a little; more than both of these is a wrong entry.
DURATION_TOLERANCE_RATIO = 0.10
DURATION_TOLERANCE_SECONDS = 0.5

_KIND = "speech manifest"


@dataclass(frozen=True)
class Utterance:
    """One manifest entry: an audio file, what is said in it, who says it and their groups.

    ``audio`` is the file's path (absolute when read from a manifest); ``duration`` is in
    seconds; ``groups`` maps a group attribute (``dialect``, ``gender`` …) to this utterance's
    value; ``extra`` holds the user's own data untouched. Treat both mappings as read-only.
    ``line`` and ``source`` say where the entry was read (0 and None when made in code) and
    take no part in equality.
    """

    id: str
    audio: Path
    text: str
    duration: float
    speaker: str | None = None
    groups: Mapping[str, str] = field(default_factory=dict, hash=False)
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)
    line: int = field(default=0, compare=False)
    source: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Copies, so a caller's later change to its own dict cannot reach into this entry.
        object.__setattr__(self, "audio", Path(self.audio))
        object.__setattr__(self, "groups", dict(self.groups))
        object.__setattr__(self, "extra", dict(self.extra))


def read_manifest(path: PathLike, *, check_audio: bool = True) -> list[Utterance]:
    """Read and validate a speech manifest; raise one DataError listing every problem.

    With ``check_audio`` each audio file must exist, open with soundfile, hold samples, all
    of them finite (float files are scanned for NaN/inf), and last about as long as its
    ``duration`` says. Without it only the manifest text is checked
    (fast, for files whose audio lives elsewhere).
    """
    source = Path(path).absolute()
    problems = Problems(path)
    first_line: dict[str, int] = {}
    utterances = []
    for line, obj in read_json_lines(Path(path), problems, _KIND):
        before = len(problems)
        utterance = _parse_utterance(obj, line, source, problems, check_audio)
        check_unique_id(obj.get("id"), line, first_line, problems, "utterance")
        if utterance is not None and len(problems) == before:
            utterances.append(utterance)
    problems.raise_if_any(_KIND)
    return utterances


def _parse_utterance(
    obj: Mapping[str, Any], line: int, source: Path, problems: Problems, check_audio: bool
) -> Utterance | None:
    """Build the Utterance on one line, or return None after recording what is wrong."""
    fields = FieldReader(obj, line, problems)
    report_unknown_fields(obj, MANIFEST_FIELDS, line, problems)
    utterance_id = fields.string("id", '"id": "spk1-0001"', non_empty=True)
    audio_field = fields.string("audio", '"audio": "wav/spk1-0001.wav"', non_empty=True)
    text = fields.string("text", '"text": "what is said"')
    duration = duration_field(
        fields,
        required=True,
        example='"duration": 2.35 (seconds, a number without quotes)',
        fix="set the audio's length in seconds, or remove the line if the audio is empty",
    )
    speaker = fields.string("speaker", '"speaker": "spk1"', required=False, non_empty=True)
    groups = fields.string_mapping("groups", '"groups": {"dialect": "yue"}')
    extra = fields.mapping("extra")
    if audio_field is None:
        return None
    audio = source.parent / audio_field
    if check_audio:
        _check_audio(audio, duration, line, problems)
    if utterance_id is None or text is None or duration is None:
        return None
    return Utterance(
        id=utterance_id,
        audio=audio,
        text=text,
        duration=duration,
        speaker=speaker,
        groups=groups,
        extra=extra,
        line=line,
        source=source,
    )


def _check_audio(audio: Path, duration: float | None, line: int, problems: Problems) -> None:
    """Report an audio file that is missing, unreadable, empty or of another duration."""
    if not audio.is_file():
        what = "is a folder, not an audio file" if audio.is_dir() else "audio file not found"
        problems.add(
            line,
            f"{what}: {audio}",
            "fix the path (a relative path is resolved against the manifest's folder)",
            "audio",
        )
        return
    try:
        info = soundfile.info(str(audio))
    except (RuntimeError, OSError) as error:  # soundfile's LibsndfileError is a RuntimeError
        problems.add(
            line,
            f"cannot read audio file {audio}: {soundfile_message(error)}",
            "re-encode it as WAV or FLAC, or remove the line",
            "audio",
        )
        return
    if info.frames <= 0:
        problems.add(line, f"audio file {audio} has no samples", "remove the line", "audio")
        return
    non_finite = first_non_finite(audio)
    if non_finite is not None:
        problems.add(
            line,
            f"audio file {audio} holds NaN or infinite samples (the first at {non_finite:.3f} s)",
            NON_FINITE_FIX,
            "audio",
        )
        return
    actual = info.frames / info.samplerate
    gap = abs(duration - actual) if duration is not None else 0.0
    if gap > DURATION_TOLERANCE_SECONDS and gap > DURATION_TOLERANCE_RATIO * actual:
        problems.add(
            line,
            f"says {duration:g} s but the audio file lasts {actual:.3f} s",
            f'set "duration": {actual:.3f}, or check that "audio" names the right file',
            "duration",
        )


def write_manifest(path: PathLike, utterances: Iterable[Utterance]) -> None:
    """Write utterances as a manifest, atomically (readers never see a half-written file).

    Audio paths inside the manifest's folder are written relative to it, so the folder can
    move as a whole; other paths are written absolute, so they stay right when the manifest
    alone moves. ``speaker``, ``groups`` and ``extra`` are written only when set.
    """
    target = Path(path)
    folder = Path(os.path.abspath(target.parent))
    lines = [
        json.dumps(_to_json(utterance, folder), ensure_ascii=False, allow_nan=False)
        for utterance in utterances
    ]
    write_atomically(target, "".join(f"{line}\n" for line in lines))


def _to_json(utterance: Utterance, folder: Path) -> dict[str, Any]:
    """Return the JSON object for one utterance, its audio path relative to ``folder`` if inside."""
    audio = Path(os.path.abspath(utterance.audio))
    try:
        audio_text = audio.relative_to(folder).as_posix()
    except ValueError:
        audio_text = str(audio)
    obj: dict[str, Any] = {
        "id": utterance.id,
        "audio": audio_text,
        "text": utterance.text,
        "duration": utterance.duration,
    }
    if utterance.speaker is not None:
        obj["speaker"] = utterance.speaker
    if utterance.groups:
        obj["groups"] = dict(utterance.groups)
    if utterance.extra:
        obj["extra"] = dict(utterance.extra)
    return obj
