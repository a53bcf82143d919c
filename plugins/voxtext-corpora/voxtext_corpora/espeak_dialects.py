"""``espeak-dialects``: a synthetic multi-dialect speech corpus made with espeak-ng.

No recorded dialect corpus can be shipped or downloaded with voxtext, so this one is
synthesised: English accents (eight espeak-ng English voices) and/or Chinese (Mandarin and
Cantonese saying the same Chinese text). It is synthetic and every report built on it must say
so: its ``CorpusSplits.synthetic`` is True and its notes say what it is. Swap in a real corpus
by name (``manifest-folder``) and nothing else in a recipe changes.

The corpus lives in ``<out_dir>/espeak-dialects-<languages>-<size>-<key>/`` where ``key`` is a
digest of every setting that changes its content, with ``corpus.json`` written last: a folder
with a matching ``corpus.json`` is reused as it is; one without (an interrupted run) is
completed, keeping only audio files that are whole.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from voxtext.data import Utterance, read_manifest, write_manifest
from voxtext.errors import DataError
from voxtext.protocols import CorpusSplits
from voxtext_corpora.dialects import ALL_VARIANTS, LANGUAGE_SETS, Dialect, select_dialects
from voxtext_corpora.espeak import (
    SAMPLE_RATE,
    check_voices,
    espeak_executable,
    espeak_version,
)
from voxtext_corpora.plan import SPLITS, PlannedUtterance, Sizes, plan_corpus
from voxtext_corpora.sentences import chinese_sentences, english_sentences, source_fingerprint
from voxtext_corpora.synthesis import SynthesisReport, spoken_text, synthesise_corpus

# Bump when the same settings would give different audio or manifests (a new layout, a fix).
FORMAT_VERSION = 1
STAMP = "corpus.json"
CHINESE_CLAUSE_LENGTH = (4, 12)  # Han characters: about 1–3 s of speech at espeak's speeds
SYNTHETIC_NOTE = (
    "synthetic speech made by espeak-ng, not recorded speakers: error rates on it show how a "
    "model copes with espeak-ng's dialect voices, which differ from real dialect speech"
)


@dataclass(frozen=True)
class Preset:
    """A size: corpus sizes, the Chinese character budget and, for tiny, fewer dialects."""

    sizes: Sizes
    chinese_vocabulary: int
    dialects: dict[str, tuple[str, ...]] | None = None  # language set -> dialects used


def _pools(english: tuple[int, int, int], chinese: tuple[int, int, int]) -> dict:
    """Sentence pool sizes per language from (train, dev, test) counts."""
    return {
        language: dict(zip(SPLITS, counts, strict=True))
        for language, counts in (("en", english), ("zh", chinese))
    }


PRESETS: dict[str, Preset] = {
    # CI smoke tests: 2 dialects, 14 utterances each, well under 20 s to synthesise.
    "tiny": Preset(
        Sizes(
            train_utterances=16,
            train_utterances_per_speaker=4,
            dev_speakers=1,
            dev_utterances_per_speaker=2,
            test_speakers=2,
            test_utterances_per_speaker=2,
            sentence_pools=_pools((8, 2, 3), (8, 2, 3)),
        ),
        chinese_vocabulary=300,
        dialects={
            "english-accents": ("en-us", "en-gb-scotland"),
            "chinese": ("cmn", "yue"),
            "all": ("en-us", "cmn"),
        },
    ),
    # Trains a baseline and a dialect-aware model on 2 CPU cores in minutes: 2,880 train
    # utterances of 1–3 s (~2 h) whatever the dialect count, 100 test utterances a dialect
    # from 10 held-out speakers (each a voice variant of its own).
    "default": Preset(
        Sizes(
            train_utterances=2880,
            train_utterances_per_speaker=60,
            dev_speakers=2,
            dev_utterances_per_speaker=20,
            test_speakers=10,
            test_utterances_per_speaker=10,
            sentence_pools=_pools((300, 30, 50), (1500, 100, 200)),
        ),
        chinese_vocabulary=300,
    ),
    # For GPUs: 40,000 train utterances (~25 h), 400 test utterances a dialect.
    "full": Preset(
        Sizes(
            train_utterances=40000,
            train_utterances_per_speaker=100,
            dev_speakers=4,
            dev_utterances_per_speaker=50,
            test_speakers=10,
            test_utterances_per_speaker=40,
            sentence_pools=_pools((300, 40, 70), (20000, 500, 1000)),
        ),
        chinese_vocabulary=1000,
    ),
}

SIZE_FIELDS = (
    "train_utterances",
    "train_utterances_per_speaker",
    "dev_speakers",
    "dev_utterances_per_speaker",
    "test_speakers",
    "test_utterances_per_speaker",
)


@dataclass(frozen=True)
class EspeakDialectsConfig:
    """Which dialects, how big, which seed. Size fields left at None come from ``size``.

    ``languages``: "english-accents" (en-us, en-gb, en-gb-scotland, en-gb-x-rp,
    en-gb-x-gbclan, en-gb-x-gbcwmd, en-029, en-us-nyc), "chinese" (cmn, yue) or "all".
    ``dialects``: a subset of those by name (empty: all of them; tiny uses two).
    ``imbalance``: the majority dialect's share of the train utterances (e.g. 0.8; None:
    balanced); the others share the rest evenly; dev and test stay balanced.
    ``majority_dialect``: which dialect is the majority (default: the first).
    Counts of speakers and utterances per speaker are per dialect; ``train_utterances`` is
    the train split's total; ``*_sentences`` set the size of every language's sentence pool
    for that split. ``chinese_vocabulary``: Chinese sentences use only this many of the most
    frequent characters (0: no limit). ``workers``: espeak-ng processes run at once.
    """

    languages: Literal["english-accents", "chinese", "all"] = "english-accents"
    size: Literal["tiny", "default", "full"] = "default"
    dialects: tuple[str, ...] = ()
    seed: int = 0
    imbalance: float | None = None
    majority_dialect: str | None = None
    train_utterances: int | None = None
    train_utterances_per_speaker: int | None = None
    dev_speakers: int | None = None
    dev_utterances_per_speaker: int | None = None
    test_speakers: int | None = None
    test_utterances_per_speaker: int | None = None
    train_sentences: int | None = None
    dev_sentences: int | None = None
    test_sentences: int | None = None
    chinese_vocabulary: int | None = None
    workers: int = 2
    progress: bool = True

    def __post_init__(self) -> None:
        for name in (*SIZE_FIELDS, "train_sentences", "dev_sentences", "test_sentences"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} is {value}; it must be at least 1 (or unset)")
        if self.chinese_vocabulary is not None and self.chinese_vocabulary < 0:
            raise ValueError("chinese_vocabulary must be 0 (no limit) or a positive count")
        if self.workers < 1:
            raise ValueError(f"workers is {self.workers}; it must be at least 1")
        dialects = self.selected_dialects()  # raises for unknown names
        self._check_imbalance([dialect.name for dialect in dialects])

    def selected_dialects(self) -> tuple[Dialect, ...]:
        preset_dialects = PRESETS[self.size].dialects
        names = self.dialects or (preset_dialects or {}).get(self.languages, ())
        return select_dialects(self.languages, names)

    def _check_imbalance(self, names: list[str]) -> None:
        if self.majority_dialect is not None and self.majority_dialect not in names:
            raise ValueError(f"majority_dialect '{self.majority_dialect}' is not one of {names}")
        if self.imbalance is None:
            return
        if len(names) < 2:
            raise ValueError("imbalance needs at least two dialects")
        if not 1 / len(names) <= self.imbalance < 1:
            raise ValueError(
                f"imbalance is {self.imbalance}; with {len(names)} dialects it must be at least "
                f"{1 / len(names):.3g} (balanced) and below 1 — e.g. 0.8, or unset it"
            )


class EspeakDialects:
    """The ``espeak-dialects`` corpus (a ``voxtext.protocols.Corpus``)."""

    def __init__(self, config: EspeakDialectsConfig) -> None:
        self.config = config
        self.dialects = config.selected_dialects()
        self.majority = config.majority_dialect or self.dialects[0].name

    def sizes(self) -> Sizes:
        """The preset's sizes with the config's overrides applied."""
        preset = PRESETS[self.config.size].sizes
        values = {name: getattr(self.config, name) or getattr(preset, name) for name in SIZE_FIELDS}
        pools = {}
        for language, by_split in preset.sentence_pools.items():
            pools[language] = {
                split: getattr(self.config, f"{split}_sentences") or by_split[split]
                for split in SPLITS
            }
        return Sizes(**values, sentence_pools=pools)

    def chinese_vocabulary(self) -> int | None:
        chosen = self.config.chinese_vocabulary
        if chosen is None:
            chosen = PRESETS[self.config.size].chinese_vocabulary
        return chosen or None

    def settings(self) -> dict[str, Any]:
        """Every setting that changes the corpus's content (not workers or progress)."""
        languages = sorted({dialect.language for dialect in self.dialects})
        sizes = asdict(self.sizes())
        sizes["sentence_pools"] = {
            language: sizes["sentence_pools"][language] for language in languages
        }
        return {
            "format": FORMAT_VERSION,
            "languages": self.config.languages,
            "size": self.config.size,
            "dialects": [dialect.name for dialect in self.dialects],
            "seed": self.config.seed,
            "imbalance": self.config.imbalance,
            "majority_dialect": self.majority if self.config.imbalance is not None else None,
            "sizes": sizes,
            "chinese_vocabulary": self.chinese_vocabulary() if "zh" in languages else None,
            "sources": source_fingerprint(),
        }

    def corpus_dir(self, out_dir: Path) -> Path:
        settings = self.settings()
        key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
        return Path(out_dir) / f"espeak-dialects-{self.config.languages}-{self.config.size}-{key}"

    def plan(self) -> list[PlannedUtterance]:
        """Every utterance the corpus will hold (reads the sentence sources; no audio)."""
        languages = {dialect.language for dialect in self.dialects}
        sentences: dict[str, list[str]] = {}
        if "en" in languages:
            sentences["en"] = english_sentences()
        if "zh" in languages:
            sentences["zh"] = chinese_sentences(*CHINESE_CLAUSE_LENGTH, self.chinese_vocabulary())
        return plan_corpus(
            self.dialects,
            sentences,
            self.sizes(),
            self.config.seed,
            self.config.imbalance,
            self.majority,
        )

    def prepare(self, out_dir: Path) -> CorpusSplits:
        """Synthesise the corpus under ``out_dir`` (or reuse it) and return its splits."""
        corpus_dir = self.corpus_dir(out_dir)
        cached = read_complete_corpus(corpus_dir)
        if cached is not None:
            return cached
        executable = espeak_executable()
        check_voices(executable, [dialect.voice for dialect in self.dialects], ALL_VARIANTS)
        planned = self.plan()
        corpus_dir.mkdir(parents=True, exist_ok=True)
        report = synthesise_corpus(
            corpus_dir, planned, executable, self.config.workers, self.config.progress
        )
        manifests = write_manifests(corpus_dir, planned, report.samples)
        notes = self.notes(planned, report, espeak_version(executable))
        write_stamp(corpus_dir, manifests, notes)
        return CorpusSplits(manifests=manifests, synthetic=True, notes={**notes, "cache": "built"})

    def notes(
        self, planned: list[PlannedUtterance], report: SynthesisReport, version: str
    ) -> dict[str, Any]:
        """Facts for the model card: what the corpus is, its make-up and how it was made."""
        utterances: dict[str, Counter[str]] = {split: Counter() for split in SPLITS}
        speakers: dict[str, dict[str, set[str]]] = {split: {} for split in SPLITS}
        seconds = dict.fromkeys(SPLITS, 0.0)
        for utterance in planned:
            dialect = utterance.speaker.dialect.name
            utterances[utterance.split][dialect] += 1
            speakers[utterance.split].setdefault(dialect, set()).add(utterance.speaker.id)
            seconds[utterance.split] += report.samples[utterance.id] / SAMPLE_RATE
        speed = report.utterances_per_second
        return {
            "corpus": "espeak-dialects",
            "synthetic_note": SYNTHETIC_NOTE,
            "espeak_ng_version": version,
            "sample_rate": SAMPLE_RATE,
            "settings": self.settings(),
            "utterances": {split: dict(counts) for split, counts in utterances.items()},
            "speakers": {
                split: {dialect: len(ids) for dialect, ids in by_dialect.items()}
                for split, by_dialect in speakers.items()
            },
            "hours": {split: round(seconds[split] / 3600, 4) for split in SPLITS},
            "synthesis": {
                "synthesised": report.synthesised,
                "reused": report.reused,
                "seconds": round(report.seconds, 2),
                "workers": self.config.workers,
                "utterances_per_second": round(speed, 2) if speed else None,
            },
        }


