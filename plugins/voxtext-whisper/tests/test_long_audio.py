"""Long audio through Whisper: a 10-minute recording of espeak-ng sentences with pauses,
transcribed through ``voxtext transcribe whisper-ct2`` (Silero VAD cuts it at pauses into
windows of up to 30 s), scores within 2 WER points of decoding each sentence alone."""

from __future__ import annotations

import re
import shutil

import jiwer
import pytest
from voxtext_corpora.long_form import speak_sentences, write_long_recording

import voxtext
from voxtext import cli
from voxtext.protocols import RecognitionInput

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
ENGINE = {"device": "cpu", "cpu_threads": 2}


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower()).split())


@pytest.mark.slow
@needs_espeak
def test_a_ten_minute_recording_scores_as_its_sentences_do(tmp_path, capsys):
    spoken = speak_sentences(40)
    path = tmp_path / "ten-minutes.wav"
    placed = write_long_recording(path, 600.0, spoken)
    reference = " ".join(spoken[p.index].text for p in placed)
    engine = voxtext.registry("recognizers").create("whisper-ct2", ENGINE)
    inputs = [RecognitionInput(str(i), s.samples, 16000) for i, s in enumerate(spoken)]
    alone = [normalise(t.text) for t in engine.transcribe(inputs)]
    one_by_one = jiwer.wer(reference, " ".join(alone[p.index] for p in placed))
    options = [f"--recognizer-set={k}={v}" for k, v in ENGINE.items()]
    assert cli.main(["transcribe", "whisper-ct2", str(path), *options]) == 0
    heard = normalise(capsys.readouterr().out.split("\t", 1)[1])
    long_form = jiwer.wer(reference, heard)
    print(
        f"10 min, {len(placed)} sentences: WER one by one {one_by_one:.3f}, whole {long_form:.3f}"
    )
    assert long_form <= one_by_one + 0.02
