"""Timestamps and confidence: the CTC alignment of a hypothesis on hand-made posteriors,
subtitle layouts, and word boundaries checked against espeak-ng speech.

The espeak-ng corpus has known word boundaries: words synthesised one at a time (several
speeds and pitches), trimmed to their speech and joined with silences of random length, so
where every word starts and ends is known to the sample. A tiny Conformer-CTC trained on
it in a few minutes on a CPU gives word times from ``voxtext transcribe --format json``
whose median error against those boundaries is asserted below."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import torchaudio.functional

from voxtext import cli
from voxtext.asr.alignment import TimedTranscript, TimedUnit, align_tokens, group_words
from voxtext.asr.subtitles import cues, render, timestamp

SAMPLE_RATE = 16000
WORDS = ("red", "green", "blue", "seven", "zero", "hello", "north", "kite")
#: (words per minute, pitch) of each espeak-ng rendering of a word
VOICES = ((130, 35), (150, 50), (170, 65), (190, 45))
#: a word's speech is where its 10 ms frames are within this many dB of its loudest one
TRIM_DB = 35.0


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


@dataclass(frozen=True)
class WordTime:
    word: str
    start: float
    end: float


def speech_span(samples: np.ndarray, rate: int) -> tuple[int, int]:
    """First and one-past-last sample of the 10 ms frames within ``TRIM_DB`` of the peak."""
    hop = rate // 100
    frames = samples[: len(samples) // hop * hop].reshape(-1, hop)
    level = 10 * np.log10(np.maximum((frames**2).mean(axis=1), 1e-12))
    loud = np.flatnonzero(level > level.max() - TRIM_DB)
    return int(loud[0]) * hop, (int(loud[-1]) + 1) * hop


def synthesise(word: str, speed: int, pitch: int, folder: Path) -> np.ndarray:
    """``word`` spoken by espeak-ng (en-us) at 16 kHz, trimmed to its speech."""
    target = folder / f"{word}-{speed}-{pitch}.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", str(speed), "-p", str(pitch), "-w", str(target), word],
        check=True,
        capture_output=True,
    )
    samples, rate = soundfile.read(str(target), dtype="float32")
    resampled = torchaudio.functional.resample(torch.from_numpy(samples), rate, SAMPLE_RATE)
    audio = resampled.numpy()
    start, end = speech_span(audio, SAMPLE_RATE)
    return audio[start:end]


def word_bank(folder: Path) -> dict[str, list[np.ndarray]]:
    """Every word of :data:`WORDS` in every voice of :data:`VOICES`."""
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        return {
            word: [synthesise(word, speed, pitch, Path(scratch)) for speed, pitch in VOICES]
            for word in WORDS
        }


def write_corpus(
    folder: Path, bank: dict[str, list[np.ndarray]], *, n: int, seed: int
) -> tuple[Path, dict[str, list[WordTime]]]:
    """``n`` utterances of 1-3 words with 0.15-0.6 s pauses: the manifest, and each
    utterance's words with their true start and end (seconds)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows, truth = [], {}
    for i in range(n):
        words = list(rng.choice(WORDS, size=int(rng.integers(1, 4))))
        pieces = [np.zeros(int(rng.uniform(0.1, 0.4) * SAMPLE_RATE), np.float32)]
        position = len(pieces[0])
        times = []
        for word in words:
            voice = bank[word][int(rng.integers(len(VOICES)))]
            times.append(
                WordTime(word, position / SAMPLE_RATE, (position + len(voice)) / SAMPLE_RATE)
            )
            pause = np.zeros(int(rng.uniform(0.15, 0.6) * SAMPLE_RATE), np.float32)
            pieces += [voice, pause]
            position += len(voice) + len(pause)
        audio = np.concatenate(pieces)
        name = f"utt{i:04d}"
        soundfile.write(str(folder / f"{name}.wav"), audio, SAMPLE_RATE)
        truth[name] = times
        rows.append(
            {
                "id": name,
                "audio": f"{name}.wav",
                "text": " ".join(words),
                "duration": round(len(audio) / SAMPLE_RATE, 4),
                "speaker": "espeak",
            }
        )
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return manifest, truth


