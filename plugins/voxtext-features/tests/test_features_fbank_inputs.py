"""fbank/mfcc on awkward batches, and the errors a user gets for bad configs or inputs."""

from __future__ import annotations

import pytest
import torch
from voxtext_features import kaldi_frontend
from voxtext_features.fbank import Fbank, FbankConfig
from voxtext_features.mfcc import Mfcc, MfccConfig

import voxtext
from voxtext.errors import ConfigError, DataError
from voxtext.testing import speech_like


@pytest.mark.parametrize("snip_edges", [True, False])
def test_empty_rows_and_empty_batches(snip_edges):
    fbank = Fbank(FbankConfig(snip_edges=snip_edges))
    audio = torch.from_numpy(speech_like(0.3, seed=2))
    batch = torch.stack([audio, torch.zeros_like(audio)])
    features, frame_lengths = fbank(batch, torch.tensor([audio.numel(), 0]))
    assert frame_lengths[1] == 0 and not features[1].any()
    alone, _ = fbank(audio[None], torch.tensor([audio.numel()]))
    torch.testing.assert_close(features[:1], alone)
    nothing, no_lengths = fbank(torch.zeros(0, 100), torch.zeros(0, dtype=torch.int64))
    assert nothing.shape == (0, 0, 80) and no_lengths.shape == (0,)


def test_silence_hits_the_log_floor_not_nan():
    features, _ = Mfcc()(torch.zeros(2, 4000), torch.tensor([4000, 2000]))
    assert torch.isfinite(features).all()
    log_mel, _ = Fbank()(torch.zeros(1, 4000), torch.tensor([4000]))
    assert torch.allclose(log_mel, torch.tensor(torch.finfo(torch.float32).eps).log())


def test_padding_content_is_ignored():
    fbank = Fbank(FbankConfig(snip_edges=False))
    audio = torch.from_numpy(speech_like(0.4, seed=5))
    clean = torch.cat([audio, torch.zeros(3000)])[None]
    noisy = torch.cat([audio, torch.ones(3000)])[None]
    lengths = torch.tensor([audio.numel()])
    assert torch.equal(fbank(clean, lengths)[0], fbank(noisy, lengths)[0])


def test_dither_uses_the_global_rng_and_stays_small():
    fbank = Fbank(FbankConfig(dither=1.0))
    audio = torch.from_numpy(speech_like(0.3, seed=6))[None]
    torch.manual_seed(0)
    first, _ = fbank(audio, torch.tensor([audio.shape[1]]))
    torch.manual_seed(0)
    again, _ = fbank(audio, torch.tensor([audio.shape[1]]))
    plain, _ = Fbank()(audio, torch.tensor([audio.shape[1]]))
    assert torch.equal(first, again) and not torch.equal(first, plain)
    assert (first - plain).abs().median() < 0.05


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"frame_shift_ms": 0.0}, "frame_shift_ms=0.0 must be > 0"),
        ({"high_freq": 9000.0}, "high_freq=9000.0"),
        ({"num_mel_bins": 2}, "num_mel_bins=2"),
        ({"window_type": "kaiser"}, "window_type"),
        ({"num_mel_bins": 200, "frame_length_ms": 10.0}, "lower num_mel_bins"),
        ({"preemphasis_coefficient": 1.5}, "preemphasis_coefficient"),
    ],
)
def test_bad_fbank_configs_say_which_field(options, message):
    with pytest.raises(ConfigError, match=message):
        voxtext.registry("feature_extractors").create("fbank", **options)


def test_bad_mfcc_config():
    with pytest.raises(ConfigError, match="num_ceps=30"):
        MfccConfig(num_ceps=30)


@pytest.mark.parametrize(
    ("waveforms", "lengths", "message"),
    [
        (torch.zeros(400), torch.tensor([400]), "unsqueeze"),
        (torch.zeros(1, 400, dtype=torch.int16), torch.tensor([400]), "32768"),
        (torch.zeros(2, 400), torch.tensor([400]), r"shape \(2,\)"),
        (torch.zeros(1, 400), torch.tensor([401]), r"\[0, 400\]"),
        (torch.zeros(1, 400), torch.tensor([400.0]), "integers"),
    ],
)
def test_bad_inputs_are_explained(waveforms, lengths, message):
    with pytest.raises(DataError, match=message):
        Fbank()(waveforms, lengths)


@pytest.mark.parametrize("chunk_frames", [7, 60, 100_000])
@pytest.mark.parametrize("snip_edges", [True, False])
def test_chunking_does_not_change_features(monkeypatch, chunk_frames, snip_edges):
    """Blocks split inside rows (small chunks) or span several rows (large ones)."""
    audio = [speech_like(0.9, seed=7), speech_like(0.35, seed=8), speech_like(0.6, seed=9)]
    lengths = torch.tensor([len(a) for a in audio])
    batch = torch.zeros(3, int(lengths.max()))
    for i, a in enumerate(audio):
        batch[i, : len(a)] = torch.from_numpy(a)
    config = FbankConfig(snip_edges=snip_edges, use_energy=True)
    expected, _ = Fbank(config)(batch, lengths)
    monkeypatch.setattr(kaldi_frontend, "CPU_CHUNK_FRAMES", chunk_frames)
    chunked, _ = Fbank(config)(batch, lengths)
    torch.testing.assert_close(chunked, expected, rtol=1e-5, atol=1e-4)
