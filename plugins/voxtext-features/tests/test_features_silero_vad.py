"""The Silero voice activity detector: finds espeak-ng sentences between pauses at their
places, at 16 kHz and at another rate, and (unlike an energy threshold) hears no speech in
loud white noise."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch

import voxtext
from voxtext.errors import ConfigError

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
SENTENCES = ("The cat sat on the warm mat.", "Please bring the red box.", "It rained all day.")


def spoken(tmp_path, rate: int) -> tuple[torch.Tensor, list[tuple[float, float]]]:
    """The sentences with 1.5 s pauses at ``rate``, and where each one's sound is."""
    pieces, spans, at = [np.zeros(rate, np.float32)], [], 1.0
    for index, text in enumerate(SENTENCES):
        wav = tmp_path / f"s{index}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), text], check=True)
        samples, native = soundfile.read(str(wav), dtype="float32")
        samples = torch.from_numpy(samples)
        if native != rate:
            import torchaudio.functional

            samples = torchaudio.functional.resample(samples, native, rate)
        loud = np.flatnonzero(np.abs(samples.numpy()) > 0.01)
        spans.append((at + loud[0] / rate, at + loud[-1] / rate))
        pieces += [samples.numpy(), np.zeros(int(1.5 * rate), np.float32)]
        at += len(samples) / rate + 1.5
    return torch.from_numpy(np.concatenate(pieces)), spans


@needs_espeak
@pytest.mark.parametrize("rate", [16000, 22050])
def test_finds_each_sentence_at_its_place(tmp_path, rate):
    audio, spans = spoken(tmp_path, rate)
    vad = voxtext.registry("voice_activity_detectors").create("silero")
    regions = vad.speech_regions(audio, rate)
    assert len(regions) == len(SENTENCES)
    for (start, end), (first, last) in zip(regions, spans, strict=True):
        assert start / rate <= first + 0.05 and last - 0.05 <= end / rate
        assert first - 0.4 <= start / rate and end / rate <= last + 0.4


def test_loud_noise_is_not_speech():
    noise = 0.1 * torch.randn(5 * 16000, generator=torch.Generator().manual_seed(0))
    registry = voxtext.registry("voice_activity_detectors")
    assert registry.create("silero").speech_regions(noise, 16000) == []
    assert registry.create("energy").speech_regions(noise, 16000) != []  # why silero is default


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="must be a probability"):
        voxtext.registry("voice_activity_detectors").create("silero", threshold=1.5)


def test_loading_the_detector_leaves_the_process_threads_alone():
    # silero_vad sets torch's threads to 1 on import; decoding after the VAD must not slow
    code = (
        "import torch, voxtext\n"
        "torch.set_num_threads(2)\n"
        "voxtext.registry('voice_activity_detectors').create('silero')\n"
        "print(torch.get_num_threads())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["2"]
