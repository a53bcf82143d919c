"""Audio I/O: any rate and channel count loads as 16 kHz mono float32 with its pitch intact."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
import torch

from voxtext.data import audio_info, collate_waveforms, load_audio, write_audio
from voxtext.errors import DataError


def peak_frequency(samples: torch.Tensor, sample_rate: int) -> float:
    """The frequency (Hz) of the largest FFT bin, a Hann window against leakage."""
    window = torch.hann_window(samples.shape[0])
    spectrum = torch.fft.rfft(samples * window).abs()
    return float(spectrum.argmax()) * sample_rate / samples.shape[0]


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
@pytest.mark.parametrize("rate", [8000, 16000, 44100])
@pytest.mark.parametrize("channels", [1, 2])
def test_loads_as_16khz_mono_and_keeps_the_pitch(write_tone, suffix, rate, channels):
    path = write_tone(f"tone{suffix}", seconds=1.0, sample_rate=rate, channels=channels)

    samples = load_audio(path)

    assert samples.dtype == torch.float32
    assert samples.shape == (16000,)
    assert peak_frequency(samples, 16000) == pytest.approx(440.0, abs=1.0)
    # The tone is at half scale; mixdown and resampling must keep its level (RMS 0.5/√2).
    middle = samples[1000:-1000]
    assert float(middle.pow(2).mean().sqrt()) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_stereo_is_mixed_down_by_the_mean_of_the_channels(tmp_path):
    t = np.arange(16000) / 16000
    left = 0.8 * np.sin(2 * np.pi * 300 * t)
    right = 0.2 * np.sin(2 * np.pi * 300 * t)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([left, right], axis=1).astype(np.float32), 16000, "FLOAT")

    samples = load_audio(path)

    assert torch.allclose(samples, torch.from_numpy(((left + right) / 2).astype(np.float32)))


def test_loads_at_another_requested_rate(write_tone):
    path = write_tone("tone.wav", seconds=0.5, sample_rate=44100, frequency=1000.0)

    samples = load_audio(path, sample_rate=8000)

    assert samples.shape == (4000,)
    assert peak_frequency(samples, 8000) == pytest.approx(1000.0, abs=2.0)


def test_audio_info_reads_the_header(write_tone):
    path = write_tone("tone.flac", seconds=1.5, sample_rate=8000, channels=2)

    info = audio_info(path)

    assert (info.path, info.sample_rate, info.frames, info.channels) == (path, 8000, 12000, 2)
    assert info.duration == pytest.approx(1.5)


def test_unreadable_files_give_an_error_naming_the_file(tmp_path, write_tone):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really audio")
    empty = write_tone("empty.wav", seconds=0.0)

    with pytest.raises(DataError, match=r"missing\.wav: audio file not found"):
        load_audio(tmp_path / "missing.wav")
    with pytest.raises(DataError, match=r"broken\.wav: cannot read audio"):
        load_audio(broken)
    with pytest.raises(DataError, match=r"broken\.wav: cannot read audio"):
        audio_info(broken)
    with pytest.raises(DataError, match=r"empty\.wav: the audio file has no samples"):
        load_audio(empty)
    with pytest.raises(DataError, match="is a folder"):
        load_audio(tmp_path)


def test_write_audio_round_trips_mono_and_channels_first(tmp_path):
    mono = torch.linspace(-0.5, 0.5, 1600)
    stereo = torch.stack([mono, -mono])

    write_audio(tmp_path / "out/mono.flac", mono, 16000)
    write_audio(tmp_path / "stereo.wav", stereo, 16000)

    assert torch.allclose(load_audio(tmp_path / "out/mono.flac"), mono, atol=1e-4)
    assert audio_info(tmp_path / "stereo.wav").channels == 2
    assert torch.allclose(load_audio(tmp_path / "stereo.wav"), torch.zeros(1600), atol=1e-4)


def test_write_audio_rejects_unknown_formats_and_shapes(tmp_path):
    with pytest.raises(DataError, match=r"cannot write audio as '\.txt'"):
        write_audio(tmp_path / "out.txt", torch.zeros(10), 16000)
    with pytest.raises(ValueError, match="expected"):
        write_audio(tmp_path / "out.wav", torch.zeros(1, 2, 10), 16000)


def test_collate_pads_with_zeros_and_returns_lengths():
    batch, lengths = collate_waveforms([torch.ones(3), torch.ones(5), torch.ones(1)])

    assert batch.shape == (3, 5)
    assert lengths.dtype == torch.int64
    assert lengths.tolist() == [3, 5, 1]
    assert batch.sum(dim=1).tolist() == [3.0, 5.0, 1.0]  # padding is zeros


def test_collate_rejects_empty_batches_and_non_1d_waveforms():
    with pytest.raises(ValueError, match="at least one"):
        collate_waveforms([])
    with pytest.raises(ValueError, match=r"waveform 1 has shape \(2, 3\)"):
        collate_waveforms([torch.ones(3), torch.ones(2, 3)])
