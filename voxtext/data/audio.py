"""Audio I/O: read any file soundfile can open as mono float32 at one sample rate, and back.

torchaudio 2.9+ has no audio I/O, so files go through soundfile (libsndfile: WAV, FLAC, OGG,
MP3 …) and torchaudio is used only for resampling. torch is imported inside the functions so
that code which reads only manifests (``voxtext manifest check``) starts without it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
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

#: Sample formats that can hold NaN or infinity; integer PCM and lossy codecs cannot.
FLOAT_SUBTYPES = frozenset({"FLOAT", "DOUBLE"})

#: What to do about a file with NaN/inf samples (shared by every command that meets one).
NON_FINITE_FIX = (
    "repair or re-export the audio (a NaN or inf sample usually comes from a broken "
    "processing step), or remove it from the data"
)


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
    _check_finite(source, samples, 0, int(file_rate))
    mono = torch.from_numpy(samples.mean(axis=1, dtype=np.float32))
    if file_rate != sample_rate:
        mono = torchaudio.functional.resample(mono, int(file_rate), sample_rate)
    return mono.contiguous()


def read_audio_blocks(
    path: PathLike, sample_rate: int = DEFAULT_SAMPLE_RATE, block_seconds: float = 30.0
) -> Iterator[torch.Tensor]:
    """:func:`load_audio` in consecutive blocks of about ``block_seconds``, so a file of any
    length is read in bounded memory: float32 mono ``(samples,)`` at ``sample_rate``, the
    blocks joined end to end being the whole file. Resampling reads a little context past
    each block's edges, so the joins are as smooth as resampling the file at once. A block
    holding NaN or inf samples raises a DataError naming the file and the time."""
    import torch
    import torchaudio.functional

    info = audio_info(path)
    if info.frames == 0:
        raise DataError(f"{info.path}: the audio file has no samples — remove it from the data")
    rate = info.sample_rate
    # Blocks and context are whole resampling periods (``rate / gcd`` input samples make
    # ``sample_rate / gcd`` output samples), so every block's output grid is the file's.
    period = rate // math.gcd(rate, sample_rate)
    block = max(1, round(block_seconds * rate / period)) * period
    context = -(-rate // 20 // period) * period if rate != sample_rate else 0  # >= 50 ms
    try:
        with soundfile.SoundFile(str(info.path)) as stream:
            for start in range(0, info.frames, block):
                end = min(start + block, info.frames)
                first = max(0, start - context)
                stream.seek(first)
                samples = stream.read(
                    min(end + context, info.frames) - first, dtype="float32", always_2d=True
                )
                _check_finite(info.path, samples, first, rate)
                mono = torch.from_numpy(samples.mean(axis=1, dtype=np.float32))
                if rate == sample_rate:
                    yield mono
                    continue
                resampled = torchaudio.functional.resample(mono, rate, sample_rate)
                # Output positions counted from the file's start: no rounding drifts.
                skip = _resampled(start, rate, sample_rate) - _resampled(first, rate, sample_rate)
                length = _resampled(end, rate, sample_rate) - _resampled(start, rate, sample_rate)
                yield resampled[skip : skip + length].contiguous()
    except (RuntimeError, OSError) as error:
        raise _unreadable(info.path, error) from error


def _resampled(frames: int, rate: int, sample_rate: int) -> int:
    """How many samples at ``sample_rate`` the first ``frames`` at ``rate`` resample to
    (``torchaudio.functional.resample``'s output length)."""
    return -(-frames * sample_rate // rate)


def first_non_finite(path: PathLike, block_frames: int = 1 << 20) -> float | None:
    """The time in seconds of the first NaN or infinite sample of an audio file, or None.
    Only float WAV/FLAC-style files can hold one, so other files are not read at all; float
    files are scanned in blocks (bounded memory)."""
    source = _existing_file(path)
    try:
        with soundfile.SoundFile(str(source)) as stream:
            if stream.subtype not in FLOAT_SUBTYPES:
                return None
            position = 0
            for samples in stream.blocks(block_frames, dtype="float32", always_2d=True):
                bad = np.flatnonzero(~np.isfinite(samples).all(axis=1))
                if bad.size:
                    return (position + int(bad[0])) / stream.samplerate
                position += samples.shape[0]
    except (RuntimeError, OSError) as error:
        raise _unreadable(source, error) from error
    return None


def _check_finite(source: Path, samples: np.ndarray, first_frame: int, rate: int) -> None:
    """DataError for NaN/inf samples: a model fed them returns garbage or nothing at all."""
    finite = np.isfinite(samples).all(axis=1)
    if not finite.all():
        at = (first_frame + int(np.argmin(finite))) / rate
        raise DataError(
            f"{source}: the audio holds NaN or infinite samples (the first at {at:.3f} s) — "
            + NON_FINITE_FIX
        )


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
