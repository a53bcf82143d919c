"""Benchmark: ``voxtext transcribe`` on recordings of 1, 10, 60 and 180 minutes.

Work (BENCHMARKS.md, "Deployment"): a recording of espeak-ng sentences with pauses
(``voxtext_corpora.long_form``: 40 sentences spoken once, drawn at random with 0.6-1.2 s
pauses, 16-bit WAV), transcribed by each model through the real command in a child process
(Silero VAD, segments of up to 30 s), one model and length at a time. For each the table
prints wall time, the real-time factor (wall seconds per audio second; below 1 is faster than
real time), the child's peak RSS, and the WER against what was said (lower-cased, punctuation
dropped). The target: peak RSS at 180 minutes within 1.2x of that at 10 minutes.

Models:
- ``ctc``: a Conformer-CTC of the recipe's size trained for a few steps here (its WER is not
  meaningful: it times and sizes the CTC path);
- ``whisper-finetuned``: a ``whisper-seq2seq`` run (``--whisper-run``, default the main job's
  plain fine-tune ``exp/dialect_asr/plain``), decoded by voxtext's PyTorch Whisper;
- ``whisper-ct2``: the zero-shot tiny.en in faster-whisper (CTranslate2 int8), the peer.

    python benchmarks/long_audio.py [--minutes 1 10 60 180] [--threads 2] [--models ...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jiwer

CHILD = """
import sys, torch
torch.set_num_threads(int(sys.argv[1]))
from voxtext import cli
code = cli.main(["transcribe", *sys.argv[2:]])
# VmHWM: this process's own peak (ru_maxrss would include the parent's, kept across exec)
status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
print(status, file=sys.stderr)
sys.exit(code)
"""

CTC_CONFIG = """
task = "asr"
out_dir = "{out}"
[data]
train = "{manifest}"
dev = "{manifest}"
max_batch_seconds = 40.0
[features]
name = "fbank"
num_mel_bins = 80
[encoder]
name = "conformer"
d_model = 144
num_heads = 4
ffn_dim = 576
num_layers = 8
[trainer]
max_steps = 10
lr = 1e-3
warmup_steps = 2
progress = false
"""


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower()).split())


def train_ctc(folder: Path, spoken: list) -> Path:
    """A Conformer-CTC checkpoint trained a few steps on the spoken sentences."""
    import soundfile

    from voxtext import cli

    rows = []
    for index, sentence in enumerate(spoken):
        wav = folder / f"s{index}.wav"
        soundfile.write(str(wav), sentence.samples, 16000)
        rows.append(
            {
                "id": f"s{index}",
                "audio": wav.name,
                "text": sentence.text,
                "duration": len(sentence.samples) / 16000,
                "speaker": "espeak",
            }
        )
    manifest = folder / "train.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = folder / "ctc.toml"
    config.write_text(CTC_CONFIG.format(out=folder / "ctc", manifest=manifest))
    if cli.main(["train", str(config)]) != 0:
        raise SystemExit("could not train the CTC model")
    return folder / "ctc"


def run_child(threads: int, model: str, audio: Path, extra: list[str]) -> tuple[float, int, str]:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(threads), model, str(audio), *extra],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"transcribe {model} {audio} failed:\n{done.stderr[-3000:]}")
    rss_kib = int(done.stderr.strip().splitlines()[-1])
    return wall, rss_kib, done.stdout.split("\t", 1)[1] if "\t" in done.stdout else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 60, 180])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=["ctc", "whisper-finetuned", "whisper-ct2"])
    parser.add_argument("--whisper-run", type=Path, default=Path("exp/dialect_asr/plain"))
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    from voxtext_corpora.long_form import speak_sentences, write_long_recording

    spoken = speak_sentences(40)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        models: dict[str, tuple[str, list[str]]] = {}
        if "ctc" in args.models:
            models["ctc"] = (str(train_ctc(folder, spoken)), [])
        if "whisper-finetuned" in args.models:
            if not args.whisper_run.exists():
                raise SystemExit(
                    f"{args.whisper_run} does not exist: run the main job first "
                    "(recipes/dialect_asr/run.py) or give --whisper-run RUN"
                )
            models["whisper-finetuned"] = (str(args.whisper_run), [])
        if "whisper-ct2" in args.models:
            models["whisper-ct2"] = (
                "whisper-ct2",
                [f"--recognizer-set=cpu_threads={args.threads}"],
            )
        print(f"threads {args.threads}; Silero VAD; segments up to 30 s; peak RSS of the child")
        print("| model | minutes | wall s | RTF | peak RSS MiB | WER |")
        print("|---|---|---|---|---|---|")
        for minutes in args.minutes:
            audio = folder / f"{minutes:g}min.wav"
            placed = write_long_recording(audio, 60.0 * minutes, spoken, subtype="PCM_16")
            reference = " ".join(spoken[p.index].text for p in placed)
            for name, (model, extra) in models.items():
                wall, rss, text = run_child(args.threads, model, audio, extra)
                # the CTC model is barely trained: its WER says nothing
                wer = (
                    "n/a"
                    if name == "ctc"
                    else f"{jiwer.wer(reference, normalise(text) or '-'):.3f}"
                )
                print(
                    f"| {name} | {minutes:g} | {wall:.1f} | {wall / (60 * minutes):.3f} | "
                    f"{rss / 1024:.0f} | {wer} |",
                    flush=True,
                )
            audio.unlink()


if __name__ == "__main__":
    main()
