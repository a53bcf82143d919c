"""Audio I/O: read any file soundfile can open as mono float32 at one sample rate, and back.

torchaudio 2.9+ has no audio I/O, so files go through soundfile (libsndfile: WAV, FLAC, OGG,
MP3 …) and torchaudio is used only for resampling. torch is imported inside the functions so
that code which reads only manifests (``voxtext manifest check``) starts without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile

from voxtext.data.validation import PathLike, soundfile_message
from voxtext.errors import DataError

if TYPE_CHECKING:
    import torch

DEFAULT_SAMPLE_RATE = 16000


@dataclass(frozen=True)
class AudioInfo:
    """What an audio file's header says: its sample rate (Hz), frames per channel, channels."""

    path: Path
    sample_rate: int
    frames: int
    channels: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


def audio_info(path: PathLike) -> AudioInfo:
    """Read an audio file's header (no samples); DataError naming the file if it cannot."""
    source = _existing_file(path)
    try:
        info = soundfile.info(str(source))
    except (RuntimeError, OSError) as error:  # soundfile's LibsndfileError is a RuntimeError
        raise _unreadable(source, error) from error
    return AudioInfo(source, int(info.samplerate), int(info.frames), int(info.channels))


def load_audio(path: PathLike, sample_rate: int = DEFAULT_SAMPLE_RATE) -> torch.Tensor:
    """Read an audio file as float32 mono samples in [-1, 1] at ``sample_rate``: (samples,).

    Channels are averaged, which keeps the level of a sound recorded equally on every channel.
    Another sample rate is converted with torchaudio's band-limited (windowed sinc) resampler.
    """
    import torch
    import torchaudio.functional

    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive number of Hz, got {sample_rate}")
    source = _existing_file(path)
    try:
        samples, file_rate = soundfile.read(str(source), dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as error:
        raise _unreadable(source, error) from error
    if samples.shape[0] == 0:
        raise DataError(f"{source}: the audio file has no samples — remove it from the data")
    mono = torch.from_numpy(samples.mean(axis=1, dtype=np.float32))
    if file_rate != sample_rate:
        mono = torchaudio.functional.resample(mono, int(file_rate), sample_rate)
    return mono.contiguous()


def write_audio(path: PathLike, waveform: torch.Tensor, sample_rate: int) -> None:
    """Write samples in [-1, 1], shaped (samples,) or (channels, samples), to an audio file.

    The format follows the file name's extension (.wav is written as 16-bit PCM, .flac as
    16-bit FLAC: soundfile's defaults); missing folders are created.
    """
    target = Path(path)
    kind = target.suffix.lstrip(".").upper()
    if kind not in soundfile.available_formats():
        raise DataError(
            f"{target}: cannot write audio as '{target.suffix}' — name the file .wav or .flac"
        )
    if waveform.dim() not in (1, 2):
        raise ValueError(
            f"waveform has shape {tuple(waveform.shape)}; expected (samples,) or "
            "(channels, samples)"
        )
    samples = waveform.detach().float().cpu().numpy()
    target.parent.mkdir(parents=True, exist_ok=True)
    # soundfile wants (frames, channels), torch code keeps channels first.
    soundfile.write(str(target), samples.T if samples.ndim == 2 else samples, sample_rate)


def collate_waveforms(waveforms: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch 1-D waveforms: zero-padded at the end to (batch, longest) and lengths (batch,) int64.

    Lengths let a model mask the padding, which would otherwise read as silence.
    """
    import torch
    from torch.nn.utils.rnn import pad_sequence

    if not waveforms:
        raise ValueError("collate_waveforms needs at least one waveform")
    for index, waveform in enumerate(waveforms):
        if waveform.dim() != 1:
            raise ValueError(
                f"waveform {index} has shape {tuple(waveform.shape)}; expected (samples,) — "
                "load_audio returns that shape"
            )
    lengths = torch.tensor([waveform.shape[0] for waveform in waveforms], dtype=torch.int64)
    return pad_sequence(list(waveforms), batch_first=True), lengths


def _existing_file(path: PathLike) -> Path:
    """Return ``path`` as a Path; DataError if it is not an existing file."""
    source = Path(path)
    if source.is_dir():
        raise DataError(f"{source}: is a folder, not an audio file — give the file's path")
    if not source.is_file():
        raise DataError(f"{source}: audio file not found — check the path")
    return source


def _unreadable(source: Path, error: Exception) -> DataError:
    """The error for a file that exists but that soundfile cannot decode."""
    return DataError(
        f"{source}: cannot read audio: {soundfile_message(error)} — re-encode it as WAV or FLAC"
    )
