"""Helpers for tests of voxtext and of plugin packages.

Register a plugin for one test only::

    pytest_plugins = ["voxtext.testing"]          # in your conftest.py

    def test_my_encoder(voxtext_plugin):
        voxtext_plugin(my_plugin_module)            # removed again after the test
        enc = voxtext.registry("encoders").create("my-encoder")

or, outside pytest, ``with registered_plugin(obj, name="mine"): ...``. The data helpers
make tiny deterministic audio and text so plugin tests need no downloads.

Importing this module does not import pytest: the fixture lives in
``voxtext.pytest_plugin``, which pytest loads with this module (``pytest_plugins`` below).
"""

from __future__ import annotations

import contextlib
import json
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voxtext import plugins
from voxtext.registry import PluginInfo

#: Read by pytest when a conftest names this module in its ``pytest_plugins``.
pytest_plugins = ["voxtext.pytest_plugin"]


@contextlib.contextmanager
def registered_plugin(
    obj: object, *, name: str = "test-plugin", version: str = "0.0.test"
) -> Iterator[PluginInfo]:
    """Register ``obj`` as a plugin on the process-wide manager for the duration of the block.

    Errors in its hooks are raised (strict mode) so a broken test plugin fails loudly.
    """
    manager = plugins.get_plugin_manager()
    info = PluginInfo(name, version, getattr(obj, "__name__", type(obj).__name__))
    previous_strict = manager.strict
    manager.strict = True
    try:
        if not manager.add_plugin(obj, info, source="voxtext.testing"):
            raise manager.failures[-1].error
        yield info
    finally:
        manager.strict = previous_strict
        manager.remove_plugin(name)


@contextlib.contextmanager
def isolated_plugin_manager(
    env: Mapping[str, str] | None = None, *, use_entry_points: bool = False
) -> Iterator[plugins.PluginManager]:
    """Swap in a fresh process-wide manager (by default without installed plugins)."""
    saved = plugins._manager
    manager = plugins.PluginManager(env=env or {}, use_entry_points=use_entry_points)
    plugins._manager = manager
    try:
        yield manager
    finally:
        plugins._manager = saved


# -- tiny deterministic data ------------------------------------------------------------------
def speech_like(
    duration: float = 1.0, sample_rate: int = 16000, *, seed: int = 0, f0: float = 120.0
) -> np.ndarray:
    """A voiced, syllable-rhythm signal: harmonics of a gliding f0 shaped by moving formants,
    plus a little breath noise. float32 in [-1, 1], shape ``(samples,)``."""
    rng = np.random.default_rng(seed)
    n = round(duration * sample_rate)
    t = np.arange(n) / sample_rate
    pitch = f0 * (1 + 0.08 * np.sin(2 * np.pi * 3.0 * t + rng.uniform(0, 6.28)))
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
    formants = (500 + 200 * np.sin(2 * np.pi * 1.7 * t), 1500 + 400 * np.sin(2 * np.pi * 2.3 * t))
    signal = np.zeros(n)
    for k in range(1, int(min(4000, sample_rate / 2 - 200) // f0)):
        freq = k * pitch
        gain = sum(np.exp(-(((freq - f) / 180.0) ** 2)) for f in formants) + 0.02
        signal += gain * np.sin(k * phase) / k
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6.28))
    signal = signal * envelope + 0.01 * rng.standard_normal(n)
    return (0.8 * signal / max(1e-9, float(np.abs(signal).max()))).astype(np.float32)


def white_noise(duration: float = 1.0, sample_rate: int = 16000, *, seed: int = 0) -> np.ndarray:
    """Gaussian noise at about −12 dBFS, float32 ``(samples,)``."""
    rng = np.random.default_rng(seed)
    return (0.25 * rng.standard_normal(round(duration * sample_rate))).astype(np.float32)


def tone(freq: float, duration: float = 1.0, sample_rate: int = 16000) -> np.ndarray:
    """A sine at ``freq`` Hz, amplitude 0.5, float32 ``(samples,)``."""
    t = np.arange(round(duration * sample_rate)) / sample_rate
    return (0.5 * np.sin(2 * math.pi * freq * t)).astype(np.float32)


