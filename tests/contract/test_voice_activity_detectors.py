"""The VoiceActivityDetector contract, checked on every registered detector (third-party
too), each built with its default config: it conforms to the protocol; its regions are
sorted, non-overlapping sample ranges inside the waveform; it finds none in digital
silence and some in a loud speech-like burst; it is deterministic; and its regions on a
prefix of the audio match those on the whole audio wherever they end at least
``lookahead_seconds`` before the prefix does (what block-by-block transcription needs)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import voxtext
from voxtext.protocols import VoiceActivityDetector
from voxtext.testing import speech_like

DETECTORS = voxtext.registry("voice_activity_detectors").names()
RATE = 16000


def bursts() -> torch.Tensor:
    """12 s of silence with speech-like bursts at 1-2 s, 4-4.6 s and 8-10 s."""
    audio = np.zeros(12 * RATE, np.float32)
    for start, end in ((1.0, 2.0), (4.0, 4.6), (8.0, 10.0)):
        sound = speech_like(end - start, RATE, seed=int(start))
        audio[int(start * RATE) : int(start * RATE) + len(sound)] = sound
    return torch.from_numpy(audio)


@pytest.fixture(params=DETECTORS)
def detector(request: pytest.FixtureRequest) -> VoiceActivityDetector:
    return voxtext.registry("voice_activity_detectors").create(request.param)


def test_conforms_and_finds_the_speech(detector):
    assert isinstance(detector, VoiceActivityDetector)
    assert detector.lookahead_seconds >= 0
    audio = bursts()
    regions = detector.speech_regions(audio, RATE)
    assert regions, "speech-like bursts should hold speech"
    assert all(0 <= a < b <= len(audio) for a, b in regions)
    assert all(b1 < a2 for (_, b1), (a2, _) in itertools.pairwise(regions))
    for start, end in ((1.0, 2.0), (4.0, 4.6), (8.0, 10.0)):
        middle = int((start + end) / 2 * RATE)
        assert any(a <= middle < b for a, b in regions)
    assert detector.speech_regions(audio, RATE) == regions
    assert detector.speech_regions(torch.zeros(3 * RATE), RATE) == []


def test_a_prefix_gives_the_same_finished_regions(detector):
    audio = bursts()
    whole = detector.speech_regions(audio, RATE)
    lookahead = detector.lookahead_seconds * RATE
    for cut in (int(3.0 * RATE), int(6.5 * RATE), int(11.0 * RATE)):
        finished = [r for r in detector.speech_regions(audio[:cut], RATE) if r[1] < cut - lookahead]
        assert finished == [r for r in whole if r[1] < cut - lookahead]
