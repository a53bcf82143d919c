"""Augmentations: seeded, respect padding and lengths, and do what their name says."""

from __future__ import annotations

import math

import pytest
import torch
import torchaudio.functional as taf
from voxtext_features.additive_noise import AdditiveNoise, AdditiveNoiseConfig
from voxtext_features.spec_augment import SpecAugment, SpecAugmentConfig
from voxtext_features.speed_perturb import SpeedPerturb, SpeedPerturbConfig
from voxtext_features.volume import Volume, VolumeConfig

import voxtext
from voxtext.errors import ConfigError, DataError
from voxtext.protocols import Augmentation
from voxtext.testing import speech_like

NAMES = ["spec-augment", "speed-perturb", "additive-noise", "volume"]


def waveforms(rows: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([8000 - 1500 * (i % 4) for i in range(rows)])
    batch = torch.zeros(rows, 8000)
    for i, n in enumerate(lengths.tolist()):
        batch[i, :n] = torch.from_numpy(speech_like(n / 16000, seed=i, f0=100.0 + 20 * i))
    return batch, lengths


def features() -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([60, 25, 40])
    x = torch.rand(3, 60, 20, generator=torch.Generator().manual_seed(0)) + 1.0
    x[torch.arange(60) >= lengths.unsqueeze(1)] = 0.0
    return x, lengths


def run(augment, seed: int):
    x, lengths = features() if augment.domain == "features" else waveforms()
    return augment(x, lengths, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", NAMES)
def test_seeded_conforming_and_padding_stays_zero(name):
    augment = voxtext.registry("augmentations").create(name)
    assert isinstance(augment, Augmentation)
    out, lengths = run(augment, 3)
    again, again_lengths = run(augment, 3)
    other, _ = run(augment, 4)
    assert torch.equal(out, again) and torch.equal(lengths, again_lengths)
    assert not torch.equal(out, other)
    for row, n in enumerate(lengths.tolist()):
        assert not out[row, n:].any()
    with pytest.raises(DataError, match="torch.Generator"):
        augment(*(features() if augment.domain == "features" else waveforms()), 0)


def test_spec_augment_masks_only_valid_frames_within_widths():
    x, lengths = features()
    config = SpecAugmentConfig(
        num_freq_masks=1,
        max_freq_width=5,
        num_time_masks=2,
        max_time_width=6,
        max_time_ratio=1.0,
        mask_value=-1.0,
    )
    out, out_lengths = SpecAugment(config)(x, lengths, torch.Generator().manual_seed(1))
    assert torch.equal(out_lengths, lengths)
    masked = out == -1.0
    for row, n in enumerate(lengths.tolist()):
        assert not masked[row, n:].any()
        masked_bins = masked[row, :n].all(dim=0).sum()  # frequency bands cover every frame
        assert masked_bins <= 5
        time_only = masked[row, :n].all(dim=1).sum()
        assert time_only <= 12 or masked_bins == 20
    assert masked.any()
    unchanged = SpecAugment(SpecAugmentConfig(num_freq_masks=0, num_time_masks=0))
    assert torch.equal(unchanged(x, lengths, torch.Generator())[0], x)


def test_speed_perturb_resamples_each_row_like_torchaudio_alone():
    x, lengths = waveforms()
    out, new_lengths = SpeedPerturb(SpeedPerturbConfig(factors=(1.1,)))(
        x, lengths, torch.Generator().manual_seed(0)
    )
    for row, n in enumerate(lengths.tolist()):
        alone = taf.resample(x[row, :n], 17600, 16000)
        assert int(new_lengths[row]) == alone.shape[0] == math.ceil(n / 1.1)
        torch.testing.assert_close(out[row, : alone.shape[0]], alone, atol=1e-5, rtol=1e-4)
    slower, slow_lengths = SpeedPerturb(SpeedPerturbConfig(factors=(0.9,)))(
        x, lengths, torch.Generator()
    )
    assert slow_lengths.tolist() == [math.ceil(n / 0.9) for n in lengths.tolist()]
    assert slower.shape[1] == int(slow_lengths.max())


def test_speed_perturb_draws_every_factor_per_utterance():
    x, lengths = waveforms(16)
    _, new_lengths = SpeedPerturb()(x, lengths, torch.Generator().manual_seed(0))
    ratios = {round(n / m, 1) for n, m in zip(lengths.tolist(), new_lengths.tolist(), strict=True)}
    assert ratios == {0.9, 1.0, 1.1}


@pytest.mark.parametrize("kind", ["white", "pink", "babble"])
def test_additive_noise_hits_the_target_snr(kind):
    x, lengths = waveforms()
    config = AdditiveNoiseConfig(snr_db_range=(10.0, 10.0), noise_types=(kind,))
    out, _ = AdditiveNoise(config)(x, lengths, torch.Generator().manual_seed(5))
    noise = out - x
    for row, n in enumerate(lengths.tolist()):
        snr = 10 * torch.log10(x[row, :n].square().sum() / noise[row, :n].square().sum())
        assert abs(float(snr) - 10.0) < 1e-3
    spectrum = torch.fft.rfft(noise[0, : lengths[0]]).abs().square()
    low, high = spectrum[1:200].mean(), spectrum[-2000:].mean()
    if kind == "white":
        assert 0.5 < low / high < 2.0
    elif kind == "pink":
        assert low / high > 50.0


def test_babble_is_other_utterances_and_needs_company():
    x, lengths = waveforms(2)
    config = AdditiveNoiseConfig(
        snr_db_range=(0.0, 0.0), noise_types=("babble",), babble_speakers=1
    )
    out, _ = AdditiveNoise(config)(x, lengths, torch.Generator())
    noise = out[0, :8000] - x[0]
    other = x[1, : lengths[1]].repeat(2)[:8000]  # row 1, looped over row 0's length
    gain = noise.dot(other) / other.dot(other)
    torch.testing.assert_close(noise, gain * other, atol=1e-5, rtol=1e-4)
    alone, _ = AdditiveNoise(config)(x[:1], lengths[:1], torch.Generator())
    assert torch.equal(alone, x[:1])


def test_volume_applies_the_gain_in_decibels():
    x, lengths = waveforms()
    out, _ = Volume(VolumeConfig(gain_db_range=(6.0, 6.0)))(x, lengths, torch.Generator())
    torch.testing.assert_close(out, x * 10 ** (6 / 20))
    out, _ = Volume()(x, lengths, torch.Generator().manual_seed(2))
    gains = out[:, 100] / x[:, 100]
    assert ((gains >= 10 ** (-6 / 20) - 1e-6) & (gains <= 10 ** (6 / 20) + 1e-6)).all()


def test_bad_augmentation_configs_are_named():
    with pytest.raises(ConfigError, match="factors"):
        voxtext.registry("augmentations").create("speed-perturb", factors=[1.0, -0.5])
    with pytest.raises(ConfigError, match="gain_db_range"):
        VolumeConfig(gain_db_range=(3.0, -3.0))
    with pytest.raises(ConfigError, match="noise_types"):
        voxtext.registry("augmentations").create("additive-noise", noise_types=["brown"])
