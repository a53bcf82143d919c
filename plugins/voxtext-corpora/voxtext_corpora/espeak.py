"""espeak-ng as a speech source: find the program, list its voices, synthesise one utterance.

espeak-ng writes 22,050 Hz 16-bit WAV; each utterance is read from its standard output
(soundfile copes with the unknown length espeak-ng writes into a streamed header), resampled
with torchaudio's band-limited (windowed sinc) resampler and written as 16 kHz mono 16-bit
WAV. Files are written under a temporary name and renamed, so a file with the final name is
always complete: an interrupted run leaves no half-written audio that a later run would trust.
"""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from voxtext.errors import VoxtextError

SAMPLE_RATE = 16000
# One short sentence takes espeak-ng a few tens of milliseconds; a minute means it hangs.
SYNTHESIS_TIMEOUT_SECONDS = 60
INSTALL_HINT = (
    "install it with `apt-get install espeak-ng` (Debian/Ubuntu), `brew install espeak-ng` "
    "(macOS), or set VOXTEXT_ESPEAK_NG to the program's path"
)


class EspeakError(VoxtextError):
    """espeak-ng is missing, lacks a voice, or failed on an utterance."""


@dataclass(frozen=True)
class VoiceSettings:
    """How espeak-ng speaks: voice (``en-gb-scotland``), variant (``f2``), pitch 0–99, words/min."""

    voice: str
    variant: str
    pitch: int
    speed: int

    def arguments(self) -> list[str]:
        """espeak-ng's command-line options for these settings."""
        return ["-v", f"{self.voice}+{self.variant}", "-p", str(self.pitch), "-s", str(self.speed)]


def espeak_executable() -> str:
    """The espeak-ng program's path (``VOXTEXT_ESPEAK_NG`` overrides the search of PATH)."""
    configured = os.environ.get("VOXTEXT_ESPEAK_NG")
    if configured:
        if shutil.which(configured) is None:
            raise EspeakError(
                f"VOXTEXT_ESPEAK_NG={configured!r} is not an executable program — fix the "
                f"path, or unset it to search PATH"
            )
        return configured
    found = shutil.which("espeak-ng")
    if found is None:
        raise EspeakError(
            "espeak-ng is not installed (the program 'espeak-ng' is not on PATH); the "
            f"espeak-dialects corpus synthesises its speech with it — {INSTALL_HINT}"
        )
    return found


def _run(executable: str, arguments: list[str]) -> str:
    """Run espeak-ng with ``arguments`` and return its standard output as text."""
    done = subprocess.run(
        [executable, *arguments],
        capture_output=True,
        timeout=SYNTHESIS_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise EspeakError(f"`espeak-ng {' '.join(arguments)}` failed: {message}")
    return done.stdout.decode("utf-8", "replace")


@functools.lru_cache(maxsize=8)
def espeak_version(executable: str) -> str:
    """The version espeak-ng reports, e.g. ``1.51``."""
    text = _run(executable, ["--version"])
    match = re.search(r"text-to-speech:\s*(\S+)", text)
    return match.group(1) if match else text.strip()


@functools.lru_cache(maxsize=8)
def installed_voices(executable: str) -> frozenset[str]:
    """Voice names ``-v`` accepts: the Language column of ``espeak-ng --voices`` and the file
    names (``gmw/en-GB-x-rp`` -> ``en-gb-x-rp``), lower-cased."""
    names = set()
    for line in _run(executable, ["--voices"]).splitlines()[1:]:
        columns = line.split()
        if len(columns) >= 5:
            names.add(columns[1].lower())
            names.add(columns[4].rsplit("/", 1)[-1].lower())
    return frozenset(names)


@functools.lru_cache(maxsize=8)
def installed_variants(executable: str) -> frozenset[str]:
    """Variant names ``+name`` accepts: the file names in ``espeak-ng --voices=variant``."""
    text = _run(executable, ["--voices=variant"])
    return frozenset(re.findall(r"!v/(\S+)", text))


def check_voices(executable: str, voices: Iterable[str], variants: Iterable[str]) -> None:
    """Raise one EspeakError naming every voice and variant this espeak-ng lacks."""
    missing_voices = sorted(set(voices) - installed_voices(executable))
    missing_variants = sorted(set(variants) - installed_variants(executable))
    problems = []
    if missing_voices:
        problems.append(f"voices {missing_voices} (see `espeak-ng --voices`)")
    if missing_variants:
        problems.append(f"variants {missing_variants} (see `espeak-ng --voices=variant`)")
    if problems:
        raise EspeakError(
            f"espeak-ng {espeak_version(executable)} at {executable} lacks "
            f"{' and '.join(problems)} — install a fuller espeak-ng (the Debian package "
            "'espeak-ng' has them all), or leave those dialects out with the 'dialects' setting"
        )


@functools.lru_cache(maxsize=4)
def _resampler(source_rate: int) -> Any:
    """A torchaudio resampler to 16 kHz. The module computes its windowed-sinc kernel once;
    ``torchaudio.functional.resample`` recomputes it every call, which costs more than the
    resampling itself (22,050 -> 16,000 Hz: a 320-phase kernel). Its forward keeps no state,
    so threads may share it."""
    import torchaudio.transforms

    return torchaudio.transforms.Resample(source_rate, SAMPLE_RATE)


def synthesise(executable: str, settings: VoiceSettings, text: str) -> np.ndarray:
    """Speak ``text`` and return 16 kHz mono float32 samples in [-1, 1]: (samples,)."""
    import torch

    done = subprocess.run(
        [executable, *settings.arguments(), "--stdout", text],
        capture_output=True,
        timeout=SYNTHESIS_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip() or "no audio written"
        raise EspeakError(f"espeak-ng {' '.join(settings.arguments())} on {text!r}: {message}")
    samples, rate = soundfile.read(io.BytesIO(done.stdout), dtype="float32")
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    waveform = torch.from_numpy(np.ascontiguousarray(samples))
    if rate != SAMPLE_RATE:
        waveform = _resampler(int(rate))(waveform)
    # Resampling can overshoot full scale by a hair; 16-bit PCM would clip it anyway.
    return waveform.clamp_(-1.0, 1.0).numpy()


def write_wav_atomically(target: Path, samples: np.ndarray) -> int:
    """Write 16 kHz 16-bit mono WAV through a temporary file; return the number of samples."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    soundfile.write(str(partial), samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    os.replace(partial, target)
    return int(samples.shape[0])


def complete_wav_samples(path: Path) -> int | None:
    """Samples in an existing 16 kHz mono WAV file, or None if it is absent or unusable."""
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, OSError):  # soundfile's LibsndfileError is a RuntimeError
        return None
    if info.samplerate != SAMPLE_RATE or info.channels != 1 or info.frames <= 0:
        return None
    return int(info.frames)
