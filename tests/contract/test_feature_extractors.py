"""The FeatureExtractor contract, checked on every registered extractor (third-party too).

Each extractor is built with its default config and must: conform to the protocol, return
``(B, T, feature_dim)`` float32 features and int64 ``(B,)`` frame lengths on the input's
device, keep frames past a row's length at zero, give each row of a padded batch exactly what
that utterance gives alone, and give the same output twice.
"""

from __future__ import annotations

import pytest
import torch

import voxtext
from voxtext.protocols import FeatureExtractor
from voxtext.testing import speech_like, white_noise

EXTRACTORS = voxtext.registry("feature_extractors").names()
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
    ),
]


def padded_batch(sample_rate: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Three utterances of different lengths (speech-like and noise), zero-padded."""
    audio = [
        speech_like(0.83, sample_rate, seed=11),
        white_noise(0.31, sample_rate, seed=12),
        speech_like(0.57, sample_rate, seed=13, f0=190.0),
    ]
    lengths = torch.tensor([len(a) for a in audio], dtype=torch.int64)
    batch = torch.zeros(len(audio), int(lengths.max()))
    for i, a in enumerate(audio):
        batch[i, : len(a)] = torch.from_numpy(a)
    return batch, lengths


@pytest.fixture(params=EXTRACTORS)
def extractor(request) -> FeatureExtractor:
    return voxtext.registry("feature_extractors").create(request.param)


def test_extractors_are_registered():
    assert {"fbank", "mfcc", "librosa-mel", "librosa-mfcc"} <= set(EXTRACTORS)


def test_conforms_to_the_protocol(extractor):
    assert isinstance(extractor, FeatureExtractor)
    assert isinstance(extractor.sample_rate, int) and extractor.sample_rate > 0
    assert isinstance(extractor.feature_dim, int) and extractor.feature_dim > 0


@pytest.mark.parametrize("device", DEVICES)
def test_shapes_dtypes_and_padding(extractor, device):
    waveforms, lengths = padded_batch(extractor.sample_rate)
    features, frame_lengths = extractor(waveforms.to(device), lengths.to(device))
    assert features.device.type == device and frame_lengths.device.type == device
    assert features.dtype == torch.float32 and frame_lengths.dtype == torch.int64
    assert features.shape == (3, int(frame_lengths.max()), extractor.feature_dim)
    assert frame_lengths.shape == (3,)
    # A longer utterance never has fewer frames, and every utterance here has some.
    assert frame_lengths[0] > frame_lengths[2] > frame_lengths[1] > 0
    assert torch.isfinite(features).all()
    for row, count in enumerate(frame_lengths.tolist()):
        assert not features[row, count:].any(), f"padding frames of row {row} are not zero"
        assert features[row, :count].abs().sum() > 0


@pytest.mark.parametrize("device", DEVICES)
def test_batch_rows_equal_single_utterances(extractor, device):
    waveforms, lengths = padded_batch(extractor.sample_rate)
    features, frame_lengths = extractor(waveforms.to(device), lengths.to(device))
    for row, length in enumerate(lengths.tolist()):
        alone, alone_lengths = extractor(
            waveforms[row : row + 1, :length].to(device), torch.tensor([length], device=device)
        )
        count = int(frame_lengths[row])
        assert alone_lengths.tolist() == [count] and alone.shape[1] == count
        torch.testing.assert_close(features[row, :count], alone[0], rtol=1e-4, atol=1e-4)


def test_deterministic(extractor):
    waveforms, lengths = padded_batch(extractor.sample_rate)
    first, first_lengths = extractor(waveforms, lengths)
    second, second_lengths = extractor(waveforms.clone(), lengths.clone())
    assert torch.equal(first, second) and torch.equal(first_lengths, second_lengths)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(extractor):
    waveforms, lengths = padded_batch(extractor.sample_rate)
    on_cpu, cpu_lengths = extractor(waveforms, lengths)
    on_gpu, gpu_lengths = extractor(waveforms.cuda(), lengths.cuda())
    assert torch.equal(cpu_lengths, gpu_lengths.cpu())
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=1e-3, atol=2e-3)
