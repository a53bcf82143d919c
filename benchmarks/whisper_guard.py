"""Benchmark: the Whisper loop guard (``voxtext_whisper.guard``) against plain greedy
decoding of the same fine-tuned run on the same manifest.

Both decode every utterance of the manifest with the run's model (voxtext's PyTorch Whisper,
``--threads`` threads); the table prints, per group and overall, the CER of each (the run's
own text normaliser, character units, the scorer dev selection uses), how many plain
hypotheses loop (reached the token limit or compress better than 2.4), how many the guard
decoded again at a temperature and how many still loop, with the wall time of each.

    python benchmarks/whisper_guard.py [RUN] [MANIFEST] [--group dialect] [--threads 2]
    python benchmarks/whisper_guard.py RUN --flite 25     # held-out voices (Debian flite)

``--flite N`` decodes instead N corpus sentences spoken by each of flite's voices (kal16,
awb, rms, slt): another synthesiser, which the espeak-ng corpus never used, grouped by voice.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch

from voxtext.data.audio import load_audio
from voxtext.data.manifest import read_manifest
from voxtext.protocols import RecognitionInput
from voxtext.speech.scoring import error_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, nargs="?", default=Path("exp/dialect_asr/plain"))
    parser.add_argument(
        "manifest",
        type=Path,
        nargs="?",
        help="default: the main job's test split, exp/dialect_asr/corpus/*/test.jsonl",
    )
    parser.add_argument("--group", default="dialect")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--flite", type=int, metavar="N", help="N sentences per flite voice")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from voxtext_whisper.guard import COMPRESSION_RATIO_THRESHOLD
    from voxtext_whisper.seq2seq_task import load_seq2seq

    import voxtext
    from voxtext.train import resolve_checkpoint
    from voxtext.train.checkpoint import read_metadata
    from voxtext.train.metadata import task_metadata

    guarded = load_seq2seq(args.run)
    plain = dataclasses.replace(guarded, guard=False)
    saved = read_metadata(resolve_checkpoint(args.run))["metadata"]
    config = task_metadata(saved, source=str(args.run)).task_state["config"]
    name = config.get("text_normalizer")
    normalise = voxtext.registry("text_normalizers").create(name) if name else (lambda t: t)
    if args.flite:
        args.manifest, args.group = flite_manifest(args.flite), "voice"
    elif args.manifest is None:
        found = sorted(Path("exp/dialect_asr/corpus").glob("*/test.jsonl"))
        if not found:
            raise SystemExit("no exp/dialect_asr/corpus/*/test.jsonl: run the main job first")
        args.manifest = found[-1]
    utterances = read_manifest(args.manifest)
    items = [RecognitionInput(u.id, load_audio(u.audio).numpy(), 16000) for u in utterances]
    results, seconds = {}, {}
    for label, recognizer in (("plain", plain), ("guarded", guarded)):
        began = time.perf_counter()
        results[label] = recognizer.transcribe(items)
        seconds[label] = time.perf_counter() - began

    def loops(info: Any) -> bool:
        return (
            bool(info["capped"]) or float(info["compression_ratio"]) > COMPRESSION_RATIO_THRESHOLD
        )

    by_group: dict[str, list[int]] = defaultdict(list)
    for index, utterance in enumerate(utterances):
        by_group[utterance.groups.get(args.group, "-")].append(index)
    by_group["all"] = list(range(len(utterances)))
    print(f"{args.run} on {args.manifest}: {len(utterances)} utterances, {args.threads} threads")
    print(
        f"wall: plain {seconds['plain']:.1f} s, guarded {seconds['guarded']:.1f} s "
        f"({seconds['guarded'] / seconds['plain']:.2f}x)"
    )
    print("| group | n | CER plain | CER guarded | plain loops | decoded again | still loop |")
    print("|---|---|---|---|---|---|---|")
    for group, indices in sorted(by_group.items()):
        refs = [normalise(utterances[i].text) for i in indices]
        row = [f"| {group}", str(len(indices))]
        for label in ("plain", "guarded"):
            hyps = [normalise(results[label][i].text) for i in indices]
            row.append(f"{error_rate(refs, hyps, 'char'):.4f}")
        row.append(str(sum(loops(results["plain"][i].info) for i in indices)))
        row.append(str(sum(results["guarded"][i].info["temperature"] > 0 for i in indices)))
        row.append(str(sum(loops(results["guarded"][i].info) for i in indices)))
        print(" | ".join(row) + " |")


FLITE_VOICES = ("kal16", "awb", "rms", "slt")


def flite_manifest(count: int) -> Path:
    """A manifest of ``count`` corpus sentences from the end of the list spoken by each flite
    voice, in a temporary folder (16 kHz WAV)."""
    import json
    import subprocess
    import tempfile

    import soundfile
    from voxtext_corpora.sentences import english_sentences

    folder = Path(tempfile.mkdtemp(prefix="flite-"))
    rows = []
    for voice in FLITE_VOICES:
        for index, text in enumerate(english_sentences()[-count:]):
            wav = folder / f"{voice}-{index}.wav"
            subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(wav)], check=True)
            samples, rate = soundfile.read(str(wav), dtype="float32")
            if rate != 16000:
                import torchaudio.functional

                resampled = torchaudio.functional.resample(torch.from_numpy(samples), rate, 16000)
                soundfile.write(str(wav), resampled.numpy(), 16000)
            rows.append(
                {
                    "id": wav.stem,
                    "audio": wav.name,
                    "text": text,
                    "duration": soundfile.info(str(wav)).duration,
                    "speaker": voice,
                    "groups": {"voice": voice},
                }
            )
    manifest = folder / "flite.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return manifest


if __name__ == "__main__":
    main()
