"""``whisper-log-mel`` against transformers' ``WhisperFeatureExtractor`` (a reference no one
here wrote). The reference pads to 30 s and takes the dynamic-range maximum over the padded
window; ours takes it over the utterance. So: on a 30 s input both see the same window and must
agree on every frame; on a short input we compare with the reference run without padding
(``padding="longest"`` on that utterance alone), which is what a variable-length front end
means."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import voxtext
from voxtext.errors import ConfigError


def create(**settings: object):
    return voxtext.registry("feature_extractors").create("whisper-log-mel", **settings)


def chirp(seconds: float, seed: int = 0) -> np.ndarray:
    """A rising tone plus a little noise, 16 kHz float32."""
    t = np.arange(int(seconds * 16000)) / 16000
    noise = np.random.default_rng(seed).standard_normal(t.size) * 0.01
    return (0.3 * np.sin(2 * np.pi * (150 + 200 * t) * t) + noise).astype(np.float32)


def reference(audio: np.ndarray, n_mels: int = 80, padding: str = "max_length") -> torch.Tensor:
    """transformers' features ``(frames, n_mels)``."""
    from transformers import WhisperFeatureExtractor

    extractor = WhisperFeatureExtractor(feature_size=n_mels)
    out = extractor(audio, sampling_rate=16000, padding=padding, return_tensors="pt")
    return out.input_features[0].T


def test_mel_filters_equal_transformers() -> None:
    from transformers.audio_utils import mel_filter_bank
    from voxtext_whisper.features import slaney_mel_filters

    for n_mels in (80, 128):
        expected = mel_filter_bank(
            num_frequency_bins=201,
            num_mel_filters=n_mels,
            min_frequency=0.0,
            max_frequency=8000.0,
            sampling_rate=16000,
            norm="slaney",
            mel_scale="slaney",
        )
        np.testing.assert_allclose(slaney_mel_filters(201, n_mels, 16000), expected, atol=1e-9)


@pytest.mark.parametrize("n_mels", [80, 128])
def test_a_30_second_input_matches_transformers(n_mels: int) -> None:
    audio = chirp(30.0)
    features, lengths = create(n_mels=n_mels)(torch.from_numpy(audio)[None], torch.tensor([480000]))
    expected = reference(audio, n_mels)
    assert lengths.tolist() == [3000] and features.shape == (1, 3000, n_mels)
    torch.testing.assert_close(features[0], expected, atol=1e-4, rtol=1e-4)


def test_short_inputs_match_transformers_without_padding() -> None:
    extractor = create()
    audio = [chirp(1.23, seed=1), chirp(0.71, seed=2)[::-1].copy(), chirp(2.0, seed=3)]
    lengths = torch.tensor([len(a) for a in audio])
    batch = torch.zeros(3, int(lengths.max()))
    for row, a in enumerate(audio):
        batch[row, : len(a)] = torch.from_numpy(a)
    features, frame_lengths = extractor(batch, lengths)
    assert frame_lengths.tolist() == [len(a) // 160 for a in audio]
    for row, a in enumerate(audio):
        count = int(frame_lengths[row])
        expected = reference(a, padding="longest")
        assert expected.shape == (count, 80)
        torch.testing.assert_close(features[row, :count], expected, atol=1e-4, rtol=1e-4)
        assert not features[row, count:].any()


def test_settings_follow_the_folder_preprocessor_config(tmp_path: Path) -> None:
    from transformers import WhisperFeatureExtractor

    WhisperFeatureExtractor(feature_size=128).save_pretrained(tmp_path)
    extractor = create(path=str(tmp_path))
    assert extractor.feature_dim == 128 and extractor.sample_rate == 16000
    with pytest.raises(ConfigError, match=r"n_mels=80 but .* feature_size=128"):
        create(path=str(tmp_path), n_mels=80)
    with pytest.raises(ConfigError, match="preprocessor_config.json' does not exist"):
        create(path=str(tmp_path / "nowhere"))
    assert json.loads((tmp_path / "preprocessor_config.json").read_text())["n_fft"] == 400


def test_too_short_rows_fail_clearly() -> None:
    with pytest.raises(ValueError, match="more than 200 samples"):
        create()(torch.zeros(1, 150), torch.tensor([150]))
