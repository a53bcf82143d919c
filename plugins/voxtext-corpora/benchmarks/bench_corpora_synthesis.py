"""Synthesis speed of espeak-dialects against a plain serial espeak-ng script, side by side.

The peer is what one writes first: for each utterance run ``espeak-ng -w file.wav``, read it,
``torchaudio.functional.resample`` to 16 kHz, write it. voxtext runs the same utterances through
``synthesise_corpus`` (cached resampling kernel, ``workers`` espeak-ng processes at once).
Rounds alternate between the two so machine noise hits both; medians and ratios are printed.
``--preset`` also times a whole preset from scratch (``--preset default`` takes minutes).

    python plugins/voxtext-corpora/benchmarks/bench_corpora_synthesis.py --utterances 60
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import soundfile
import torch
from voxtext_corpora.espeak import espeak_executable
from voxtext_corpora.synthesis import spoken_text, synthesise_corpus, voice_settings

import voxtext


def plain_script(utterances, folder: Path, executable: str) -> None:
    """The peer: one espeak-ng call per file, resampled with torchaudio.functional."""
    import torchaudio.functional

    for utterance in utterances:
        raw = folder / f"{utterance.id}.22k.wav"
        subprocess.run(
            [
                executable,
                *voice_settings(utterance).arguments(),
                "-w",
                str(raw),
                spoken_text(utterance),
            ],
            check=True,
        )
        samples, rate = soundfile.read(str(raw), dtype="float32")
        resampled = torchaudio.functional.resample(torch.from_numpy(samples), rate, 16000)
        soundfile.write(str(folder / f"{utterance.id}.wav"), resampled.numpy(), 16000)


def time_once(run) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        run(Path(scratch))
        return time.perf_counter() - start


def compare(languages: str, count: int, rounds: int) -> None:
    planned = voxtext.registry("corpora").create("espeak-dialects", languages=languages).plan()
    # Every k-th utterance: all dialects, speakers and sentence lengths in the sample.
    sample = planned[:: max(1, len(planned) // count)][:count]
    executable = espeak_executable()
    runs = {
        "plain serial script": lambda d: plain_script(sample, d, executable),
        "voxtext workers=1": lambda d: synthesise_corpus(d, sample, executable, 1, False),
        "voxtext workers=2": lambda d: synthesise_corpus(d, sample, executable, 2, False),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            times[name].append(time_once(run))
    peer = statistics.median(times["plain serial script"])
    print(f"\n{languages}: {len(sample)} utterances, {rounds} rounds, medians")
    print(f"| {'run':<22} | {'seconds':>8} | {'utterances/s':>12} | {'speed-up vs peer':>16} |")
    print(f"|{'-' * 24}|{'-' * 10}|{'-' * 14}|{'-' * 18}|")
    for name, measured in times.items():
        median = statistics.median(measured)
        rate, ratio = len(sample) / median, peer / median
        print(f"| {name:<22} | {median:8.2f} | {rate:12.1f} | {ratio:15.2f}x |")


def time_preset(languages: str, preset: str) -> None:
    corpus = voxtext.registry("corpora").create(
        "espeak-dialects", languages=languages, size=preset, progress=False
    )
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        splits = corpus.prepare(Path(scratch))
        built = time.perf_counter() - start
        start = time.perf_counter()
        corpus.prepare(Path(scratch))
        hit = time.perf_counter() - start
    notes = splits.notes
    total = sum(sum(by_dialect.values()) for by_dialect in notes["utterances"].values())
    print(f"\npreset {preset}, {languages}: {total} utterances, hours {notes['hours']}")
    print(f"  prepare from scratch {built:.1f} s (synthesis {json.dumps(notes['synthesis'])})")
    print(f"  second prepare (cache hit) {hit:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--languages", nargs="+", default=["english-accents", "chinese"])
    parser.add_argument("--preset", choices=["tiny", "default", "full"])
    args = parser.parse_args()
    torch.set_num_threads(2)
    for languages in args.languages:
        compare(languages, args.utterances, args.rounds)
        if args.preset:
            time_preset(languages, args.preset)


if __name__ == "__main__":
    main()
