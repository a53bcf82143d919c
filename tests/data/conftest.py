"""Helpers for the data-layer tests: tones written as audio files, manifests written as JSONL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

ToneWriter = Callable[..., Path]
ManifestWriter = Callable[[list[Any]], Path]


def tone(seconds: float, sample_rate: int, frequency: float = 440.0) -> np.ndarray:
    """A sine at half full scale, float32, (samples,)."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    return (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


@pytest.fixture
def write_tone(tmp_path: Path) -> ToneWriter:
    """Write a tone to tmp_path/name; stereo copies it to both channels."""

    def write(
        name: str,
        seconds: float = 1.0,
        sample_rate: int = 16000,
        channels: int = 1,
        frequency: float = 440.0,
    ) -> Path:
        samples = tone(seconds, sample_rate, frequency)
        if channels > 1:
            samples = np.stack([samples] * channels, axis=1)
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, samples, sample_rate)
        return path

    return write


@pytest.fixture
def write_manifest_lines(tmp_path: Path) -> ManifestWriter:
    """Write tmp_path/manifest.jsonl: dicts become JSON lines, str and bytes go in as they are."""

    def write(lines: list[Any]) -> Path:
        raw = b""
        for line in lines:
            if isinstance(line, dict):
                line = json.dumps(line)
            raw += (line.encode() if isinstance(line, str) else line) + b"\n"
        path = tmp_path / "manifest.jsonl"
        path.write_bytes(raw)
        return path

    return write
