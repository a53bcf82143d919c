"""librosa-mel / librosa-mfcc reproduce librosa's own output on each utterance of a batch."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch
from voxtext_features.librosa_features import (
    LibrosaMel,
    LibrosaMelConfig,
    LibrosaMfcc,
    LibrosaMfccConfig,
)

from voxtext.errors import ConfigError
from voxtext.testing import speech_like, white_noise


def batch_of(sample_rate: int) -> tuple[list[np.ndarray], torch.Tensor, torch.Tensor]:
    audio = [
        speech_like(0.71, sample_rate, seed=1),
        white_noise(0.26, sample_rate, seed=2),
        speech_like(0.45, sample_rate, seed=3, f0=180.0),
    ]
    lengths = torch.tensor([len(a) for a in audio])
    batch = torch.zeros(len(audio), int(lengths.max()))
    for i, a in enumerate(audio):
        batch[i, : len(a)] = torch.from_numpy(a)
    return audio, batch, lengths


def assert_rows_match(extractor, references: list[np.ndarray], batch, lengths) -> None:
    features, frame_lengths = extractor(batch, lengths)
    for i, reference in enumerate(references):
        count = reference.shape[1]
        assert int(frame_lengths[i]) == count
        np.testing.assert_allclose(features[i, :count].numpy(), reference.T, rtol=1e-6, atol=1e-6)
        assert not features[i, count:].any()


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"log": "none", "center": False},
        {"log": "db", "top_db": 60.0, "htk": True, "mel_norm": "none"},
        {
            "n_fft": 512,
            "win_length": 400,
            "window": "hamming",
            "pad_mode": "reflect",
            "fmin": 50.0,
            "fmax": 3500.0,
            "power": 1.0,
            "n_mels": 40,
        },
    ],
    ids=str,
)
@pytest.mark.parametrize("sample_rate", [8000, 16000])
def test_librosa_mel_equals_librosa(options, sample_rate):
    config = LibrosaMelConfig(sample_rate=sample_rate, **options)
    audio, batch, lengths = batch_of(sample_rate)
    references = []
    for a in audio:
        mel = librosa.feature.melspectrogram(
            y=a,
            sr=sample_rate,
            n_fft=config.n_fft,
            hop_length=config.hop_length,
            win_length=config.win_length or None,
            window=config.window,
            center=config.center,
            pad_mode=config.pad_mode,
            power=config.power,
            n_mels=config.n_mels,
            fmin=config.fmin,
            fmax=config.fmax or None,
            htk=config.htk,
            norm=None if config.mel_norm == "none" else "slaney",
        )
        if config.log == "log":
            mel = np.log(mel + config.log_offset)
        elif config.log == "db":
            mel = librosa.power_to_db(mel, ref=1.0, amin=config.amin, top_db=config.top_db)
        references.append(mel)
    assert_rows_match(LibrosaMel(config), references, batch, lengths)


@pytest.mark.parametrize(
    "options",
    [{}, {"n_mfcc": 20, "lifter": 22.0, "dct_type": 3, "center": False, "n_mels": 64}],
    ids=str,
)
def test_librosa_mfcc_equals_librosa(options):
    config = LibrosaMfccConfig(**options)
    audio, batch, lengths = batch_of(config.sample_rate)
    references = [
        librosa.feature.mfcc(
            y=a,
            sr=config.sample_rate,
            n_mfcc=config.n_mfcc,
            dct_type=config.dct_type,
            lifter=config.lifter,
            n_fft=config.n_fft,
            hop_length=config.hop_length,
            center=config.center,
            n_mels=config.n_mels,
        )
        for a in audio
    ]
    assert_rows_match(LibrosaMfcc(config), references, batch, lengths)


def test_rows_too_short_for_a_frame_get_none():
    extractor = LibrosaMel(LibrosaMelConfig(center=False))
    batch = torch.from_numpy(speech_like(0.1, seed=4)).repeat(2, 1)
    features, frame_lengths = extractor(batch, torch.tensor([1600, 300]))
    assert frame_lengths.tolist() == [1 + (1600 - 400) // 160, 0]
    assert not features[1].any()


def test_bad_options_are_named():
    with pytest.raises(ConfigError, match="win_length=600"):
        LibrosaMelConfig(win_length=600)
    with pytest.raises(ConfigError, match="n_mfcc=50"):
        LibrosaMfccConfig(n_mfcc=50)
