"""The traceable fbank and MFCC front ends (what `voxtext export` puts into an ONNX graph)
against the eager ones on the same options, on a padded batch of speech-like audio; and
their refusals."""

from __future__ import annotations

import pytest
import torch
from voxtext_features.fbank import Fbank, FbankConfig
from voxtext_features.mfcc import Mfcc, MfccConfig
from voxtext_features.traceable_frontend import dft_basis

from voxtext.errors import ConfigError
from voxtext.protocols import TraceableFeatureExtractor
from voxtext.testing import speech_like, white_noise

OPTIONS = [
    {},
    {"num_mel_bins": 40, "preemphasis_coefficient": 0.0, "remove_dc_offset": False},
    {"use_energy": True},
    {"use_energy": True, "raw_energy": False, "energy_floor": 1.0, "window_type": "hamming"},
    {"use_power": False, "use_log_fbank": False, "window_type": "rectangular"},
    {"frame_length_ms": 20.0, "frame_shift_ms": 8.0, "round_to_power_of_two": False},
]


def padded_batch() -> tuple[torch.Tensor, torch.Tensor]:
    clips = [speech_like(1.3, seed=1), white_noise(0.7, seed=2), speech_like(0.9, seed=3)]
    lengths = torch.tensor([len(c) for c in clips])
    waveforms = torch.zeros(len(clips), int(lengths.max()))
    for row, clip in enumerate(clips):
        waveforms[row, : len(clip)] = torch.from_numpy(clip)
    return waveforms, lengths


def check_against_eager(extractor: Fbank | Mfcc) -> None:
    assert isinstance(extractor, TraceableFeatureExtractor)
    waveforms, lengths = padded_batch()
    expected, expected_lengths = extractor(waveforms, lengths)
    got, got_lengths = extractor.traceable()(waveforms, lengths)
    assert torch.equal(got_lengths, expected_lengths)
    assert got.shape == expected.shape
    scale = expected.abs().amax().clamp_min(1.0)
    assert float((got - expected).abs().amax() / scale) < 2e-5
    padding = torch.arange(got.shape[1]) >= got_lengths.unsqueeze(1)
    assert bool((got[padding] == 0).all())


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "defaults")
def test_traceable_fbank_matches_the_eager_one(options):
    check_against_eager(Fbank(FbankConfig(**options)))


@pytest.mark.parametrize(
    "options", [{}, {"use_energy": True, "num_ceps": 20, "cepstral_lifter": 0.0}], ids=str
)
def test_traceable_mfcc_matches_the_eager_one(options):
    check_against_eager(Mfcc(MfccConfig(**options)))


def test_dft_basis_is_the_rfft_of_a_zero_padded_frame():
    frame = torch.randn(5, 400, dtype=torch.float64)
    spectrum = frame @ dft_basis(400, 512)
    reference = torch.fft.rfft(frame, n=512)
    assert torch.allclose(spectrum[:, :257], reference.real, atol=1e-9)
    assert torch.allclose(spectrum[:, 257:], reference.imag, atol=1e-9)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"snip_edges": False}, "snip_edges=False cannot be exported"), ({"dither": 1.0}, "dither")],
)
def test_options_that_cannot_be_exported_say_so(options, message):
    with pytest.raises(ConfigError, match=message):
        Fbank(FbankConfig(**options)).traceable()
    with pytest.raises(ConfigError, match=message):
        Mfcc(MfccConfig(**options)).traceable()
