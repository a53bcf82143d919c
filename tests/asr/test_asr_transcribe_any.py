"""``voxtext transcribe`` with any recogniser: a third party's registered engine hears a long
file through the generic long-audio path (segments at silence, or overlapping windows merged
on their text), subtitles from segment times, NaN audio refused, and the text merge itself.

The test engine "hears" tone bursts: each burst's pitch is one word of a fixed vocabulary, so
what a correct segmentation and merge must give back is known exactly."""

from __future__ import annotations

import io
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import pytest
import soundfile

from voxtext import cli, hookimpl
from voxtext.asr.long_audio import overlap_cut, text_units
from voxtext.protocols import Transcript
from voxtext.train.reporting import ProgressLog

RATE = 16000
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
PITCHES = tuple(300.0 + 150.0 * i for i in range(len(WORDS)))
HOP = 160  # 10 ms


@dataclass(frozen=True)
class ToneConfig:
    window_seconds: float = 30.0


class ToneRecognizer:
    """Each run of loud 10 ms frames at least 50 ms long is a word: the vocabulary word of
    its nearest pitch. Refuses input longer than its window, as Whisper would fail."""

    def __init__(self, config: ToneConfig) -> None:
        self.config = config
        self.sample_rate = RATE
        self.longest = 0

    def transcribe(self, items: Any) -> list[Transcript]:
        out = []
        for item in items:
            samples = np.asarray(item.waveform)
            self.longest = max(self.longest, len(samples))
            assert len(samples) <= self.config.window_seconds * RATE + 1, "segment too long"
            out.append(Transcript(" ".join(_hear(samples))))
        return out

    def describe(self) -> dict[str, Any]:
        return {"engine": "tones", "model": "none", "version": "1", "settings": {}}


def _hear(samples: np.ndarray) -> list[str]:
    frames = len(samples) // HOP
    loud = [np.abs(samples[i * HOP : (i + 1) * HOP]).max() > 0.05 for i in range(frames)]
    words, start = [], None
    for index, on in enumerate([*loud, False]):
        if on and start is None:
            start = index
        elif not on and start is not None:
            if index - start >= 5:
                burst = samples[start * HOP : index * HOP]
                spectrum = np.abs(np.fft.rfft(burst))
                pitch = np.fft.rfftfreq(len(burst), 1 / RATE)[int(spectrum.argmax())]
                words.append(WORDS[int(np.argmin([abs(pitch - p) for p in PITCHES]))])
            start = None
    return words


class TonePlugin:
    @hookimpl
    def register_recognizers(self, register: Any) -> None:
        register("tones", ToneRecognizer, config=ToneConfig, description="test: tone words")


