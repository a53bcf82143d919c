"""Synthesise a planned corpus's audio with espeak-ng, in parallel, reusing complete files.

Each utterance is one espeak-ng process; ``workers`` of them run at once, each driven by a
thread that then resamples (torch releases the GIL in its kernels) and writes the file. Threads
rather than a process pool: the synthesis already runs in separate espeak-ng processes, and
threads start instantly where a fresh process would import torch again (seconds).
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from voxtext_corpora.espeak import (
    VoiceSettings,
    complete_wav_samples,
    synthesise,
    write_wav_atomically,
)
from voxtext_corpora.plan import PlannedUtterance
from voxtext_corpora.sentences import to_pinyin


@dataclass(frozen=True)
class SynthesisReport:
    """Samples per utterance id, how many files were made and reused, and how long it took."""

    samples: dict[str, int]
    synthesised: int
    reused: int
    seconds: float

    @property
    def utterances_per_second(self) -> float | None:
        return self.synthesised / self.seconds if self.synthesised and self.seconds > 0 else None


def spoken_text(utterance: PlannedUtterance) -> str:
    """What espeak-ng reads for ``utterance``: the sentence, or its pinyin for Mandarin."""
    if utterance.speaker.dialect.script == "pinyin":
        return to_pinyin(utterance.sentence.text)
    return utterance.sentence.text


def voice_settings(utterance: PlannedUtterance) -> VoiceSettings:
    speaker = utterance.speaker
    return VoiceSettings(speaker.dialect.voice, speaker.variant, speaker.pitch, speaker.speed)


def synthesise_corpus(
    corpus_dir: Path,
    planned: Sequence[PlannedUtterance],
    executable: str,
    workers: int,
    show_progress: bool,
) -> SynthesisReport:
    """Make every planned utterance's audio under ``corpus_dir`` that is not already complete."""
    for leftover in corpus_dir.glob("audio/**/.*.partial"):
        leftover.unlink()  # from an interrupted run: never trusted, always remade
    samples: dict[str, int] = {}
    missing = []
    for utterance in planned:
        found = complete_wav_samples(corpus_dir / utterance.audio)
        if found is None:
            missing.append(utterance)
        else:
            samples[utterance.id] = found
    start = time.perf_counter()
    if missing:
        samples.update(
            _synthesise_parallel(corpus_dir, missing, executable, workers, show_progress)
        )
    seconds = time.perf_counter() - start
    return SynthesisReport(samples, len(missing), len(planned) - len(missing), seconds)


def _synthesise_one(corpus_dir: Path, utterance: PlannedUtterance, executable: str) -> int:
    audio = synthesise(executable, voice_settings(utterance), spoken_text(utterance))
    return write_wav_atomically(corpus_dir / utterance.audio, audio)


def _synthesise_parallel(
    corpus_dir: Path,
    missing: Sequence[PlannedUtterance],
    executable: str,
    workers: int,
    show_progress: bool,
) -> dict[str, int]:
    """Synthesise ``missing`` on ``workers`` threads with a progress bar; stop at a failure."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    samples: dict[str, int] = {}
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not show_progress,
    )
    description = f"espeak-ng: synthesising {len(missing)} utterances on {workers} workers"
    with progress, concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        task = progress.add_task(description, total=len(missing))
        futures = {
            pool.submit(_synthesise_one, corpus_dir, utterance, executable): utterance
            for utterance in missing
        }
        try:
            for future in concurrent.futures.as_completed(futures):
                samples[futures[future].id] = future.result()
                progress.advance(task)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return samples
