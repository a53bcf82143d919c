"""A timed transcript as SubRip (``.srt``) or WebVTT (``.vtt``) subtitles, or JSON.

Words are grouped into cues of at most ``CUE_WORDS`` words and ``CUE_SECONDS`` seconds, and
a pause longer than ``CUE_PAUSE_SECONDS`` always starts a new cue, so a cue never sits on
screen over silence. A transcript without word times (a recogniser that gives none) has one
cue per decoded segment that holds text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from voxtext.asr.alignment import TimedTranscript, TimedUnit

CUE_WORDS = 12
CUE_SECONDS = 6.0
CUE_PAUSE_SECONDS = 1.0


def cues(words: Sequence[TimedUnit]) -> list[list[TimedUnit]]:
    """``words`` grouped into subtitle cues (see the module docstring)."""
    grouped: list[list[TimedUnit]] = []
    for word in words:
        cue = grouped[-1] if grouped else None
        if (
            cue is None
            or len(cue) >= CUE_WORDS
            or word.end - cue[0].start > CUE_SECONDS
            or word.start - cue[-1].end > CUE_PAUSE_SECONDS
        ):
            grouped.append([word])
        else:
            cue.append(word)
    return grouped


def timestamp(seconds: float, separator: str) -> str:
    """``HH:MM:SS<separator>mmm`` (SRT uses a comma, WebVTT a full stop)."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def transcript_cues(transcript: TimedTranscript) -> list[list[TimedUnit]]:
    """The cues of ``transcript``: of its words, or else one per segment with text."""
    if transcript.words:
        return cues(transcript.words)
    return [[segment] for segment in transcript.segments if segment.text]


def to_srt(transcript: TimedTranscript) -> str:
    blocks = []
    for number, cue in enumerate(transcript_cues(transcript), start=1):
        span = f"{timestamp(cue[0].start, ',')} --> {timestamp(cue[-1].end, ',')}"
        blocks.append(f"{number}\n{span}\n{' '.join(w.text for w in cue)}\n")
    return "\n".join(blocks)


def to_vtt(transcript: TimedTranscript) -> str:
    blocks = ["WEBVTT\n"]
    for cue in transcript_cues(transcript):
        span = f"{timestamp(cue[0].start, '.')} --> {timestamp(cue[-1].end, '.')}"
        blocks.append(f"{span}\n{' '.join(w.text for w in cue)}\n")
    return "\n".join(blocks)


def to_json(transcript: TimedTranscript, audio: str) -> str:
    """One JSON object on one line: ``audio``, ``text``, ``start``, ``end``, ``confidence``
    and ``words``/``tokens``, each with ``text``, ``start``, ``end``, ``confidence``."""
    return json.dumps({"audio": audio, **transcript.to_dict()}, ensure_ascii=False)


def render(transcript: TimedTranscript, audio: str, form: str) -> str:
    """``transcript`` as ``text`` (``AUDIO<TAB>TEXT``), ``json``, ``srt`` or ``vtt``."""
    if form == "text":
        return f"{audio}\t{transcript.text}\n"
    if form == "json":
        return to_json(transcript, audio) + "\n"
    if form == "srt":
        return to_srt(transcript)
    if form == "vtt":
        return to_vtt(transcript)
    raise ValueError(f"unknown transcript format {form!r}; expected text, json, srt or vtt")