def write_manifests(
    corpus_dir: Path, planned: list[PlannedUtterance], samples: dict[str, int]
) -> dict[str, Path]:
    """One manifest per split in the core JSONL format, audio paths relative to the folder."""
    by_split: dict[str, list[Utterance]] = {split: [] for split in SPLITS}
    for utterance in planned:
        speaker = utterance.speaker
        by_split[utterance.split].append(
            Utterance(
                id=utterance.id,
                audio=corpus_dir / utterance.audio,
                text=utterance.sentence.text,
                duration=round(samples[utterance.id] / SAMPLE_RATE, 4),
                speaker=speaker.id,
                groups={
                    "dialect": speaker.dialect.name,
                    "gender": speaker.gender,
                    "language": speaker.dialect.language,
                },
                extra={
                    "sentence_id": utterance.sentence.id,
                    "spoken": spoken_text(utterance),
                    "voice": f"{speaker.dialect.voice}+{speaker.variant}",
                    "pitch": speaker.pitch,
                    "speed": speaker.speed,
                    "synthetic": True,
                },
            )
        )
    manifests = {}
    for split, utterances in by_split.items():
        manifests[split] = corpus_dir / f"{split}.jsonl"
        write_manifest(manifests[split], utterances)
    return manifests


def write_stamp(corpus_dir: Path, manifests: dict[str, Path], notes: dict[str, Any]) -> None:
    """Write ``corpus.json`` last and atomically: its presence means the corpus is complete."""
    stamp = {
        "manifests": {split: path.name for split, path in manifests.items()},
        "notes": notes,
    }
    partial = corpus_dir / f".{STAMP}.partial"
    partial.write_text(json.dumps(stamp, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, corpus_dir / STAMP)


def read_complete_corpus(corpus_dir: Path) -> CorpusSplits | None:
    """The splits of a complete corpus in ``corpus_dir``, or None if anything is missing.

    Checks the stamp, that each manifest reads and holds the recorded number of utterances,
    and that every audio file exists — a cheap check that catches deleted files; the full
    check (``read_manifest`` with audio) is the data loader's.
    """
    try:
        stamp = json.loads((corpus_dir / STAMP).read_text(encoding="utf-8"))
        manifests = {split: corpus_dir / name for split, name in stamp["manifests"].items()}
        notes = stamp["notes"]
        for split, path in manifests.items():
            utterances = read_manifest(path, check_audio=False)
            expected = sum(notes["utterances"][split].values())
            if len(utterances) != expected or not all(u.audio.is_file() for u in utterances):
                return None
    except (OSError, ValueError, KeyError, TypeError, DataError):
        return None  # no stamp, or a damaged one: rebuild, reusing whole audio files
    return CorpusSplits(manifests=manifests, synthetic=True, notes={**notes, "cache": "hit"})


def create(config: EspeakDialectsConfig) -> EspeakDialects:
    """The registry factory."""
    return EspeakDialects(config)


__all__ = ["LANGUAGE_SETS", "PRESETS", "EspeakDialects", "EspeakDialectsConfig"]
