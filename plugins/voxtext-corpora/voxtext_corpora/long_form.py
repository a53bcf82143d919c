"""Long recordings with known content, for testing and benchmarking long-audio decoding.

espeak-ng speaks a set of the corpus' English sentences once; a file of any length is then
those sentences in a seeded random order with pauses between them, written block by block
(memory does not grow with the length). What was said where is returned, so a transcript of
the whole file can be scored against its reference and against decoding each sentence alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxtext_corpora.espeak import SAMPLE_RATE, VoiceSettings, espeak_executable, synthesise
from voxtext_corpora.sentences import english_sentences


@dataclass(frozen=True)
class Spoken:
    """One sentence as spoken: its ``text`` and ``samples`` (16 kHz float32 mono)."""

    text: str
    samples: np.ndarray


@dataclass(frozen=True)
class Placed:
    """Sentence ``index`` of the spoken set, starting ``start`` seconds into the file."""

    index: int
    start: float


def speak_sentences(
    count: int, voice: str = "en-us", variant: str = "m3", speed: int = 160
) -> list[Spoken]:
    """The first ``count`` corpus sentences spoken by one espeak-ng voice."""
    executable = espeak_executable()
    settings = VoiceSettings(voice, variant, pitch=50, speed=speed)
    return [
        Spoken(text, synthesise(executable, settings, text)) for text in english_sentences()[:count]
    ]


def write_long_recording(
    path: Path,
    seconds: float,
    spoken: Sequence[Spoken],
    *,
    pause_seconds: tuple[float, float] = (0.6, 1.2),
    noise: float = 0.001,
    seed: int = 0,
    subtype: str = "FLOAT",
) -> list[Placed]:
    """A 16 kHz WAV of about ``seconds`` (``subtype``: soundfile's sample format): sentences
    of ``spoken`` drawn at random (seeded) with pauses drawn uniformly from
    ``pause_seconds`` between them, over a faint noise floor; returns where each sentence
    went. Written one sentence at a time."""
    import soundfile

    rng = np.random.default_rng(seed)
    placed: list[Placed] = []
    written = 0
    total = round(seconds * SAMPLE_RATE)
    with soundfile.SoundFile(
        str(path), "w", samplerate=SAMPLE_RATE, channels=1, subtype=subtype
    ) as out:
        while True:
            index = int(rng.integers(len(spoken)))
            pause = round(rng.uniform(*pause_seconds) * SAMPLE_RATE)
            sentence = spoken[index].samples
            if written + pause + len(sentence) + pause > total and placed:
                break
            piece = np.concatenate([np.zeros(pause, np.float32), sentence])
            piece = piece + noise * rng.standard_normal(len(piece)).astype(np.float32)
            out.write(piece)
            placed.append(Placed(index, (written + pause) / SAMPLE_RATE))
            written += len(piece)
        tail = max(0, total - written)
        out.write(noise * rng.standard_normal(tail).astype(np.float32))
    return placed
