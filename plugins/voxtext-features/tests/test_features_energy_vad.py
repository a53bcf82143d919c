"""The energy voice activity detector: finds speech against silence and faint noise,
bridges short pauses, drops clicks, pads, and validates its config."""

from __future__ import annotations

import pytest
import torch
from voxtext_features.configs import EnergyVadConfig
from voxtext_features.energy_vad import frame_levels_db, speech_runs

import voxtext
from voxtext.errors import ConfigError
from voxtext.protocols import VoiceActivityDetector
from voxtext.testing import speech_like

RATE = 16000


def with_speech(seconds: float, spans: list[tuple[float, float]]) -> torch.Tensor:
    """Faint noise (-60 dBFS) with speech-like sound in ``spans`` (seconds)."""
    generator = torch.Generator().manual_seed(0)
    audio = 0.001 * torch.randn(int(seconds * RATE), generator=generator)
    for start, end in spans:
        a = int(start * RATE)
        sound = torch.from_numpy(speech_like(end - start, seed=a))
        audio[a : a + len(sound)] += sound
    return audio


def test_registered_and_a_detector():
    vad = voxtext.registry("voice_activity_detectors").create("energy")
    assert isinstance(vad, VoiceActivityDetector)
    assert vad.lookahead_seconds > vad.config.min_silence_seconds + vad.config.padding_seconds


def test_finds_speech_regions_padded():
    vad = voxtext.registry("voice_activity_detectors").create("energy", padding_seconds=0.05)
    regions = vad.speech_regions(with_speech(6.0, [(1.0, 2.0), (4.0, 4.5)]), RATE)
    assert len(regions) == 2
    for (start, end), (a, b) in zip(regions, [(1.0, 2.0), (4.0, 4.5)], strict=True):
        assert start / RATE == pytest.approx(a - 0.05, abs=0.04)
        assert end / RATE == pytest.approx(b + 0.05, abs=0.04)


def test_bridges_short_pauses_and_drops_clicks():
    audio = with_speech(4.0, [(1.0, 1.5), (1.7, 2.2)])
    audio[int(3.5 * RATE) : int(3.5 * RATE) + 160] = 0.5  # a 10 ms click
    vad = voxtext.registry("voice_activity_detectors").create("energy")
    assert len(vad.speech_regions(audio, RATE)) == 1  # 0.2 s pause bridged, click dropped
    strict = voxtext.registry("voice_activity_detectors").create(
        "energy", min_silence_seconds=0.05, min_speech_seconds=0.0, padding_seconds=0.0
    )
    assert len(strict.speech_regions(audio, RATE)) == 3
    assert vad.speech_regions(torch.zeros(0), RATE) == []
    assert vad.speech_regions(torch.zeros(RATE), RATE) == []


def test_frame_levels_and_runs():
    levels = frame_levels_db(torch.full((RATE,), 0.1), RATE)
    assert levels.shape == (98,)
    assert torch.allclose(levels, torch.tensor(-20.0), atol=1e-3)
    assert frame_levels_db(torch.ones(10), RATE).shape == (1,)
    active = [False, True, True, False, True, False, False, False, True]
    assert speech_runs(active, bridge=1, shortest=1) == [(1, 5), (8, 9)]
    assert speech_runs(active, bridge=0, shortest=2) == [(1, 3)]


def test_config_is_checked():
    with pytest.raises(ConfigError, match="threshold_db=3"):
        EnergyVadConfig(threshold_db=3)
    with pytest.raises(ConfigError, match="padding_seconds=-1"):
        EnergyVadConfig(padding_seconds=-1)