def write_speech_manifest(
    folder: Path,
    *,
    n: int = 4,
    groups: Mapping[str, Sequence[str]] | None = None,
    sample_rate: int = 16000,
    seed: int = 0,
) -> Path:
    """Write ``n`` speech-like wav files and a ``manifest.jsonl`` naming them; returns its path.

    ``groups={"dialect": ["a", "b"]}`` assigns group values round-robin; speakers are
    ``spk0``, ``spk1`` … (two utterances each).
    """
    import soundfile

    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        duration = 0.5 + 0.25 * (i % 3)
        audio = speech_like(duration, sample_rate, seed=seed + i, f0=100.0 + 15 * (i % 5))
        name = f"utt{i:03d}.wav"
        soundfile.write(folder / name, audio, sample_rate)
        row: dict[str, Any] = {
            "id": f"utt{i:03d}",
            "audio": name,
            "text": f"utterance number {i}",
            "duration": len(audio) / sample_rate,
            "speaker": f"spk{i // 2}",
            "groups": {k: v[i % len(v)] for k, v in (groups or {}).items()},
        }
        lines.append(json.dumps(row, ensure_ascii=False))
    path = folder / "manifest.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_tone_corpus(
    folder: Path,
    *,
    n: int = 32,
    alphabet: str = "abcdef",
    dialects: Sequence[str] = ("north", "south"),
    sample_rate: int = 16000,
    seed: int = 0,
) -> Path:
    """A learnable toy speech corpus: each letter is a 90 ms tone of its own pitch (a
    dialect shifts every pitch a little), words of 2–4 letters, 2 speakers per dialect.
    Writes wav files and ``manifest.jsonl``; returns the manifest path. Small enough for a
    CTC model to learn in about a minute on a CPU."""
    import soundfile

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    base = {ch: 300.0 * 1.25**i for i, ch in enumerate(alphabet)}
    rows = []
    for i in range(n):
        dialect = dialects[i % len(dialects)]
        shift = 1.0 + 0.04 * dialects.index(dialect)
        speaker = f"{dialect}-spk{(i // len(dialects)) % 2}"
        text = "".join(rng.choice(list(alphabet), size=int(rng.integers(2, 5))))
        pieces: list[np.ndarray] = [np.zeros(int(0.05 * sample_rate), np.float32)]
        for ch in text:
            tone_ = tone(base[ch] * shift * rng.uniform(0.98, 1.02), 0.09, sample_rate)
            pieces += [
                tone_ * np.hanning(len(tone_)).astype(np.float32),
                np.zeros(int(0.03 * sample_rate), np.float32),
            ]
        audio = np.concatenate(pieces) + 0.003 * rng.standard_normal(
            sum(len(p) for p in pieces)
        ).astype(np.float32)
        name = f"tone{i:04d}.wav"
        soundfile.write(folder / name, audio, sample_rate)
        rows.append(
            {
                "id": f"tone{i:04d}",
                "audio": name,
                "text": text,
                "duration": len(audio) / sample_rate,
                "speaker": speaker,
                "groups": {"dialect": dialect},
            }
        )
    path = folder / "manifest.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_text_dataset(folder: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write rows (``text``, ``label``, optional ``groups``) as ``data.jsonl``; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for i, row in enumerate(rows):
            f.write(json.dumps({"id": f"ex{i:04d}", **row}, ensure_ascii=False) + "\n")
    return path