def boundary_errors(
    truth: list[WordTime], words: list[dict[str, object]]
) -> list[tuple[float, float]] | None:
    """``(|start error|, |end error|)`` per word, or None when the words recognised are not
    the true ones (the times of other words cannot be compared)."""
    if [w["text"] for w in words] != [t.word for t in truth]:
        return None
    return [
        (abs(float(w["start"]) - t.start), abs(float(w["end"]) - t.end))  # type: ignore[arg-type]
        for w, t in zip(words, truth, strict=True)
    ]


class Letters:
    """A character tokenizer's interface over five symbols."""

    blank_id = 0
    symbols = ("<blank>", "<unk>", "▁", "a", "b")

    def decode(self, ids: list[int]) -> str:
        return "".join(self.symbols[i] for i in ids).replace("▁", " ")


def posteriors(frames: list[tuple[int, float]]) -> torch.Tensor:
    """``(frames, 5)`` log posteriors: each frame's symbol gets its probability, the rest
    share what is left."""
    rows = []
    for symbol, probability in frames:
        row = torch.full((5,), (1 - probability) / 4)
        row[symbol] = probability
        rows.append(row)
    return torch.stack(rows).log()


def test_tokens_are_timed_and_scored_on_their_frames():
    log_probs = posteriors([(0, 0.9), (3, 0.8), (3, 0.6), (0, 0.9), (2, 0.7), (4, 0.9), (0, 0.9)])
    tokens = align_tokens(log_probs, [3, 2, 4], Letters(), frame_seconds=0.02, offset_seconds=1.0)
    assert [(t.text, t.frames) for t in tokens] == [("a", 2), ("▁", 1), ("b", 1)]
    assert tokens[0].start == pytest.approx(1.02) and tokens[0].end == pytest.approx(1.06)
    assert tokens[0].confidence == pytest.approx(0.7)  # mean of 0.8 and 0.6
    timed = group_words(tokens, Letters())
    assert timed.text == "a b"
    assert [(w.text, round(w.start, 3), round(w.end, 3)) for w in timed.words] == [
        ("a", 1.02, 1.06),
        ("b", 1.1, 1.12),
    ]
    # the utterance: frame-weighted over its words' frames (the boundary's frame left out)
    assert timed.confidence == pytest.approx((0.8 + 0.6 + 0.9) / 3)
    assert [t.text for t in timed.tokens] == ["a", "b"]
    assert timed.start == pytest.approx(1.02) and timed.end == pytest.approx(1.12)


def test_breaks_split_words_where_silence_was_cut():
    log_probs = posteriors([(3, 0.9), (4, 0.9), (0, 0.9)])
    tokens = align_tokens(log_probs, [3, 4], Letters(), frame_seconds=0.04)
    assert group_words(tokens, Letters()).text == "ab"
    assert group_words(tokens, Letters(), breaks=[1]).text == "a b"
    assert align_tokens(log_probs, [], Letters(), frame_seconds=0.04) == []


def timed(*words: tuple[str, float, float]) -> TimedTranscript:
    units = [TimedUnit(text, start, end, 0.5) for text, start, end in words]
    return TimedTranscript.of_words(units, units)


