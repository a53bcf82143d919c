"""Parity of voxtext's fbank/mfcc with kaldi-native-fbank (an independent C++ port of Kaldi).

Same options on both sides, dither 0; kaldi-native-fbank gets int16-scale samples (our
default ``waveform_scale`` 32768 maps [-1, 1] audio to that scale).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from voxtext_features.fbank import Fbank, FbankConfig
from voxtext_features.mfcc import Mfcc, MfccConfig

import voxtext
from voxtext.testing import speech_like, white_noise

knf = pytest.importorskip("kaldi_native_fbank")

TOLERANCE = 5e-3
FRAME_FIELDS = {
    "sample_rate": "samp_freq",
    "frame_length_ms": "frame_length_ms",
    "frame_shift_ms": "frame_shift_ms",
    "preemphasis_coefficient": "preemph_coeff",
    "remove_dc_offset": "remove_dc_offset",
    "window_type": "window_type",
    "blackman_coeff": "blackman_coeff",
    "round_to_power_of_two": "round_to_power_of_two",
    "snip_edges": "snip_edges",
}
MEL_FIELDS = {"num_mel_bins": "num_bins", "low_freq": "low_freq", "high_freq": "high_freq"}
TOP_FIELDS = (
    "use_energy",
    "raw_energy",
    "energy_floor",
    "use_log_fbank",
    "use_power",
    "num_ceps",
    "cepstral_lifter",
)


def knf_options(config: FbankConfig | MfccConfig):
    """kaldi-native-fbank options equal to ``config`` (dither 0)."""
    options = knf.MfccOptions() if isinstance(config, MfccConfig) else knf.FbankOptions()
    options.frame_opts.dither = 0.0
    for ours, theirs in FRAME_FIELDS.items():
        setattr(options.frame_opts, theirs, getattr(config, ours))
    for ours, theirs in MEL_FIELDS.items():
        setattr(options.mel_opts, theirs, getattr(config, ours))
    for name in TOP_FIELDS:
        if hasattr(config, name):
            setattr(options, name, getattr(config, name))
    return options


def knf_features(config: FbankConfig | MfccConfig, audio: np.ndarray) -> np.ndarray:
    computer = (knf.OnlineMfcc if isinstance(config, MfccConfig) else knf.OnlineFbank)(
        knf_options(config)
    )
    computer.accept_waveform(config.sample_rate, (audio * 32768.0).astype(np.float32))
    computer.input_finished()
    rows = [computer.get_frame(i) for i in range(computer.num_frames_ready)]
    return np.stack(rows) if rows else np.zeros((0, computer.dim), np.float32)


def signals(sample_rate: int) -> list[np.ndarray]:
    return [
        speech_like(1.23, sample_rate, seed=3),
        speech_like(0.61, sample_rate, seed=4, f0=210.0),
        white_noise(0.47, sample_rate, seed=5),
    ]


def assert_parity(extractor, config, sample_rate: int) -> None:
    """Each signal alone and all of them as one padded batch match kaldi-native-fbank."""
    audio = signals(sample_rate)
    lengths = torch.tensor([len(a) for a in audio])
    batch = torch.zeros(len(audio), int(lengths.max()))
    for i, a in enumerate(audio):
        batch[i, : len(a)] = torch.from_numpy(a)
    features, frame_lengths = extractor(batch, lengths)
    for i, a in enumerate(audio):
        reference = knf_features(config, a)
        assert int(frame_lengths[i]) == reference.shape[0]
        ours = features[i, : reference.shape[0]].numpy()
        assert ours.shape == reference.shape
        if not getattr(config, "use_log_fbank", True):
            # Linear mel power reaches 1e8 on the int16 scale: compare it in the log domain.
            ours, reference = np.log(np.maximum(ours, 1e-7)), np.log(np.maximum(reference, 1e-7))
        assert np.abs(ours - reference).max() <= TOLERANCE, (i, np.abs(ours - reference).max())
        assert not features[i, reference.shape[0] :].any()


FBANK_CASES = [
    {},
    {"snip_edges": False},
    {"use_energy": True},
    {"use_energy": True, "raw_energy": False, "snip_edges": False},
    {"window_type": "hamming", "use_energy": True, "energy_floor": 1.0},
    {"window_type": "hanning", "num_mel_bins": 40, "low_freq": 64.0, "high_freq": -400.0},
    {"window_type": "rectangular", "preemphasis_coefficient": 0.0, "remove_dc_offset": False},
    {"window_type": "blackman", "round_to_power_of_two": False, "snip_edges": False},
    {"use_power": False, "use_energy": True, "raw_energy": False},
    {"use_log_fbank": False, "num_mel_bins": 23, "frame_length_ms": 20.0, "frame_shift_ms": 8.0},
]
MFCC_CASES = [
    {},
    {"snip_edges": False, "use_energy": False},
    {"window_type": "hamming", "num_mel_bins": 40, "num_ceps": 20, "raw_energy": False},
    {"cepstral_lifter": 0.0, "energy_floor": 2.0, "high_freq": 3800.0},
]


@pytest.mark.parametrize("sample_rate", [8000, 16000])
@pytest.mark.parametrize("options", FBANK_CASES, ids=str)
def test_fbank_matches_kaldi_native_fbank(options, sample_rate):
    config = FbankConfig(sample_rate=sample_rate, **options)
    assert_parity(Fbank(config), config, sample_rate)


@pytest.mark.parametrize("sample_rate", [8000, 16000])
@pytest.mark.parametrize("options", MFCC_CASES, ids=str)
def test_mfcc_matches_kaldi_native_fbank(options, sample_rate):
    config = MfccConfig(sample_rate=sample_rate, **options)
    assert_parity(Mfcc(config), config, sample_rate)


def test_registry_builds_the_same_extractors():
    fbank = voxtext.registry("feature_extractors").create(
        "fbank", num_mel_bins=40, sample_rate=8000
    )
    assert isinstance(fbank, Fbank) and fbank.feature_dim == 40
    assert fbank.config == FbankConfig(num_mel_bins=40, sample_rate=8000)
    mfcc = voxtext.registry("feature_extractors").create("mfcc")
    assert isinstance(mfcc, Mfcc) and mfcc.feature_dim == 13


def test_waveform_scale_one_takes_int16_scale_input():
    audio = speech_like(0.5, seed=9)
    scaled = Fbank(FbankConfig(waveform_scale=1.0))
    features, _ = scaled(torch.from_numpy(audio * 32768.0)[None], torch.tensor([len(audio)]))
    reference = knf_features(FbankConfig(), audio)
    assert np.abs(features[0].numpy() - reference).max() <= TOLERANCE


def test_signal_shorter_than_a_window_gives_no_frames_when_snipping():
    config = FbankConfig()
    short = torch.from_numpy(speech_like(0.02, seed=1))[None]  # 320 samples < 400
    features, frame_lengths = Fbank(config)(short, torch.tensor([short.shape[1]]))
    assert features.shape == (1, 0, 80) and frame_lengths.tolist() == [0]
    unsnipped = dataclasses.replace(config, snip_edges=False)
    features, frame_lengths = Fbank(unsnipped)(short, torch.tensor([short.shape[1]]))
    reference = knf_features(unsnipped, short[0].numpy())
    assert frame_lengths.tolist() == [2] == [reference.shape[0]]
    assert np.abs(features[0].numpy() - reference).max() <= TOLERANCE