def write_tone_words(path: Path, count: int, seed: int = 0) -> list[str]:
    """``count`` 0.3 s tone bursts, 0.25-0.6 s apart, 0.5 s of silence at each end."""
    rng = np.random.default_rng(seed)
    said = [WORDS[i] for i in rng.integers(0, len(WORDS), count)]
    t = np.arange(int(0.3 * RATE)) / RATE
    parts = [np.zeros(RATE // 2, dtype=np.float32)]
    for word in said:
        parts.append((0.5 * np.sin(2 * np.pi * PITCHES[WORDS.index(word)] * t)).astype(np.float32))
        parts.append(np.zeros(int(rng.uniform(0.25, 0.6) * RATE), dtype=np.float32))
    parts.append(np.zeros(RATE // 2, dtype=np.float32))
    soundfile.write(str(path), np.concatenate(parts), RATE, subtype="FLOAT")
    return said


@pytest.fixture
def tones(voxtext_plugin: Any) -> None:
    voxtext_plugin(TonePlugin(), name="tone-plugin")


def test_a_registered_recognizer_hears_a_long_file_cut_at_silence(tones, tmp_path, capsys):
    audio = tmp_path / "long.wav"
    said = write_tone_words(audio, 200)  # about 2.5 minutes
    argv = ["transcribe", "tones", str(audio), "--vad", "energy"]
    assert cli.main([*argv, "--recognizer-set", "window_seconds=30"]) == 0
    name, text = capsys.readouterr().out.rstrip("\n").split("\t")
    assert name == str(audio) and text.split() == said


def test_overlapping_windows_are_merged_on_their_text(tones, tmp_path, capsys):
    audio = tmp_path / "long.wav"
    said = write_tone_words(audio, 300, seed=1)
    assert cli.main(["transcribe", "tones", str(audio), "--vad", "none", "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert jiwer.wer(" ".join(said), found["text"]) <= 0.01
    segments = found["segments"]
    assert len(segments) >= 5 and found["words"] == [] and found["confidence"] is None
    for before, after in itertools.pairwise(segments):
        assert after["start"] < before["end"] <= after["start"] + 2.0 + 1e-3  # 2 s overlaps
        assert before["end"] - before["start"] <= 30.0 + 1e-3


def test_subtitles_without_word_times_have_one_cue_per_segment(tones, tmp_path, capsys):
    audio = tmp_path / "short.wav"
    said = write_tone_words(audio, 20, seed=2)
    assert cli.main(["transcribe", "tones", str(audio), "--vad", "energy", "--format", "srt"]) == 0
    blocks = capsys.readouterr().out.strip().split("\n\n")
    cues = [block.splitlines() for block in blocks]
    assert [int(cue[0]) for cue in cues] == list(range(1, len(cues) + 1))
    assert " ".join(" ".join(cue[2:]) for cue in cues).split() == said
    for cue in cues:
        start, end = (_seconds(t) for t in cue[1].split(" --> "))
        assert 0 <= start < end


def _seconds(stamp: str) -> float:
    hours, minutes, rest = stamp.split(":")
    secs, millis = rest.split(",")
    return int(hours) * 3600 + int(minutes) * 60 + int(secs) + int(millis) / 1000


def test_nan_audio_is_refused_for_a_registered_recognizer(tones, tmp_path, capsys):
    audio = tmp_path / "bad.wav"
    samples = np.zeros(RATE * 3, dtype=np.float32)
    samples[RATE + 800] = np.nan
    soundfile.write(str(audio), samples, RATE, subtype="FLOAT")
    assert cli.main(["transcribe", "tones", str(audio)]) != 0
    error = capsys.readouterr().err
    assert str(audio) in error and "NaN or infinite samples (the first at 1.050 s)" in error


def test_options_for_other_kinds_of_model_are_refused(tones, tmp_path, capsys):
    audio = tmp_path / "short.wav"
    write_tone_words(audio, 2)
    assert cli.main(["transcribe", "tones", str(audio), "--decoder", "ctc-beam"]) != 0
    assert "--decoder: for checkpoints only" in capsys.readouterr().err
    assert cli.main(["transcribe", "no-such-engine", str(audio)]) != 0
    assert "'no-such-engine' is not an existing path" in capsys.readouterr().err


def test_overlap_cut_keeps_the_common_run_once():
    previous = ["the", "cat", "sat", "on", "the", "mat"]
    current = ["on", "the", "mat", "and", "then", "slept"]
    keep, skip = overlap_cut(previous, current, share=0.3)
    assert previous[:keep] + current[skip:] == [
        "the",
        "cat",
        "sat",
        "on",
        "the",
        "mat",
        "and",
        "then",
        "slept",
    ]
    # case and punctuation do not hide a match
    keep, skip = overlap_cut(["Hello", "world."], ["world", "again"], share=0.3)
    assert (keep, skip) == (2, 1)
    # nothing in common: the overlap is split by the estimated share of words
    keep, skip = overlap_cut(list("abcdefghij"), list("klmnopqrst"), share=0.2)
    assert (keep, skip) == (9, 1)


def test_text_without_spaces_is_merged_by_character():
    assert text_units("今天天气很好") == (list("今天天气很好"), "")
    assert text_units("good day") == (["good", "day"], " ")
    units, _ = text_units("今天天气很好")
    keep, skip = overlap_cut(units, list("很好我们去"), share=0.3)
    assert "".join(units[:keep] + list("很好我们去")[skip:]) == "今天天气很好我们去"


def test_progress_log_writes_a_line_every_period_and_at_the_end():
    now = [0.0]
    stream = io.StringIO()
    log = ProgressLog("decode", 600.0, every=30.0, clock=lambda: now[0], stream=stream)
    for second in range(1, 601):
        now[0] = second / 20  # 20x real time: 30 s of wall time every 600 audio seconds
        log.update(float(second))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("decode: 600/600 s (100 %), 20.0x real time")
    now[0], stream = 0.0, io.StringIO()
    log = ProgressLog("train", 100, unit="steps", every=30.0, clock=lambda: now[0], stream=stream)
    for step in range(1, 101):
        now[0] = step * 1.0  # one step a second
        log.update(step, f"loss {1 / step:.3f}")
    lines = [line for line in stream.getvalue().splitlines() if line]
    assert len(lines) == 4  # at 30, 60 and 90 s, and at the end
    assert (
        lines[0].startswith("train: 30/100 steps (30 %), 1.00 steps/s") and "eta 1:10" in lines[0]
    )
    assert lines[-1].endswith("loss 0.010")


def test_evaluate_sends_long_utterances_down_the_long_audio_path(tones, tmp_path, capsys):
    long_audio, short_audio = tmp_path / "long.wav", tmp_path / "short.wav"
    long_said = write_tone_words(long_audio, 120, seed=3)  # ~1.5 min: over the 30 s window
    short_said = write_tone_words(short_audio, 5, seed=4)
    rows = [
        {"id": name, "audio": path.name, "text": " ".join(said), "speaker": "s", "duration": d}
        for name, path, said, d in (
            ("long", long_audio, long_said, soundfile.info(str(long_audio)).duration),
            ("short", short_audio, short_said, soundfile.info(str(short_audio)).duration),
        )
    ]
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "predictions.jsonl"
    argv = ["evaluate", "tones", str(manifest), "--out", str(out), "--vad", "energy"]
    assert cli.main([*argv, "--recognizer-set", "window_seconds=30"]) == 0  # refuses longer
    predictions = {r["id"]: r for r in map(json.loads, out.open(encoding="utf-8"))}
    assert predictions["long"]["hyp"] == predictions["long"]["ref"]
    assert predictions["short"]["hyp"] == predictions["short"]["ref"]
    assert "cer\t0.0000" in capsys.readouterr().out