def test_subtitles_start_a_cue_after_a_pause():
    transcript = timed(("one", 0.5, 0.9), ("two", 1.0, 1.4), ("three", 3.0, 3.5))
    assert [[w.text for w in cue] for cue in cues(transcript.words)] == [["one", "two"], ["three"]]
    assert timestamp(3723.0456, ",") == "01:02:03,046"
    assert render(transcript, "a.wav", "srt") == (
        "1\n00:00:00,500 --> 00:00:01,400\none two\n\n2\n00:00:03,000 --> 00:00:03,500\nthree\n"
    )
    assert render(transcript, "a.wav", "vtt").startswith(
        "WEBVTT\n\n00:00:00.500 --> 00:00:01.400\none two\n"
    )
    data = json.loads(render(transcript, "a.wav", "json"))
    assert data["audio"] == "a.wav" and data["text"] == "one two three"
    assert (data["start"], data["end"], data["confidence"]) == (0.5, 3.5, 0.5)
    assert data["words"][2] == {"text": "three", "start": 3.0, "end": 3.5, "confidence": 0.5}
    assert render(transcript, "a.wav", "text") == "a.wav\tone two three\n"
    with pytest.raises(ValueError, match="unknown transcript format"):
        render(transcript, "a.wav", "xml")


CONFIG = """
task = "asr"
out_dir = "{out}"

[data]
train = "{train}"
dev = "{dev}"
max_batch_seconds = 20.0

[features]
name = "fbank"
num_mel_bins = 40

[encoder]
name = "conformer"
d_model = 64
num_heads = 4
ffn_dim = 128
num_layers = 2
conv_kernel_size = 15
subsampling = 2

[trainer]
max_steps = {steps}
lr = 3e-3
warmup_steps = 20
min_lr_ratio = 0.3
eval_every_steps = 25
metric = "dev_cer"
progress = false
"""

#: Median word-boundary error measured with this corpus and model: 11 ms at word starts,
#: 18 ms at word ends (CTC fires a word's last letter before its sound ends); the bound
#: leaves room for another seed or CPU.
MEDIAN_BOUNDARY_ERROR_BOUND = 0.04


def train_espeak_model(root: Path, steps: int) -> tuple[Path, Path, dict[str, list[WordTime]]]:
    """(run folder, test folder, the test utterances' true word times)."""
    bank = word_bank(root)
    train, _ = write_corpus(root / "train", bank, n=96, seed=0)
    test, truth = write_corpus(root / "test", bank, n=24, seed=1)
    config = root / "asr.toml"
    config.write_text(CONFIG.format(out=root / "run", train=train, dev=test, steps=steps))
    assert cli.main(["train", str(config), "--set", "trainer.seed=3"]) == 0
    return root / "run", test.parent, truth


def measure(run: Path, folder: Path, truth: dict[str, list[WordTime]], capsys) -> dict:
    """Word-boundary errors of ``voxtext transcribe --format json`` over the test files."""
    names = sorted(truth)
    audio = [str(folder / f"{name}.wav") for name in names]
    capsys.readouterr()  # what training printed
    assert cli.main(["transcribe", str(run), *audio, "--format", "json"]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    starts, ends, wrong = [], [], 0
    for name, result in zip(names, results, strict=True):
        errors = boundary_errors(truth[name], result["words"])
        if errors is None:
            wrong += 1
            continue
        starts += [s for s, _ in errors]
        ends += [e for _, e in errors]
    return {"starts": starts, "ends": ends, "wrong": wrong, "results": results}


@pytest.mark.slow
@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
def test_word_times_match_espeak_boundaries(tmp_path, capsys):
    run, folder, truth = train_espeak_model(tmp_path, steps=300)
    found = measure(run, folder, truth, capsys)
    assert found["wrong"] <= 3, "the model should recognise nearly every test utterance"
    median = statistics.median(found["starts"] + found["ends"])
    print(
        f"median boundary error {median * 1000:.1f} ms (starts "
        f"{statistics.median(found['starts']) * 1000:.1f} ms, ends "
        f"{statistics.median(found['ends']) * 1000:.1f} ms) over {len(found['starts'])} "
        f"words; {found['wrong']} of {len(truth)} utterances misrecognised"
    )
    assert median < MEDIAN_BOUNDARY_ERROR_BOUND
    confidences = [w["confidence"] for r in found["results"] for w in r["words"]]
    assert 0.5 < statistics.median(confidences) <= 1.0
