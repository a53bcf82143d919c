"""voxtext's own Whisper against faster-whisper, on the same packaged weights and audio.

    python benchmarks/whisper_parity.py MANIFEST [--model tiny.en] [--limit N]

Decodes every utterance of MANIFEST greedily twice: with ``whisper-transformers`` (the
converted weights in voxtext's ``WhisperSeq2Seq``, 30 s windows: the code that fine-tunes) and
with ``whisper-ct2`` (faster-whisper/CTranslate2, float32, no fallback), and prints the share
of identical transcripts, the CER between the two, each one's time, and the largest
difference between our encoder's output and CTranslate2's ``Whisper.encode`` on the first
utterance's features.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jiwer
import numpy as np
import torch

import voxtext
from voxtext.data import read_manifest
from voxtext.data.audio import load_audio
from voxtext.protocols import RecognitionInput


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(2)
    utterances = read_manifest(args.manifest)[: args.limit]
    items = [RecognitionInput(u.id, load_audio(u.audio, 16000).numpy(), 16000) for u in utterances]
    registry = voxtext.registry("recognizers")
    ours = registry.create("whisper-transformers", {"path": args.model})
    theirs = registry.create(
        "whisper-ct2", {"model": args.model, "compute_type": "float32", "cpu_threads": 2}
    )
    started = time.perf_counter()
    ours_text = [t.text for t in ours.transcribe(items)]
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    theirs_text = [t.text for t in theirs.transcribe(items)]
    theirs_s = time.perf_counter() - started
    same = sum(a == b for a, b in zip(ours_text, theirs_text, strict=True))
    print(f"{len(items)} utterances of {args.manifest}, model {args.model}, greedy")
    print(f"identical transcripts: {same}/{len(items)} = {same / len(items):.1%}")
    print(f"CER between them: {jiwer.cer(theirs_text, ours_text):.4f}")
    print(f"time: voxtext {ours_s:.1f} s, faster-whisper {theirs_s:.1f} s")
    for a, b, u in zip(ours_text, theirs_text, utterances, strict=True):
        if a != b:
            print(f"  {u.id}: voxtext {a!r} | faster-whisper {b!r}")
    print(f"encoder max |voxtext - ctranslate2|: {encoder_difference(ours, theirs, items[0]):.2e}")


def encoder_difference(ours: object, theirs: object, item: RecognitionInput) -> float:
    """Max abs difference of the encoder output on one 30 s window of log-mel features."""
    import ctranslate2

    model = ours.model  # type: ignore[attr-defined]
    audio = torch.nn.functional.pad(
        torch.from_numpy(item.waveform)[None], (0, 480000 - len(item.waveform))
    )
    with torch.no_grad():
        features, frames = model.features(audio, torch.tensor([480000]))
        encoded, _ = model.encoder(features, frames)
    mel = ctranslate2.StorageView.from_array(np.ascontiguousarray(features.transpose(1, 2).numpy()))
    reference = np.array(theirs.model.model.encode(mel, to_cpu=True))  # type: ignore[attr-defined]
    return float(np.abs(reference - encoded.numpy()).max())


if __name__ == "__main__":
    main()