# Entity names for write_ner_dataset: multi-word names recur across sentences, and no word of
# a name appears in a template or in a name of another type, so a tagger can learn them.
_NER_NAMES = {
    "PER": (
        "anna kowalski",
        "john baker",
        "maria lopez",
        "li wei",
        "david okafor",
        "sarah jensen",
        "omar haddad",
        "yuki tanaka",
        "peter van dijk",
        "grace",
        "ahmed",
    ),
    "LOC": (
        "new york",
        "paris",
        "san francisco",
        "cape town",
        "buenos aires",
        "berlin",
        "hong kong",
        "lagos",
        "mexico city",
        "oslo",
        "rio de janeiro",
    ),
    "ORG": (
        "acme corporation",
        "united nations",
        "red cross",
        "general motors",
        "oxfam",
        "bank of england",
        "greenpeace",
        "siemens",
        "st mary hospital",
        "open university",
    ),
}
# (topic, template); {PER}, {LOC}, {ORG} are slots. Context words hint at the type that follows.
_NER_TEMPLATES = (
    ("travel", "yesterday {PER} flew from {LOC} to {LOC} for {ORG}"),
    ("travel", "{PER} moved to {LOC} last spring"),
    ("travel", "we drove from {LOC} to {LOC} in one day"),
    ("travel", "the weather in {LOC} was cold this week"),
    ("business", "{PER} works for {ORG} in {LOC}"),
    ("business", "{ORG} opened an office in {LOC}"),
    ("business", "{PER} joined {ORG} after leaving {ORG}"),
    ("business", "{ORG} shares rose after {PER} spoke"),
    ("people", "{PER} met {PER} at the {ORG} meeting"),
    ("people", "{PER} said the report was late"),
    ("people", "{PER} and {PER} had lunch near {LOC}"),
    ("other", "it rained all day and the train was late"),
    ("other", "please send the report by friday"),
    ("other", "the meeting was moved to next week"),
    ("other", "prices went up again this month"),
)


def write_ner_dataset(path: str | Path, n: int, *, seed: int = 0) -> Path:
    """Write ``n`` synthetic English NER sentences as JSON Lines; returns ``path``.

    Each line is ``{"id", "tokens", "tags", "groups": {"topic": ...}}`` with lowercase
    tokens and BIO tags for PER, LOC and ORG (multi-word names from small lists, so they
    recur); about a quarter of the sentences have no entity. The same seed writes the same
    file. A tagger learns it to a high entity F1 from a few hundred sentences.
    """
    rng = random.Random(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        topic, template = rng.choice(_NER_TEMPLATES)
        tokens: list[str] = []
        tags: list[str] = []
        for word in template.split():
            if word.startswith("{") and word.endswith("}"):
                entity_type = word[1:-1]
                name = rng.choice(_NER_NAMES[entity_type]).split()
                tokens += name
                tags += [f"B-{entity_type}"] + [f"I-{entity_type}"] * (len(name) - 1)
            else:
                tokens.append(word)
                tags.append("O")
        row = {"id": f"ner{i:05d}", "tokens": tokens, "tags": tags, "groups": {"topic": topic}}
        lines.append(json.dumps(row) + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


def read_metadata_fixture(path: Path, **places: str) -> dict[str, Any]:
    """A checkpoint's ``metadata`` entry kept as a JSON file (one written by an older
    voxtext, say), each ``{name}`` in it replaced by ``places[name]`` (the folders of the
    run it belongs to, which differ from test to test)."""
    text = path.read_text(encoding="utf-8")
    for name, value in places.items():
        text = text.replace("{" + name + "}", value)
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def copy_run_with_metadata(run: Path, copy: Path, metadata: Mapping[str, Any]) -> Path:
    """A copy at ``copy`` of the run folder ``run`` whose every checkpoint holds
    ``metadata`` as its task's entry: a run as an older voxtext wrote it, with the same
    weights, for tests that old checkpoints still load."""
    import shutil

    shutil.copytree(run, copy, symlinks=True)
    for path in copy.glob("*/metadata.json"):
        saved = json.loads(path.read_text(encoding="utf-8"))
        saved["metadata"] = dict(metadata)
        path.write_text(json.dumps(saved, indent=2), encoding="utf-8")
    return copy


__all__ = [
    "copy_run_with_metadata",
    "isolated_plugin_manager",
    "read_metadata_fixture",
    "registered_plugin",
    "speech_like",
    "tone",
    "white_noise",
    "write_ner_dataset",
    "write_speech_manifest",
    "write_text_dataset",
    "write_tone_corpus",
]
