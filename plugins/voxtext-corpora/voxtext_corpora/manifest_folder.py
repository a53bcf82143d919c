"""``manifest-folder``: a user's own corpus, in voxtext manifests or converted to them.

Layouts (``layout = "auto"`` picks by the files present):
- ``voxtext``: ``train.jsonl``, ``dev.jsonl``, ``test.jsonl`` in the core manifest format;
  validated with ``voxtext.data.read_manifest`` and used where they are.
- ``common-voice``: ``train.tsv``, ``dev.tsv``, ``test.tsv`` and ``clips/`` (``common_voice.py``).
- ``kespeech``: Kaldi-style subset folders (``kespeech.py``).
Converted manifests go to ``<out_dir>/manifest-folder-<layout>-<key>/`` with a stamp of the
source files' sizes and times: a later ``prepare`` reuses them until a source file changes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from voxtext.data import Utterance, read_manifest, write_manifest
from voxtext.errors import ConfigError, DataError
from voxtext.protocols import CorpusSplits
from voxtext_corpora.common_voice import convert_common_voice
from voxtext_corpora.kespeech import REQUIRED_FILES, convert_kespeech

SPLITS = ("train", "dev", "test")
STAMP = "source.json"


@dataclass(frozen=True)
class ManifestFolderConfig:
    """``path``: the corpus folder (required). ``layout``: see the module docstring.
    ``check_audio``: open every audio file of a voxtext layout (off: check the text only).
    ``dialect_column``: the Common Voice column for ``groups.dialect`` (unset: ``accents``
    or ``accent``). ``kespeech_train`` / ``_dev`` / ``_test``: the KeSpeech subset folders
    each split joins."""

    path: Path | None = None
    layout: Literal["auto", "voxtext", "common-voice", "kespeech"] = "auto"
    check_audio: bool = True
    dialect_column: str | None = None
    kespeech_train: tuple[str, ...] = ("train_phase1", "train_phase2")
    kespeech_dev: tuple[str, ...] = ("dev_phase1", "dev_phase2")
    kespeech_test: tuple[str, ...] = ("test",)

    def __post_init__(self) -> None:
        if self.path is None:
            raise ValueError(
                "path is not set — give the corpus folder, e.g. --set corpus.path=data/my_corpus"
            )
        if not Path(self.path).is_dir():
            raise ValueError(f"path {self.path} is not a folder — give the corpus folder")


class ManifestFolder:
    """The ``manifest-folder`` corpus (a ``voxtext.protocols.Corpus``)."""

    def __init__(self, config: ManifestFolderConfig) -> None:
        self.config = config
        self.folder = Path(config.path or ".").absolute()
        self.layout = config.layout if config.layout != "auto" else detect_layout(self.folder)

    def prepare(self, out_dir: Path) -> CorpusSplits:
        """Validate (voxtext layout) or convert (others) and return the splits."""
        if self.layout == "voxtext":
            return self._validated_voxtext()
        signature = self._source_signature()
        key = hashlib.sha256(json.dumps(signature, sort_keys=True).encode()).hexdigest()[:12]
        target = Path(out_dir) / f"manifest-folder-{self.layout}-{key}"
        cached = _read_stamp(target, signature)
        if cached is not None:
            return cached
        if self.layout == "common-voice":
            files = {split: f"{split}.tsv" for split in SPLITS}
            splits = convert_common_voice(self.folder, files, self.config.dialect_column)
        else:
            splits = convert_kespeech(self.folder, self._kespeech_subsets())
        manifests = {}
        for split, utterances in splits.items():
            manifests[split] = target / f"{split}.jsonl"
            write_manifest(manifests[split], utterances)
        notes = self._notes(splits)
        _write_stamp(target, signature, manifests, notes)
        return CorpusSplits(manifests=manifests, synthetic=False, notes=notes)

    def _kespeech_subsets(self) -> dict[str, tuple[str, ...]]:
        return {
            "train": self.config.kespeech_train,
            "dev": self.config.kespeech_dev,
            "test": self.config.kespeech_test,
        }

    def _validated_voxtext(self) -> CorpusSplits:
        manifests = {split: self.folder / f"{split}.jsonl" for split in SPLITS}
        missing = [path.name for path in manifests.values() if not path.is_file()]
        if missing:
            raise DataError(
                f"{self.folder}: lacks {missing} — a voxtext corpus folder holds train.jsonl, "
                "dev.jsonl and test.jsonl (see voxtext/data/manifest.py for the format)"
            )
        splits = {
            split: read_manifest(path, check_audio=self.config.check_audio)
            for split, path in manifests.items()
        }
        return CorpusSplits(manifests=manifests, synthetic=False, notes=self._notes(splits))

    def _notes(self, splits: dict[str, list[Utterance]]) -> dict[str, Any]:
        return {
            "corpus": "manifest-folder",
            "layout": self.layout,
            "source": str(self.folder),
            "utterances": {
                split: dict(Counter(u.groups.get("dialect", "unspecified") for u in utterances))
                for split, utterances in splits.items()
            },
            "hours": {
                split: round(sum(u.duration for u in utterances) / 3600, 4)
                for split, utterances in splits.items()
            },
        }

    def _source_signature(self) -> dict[str, Any]:
        """What the conversion depends on: settings, and each metadata file's size and time."""
        if self.layout == "common-voice":
            files = sorted(self.folder.glob("*.tsv"))
        else:
            files = sorted(
                p
                for name in (*REQUIRED_FILES, "utt2spk", "spk2gender")
                for p in self.folder.rglob(name)
            )
        return {
            "layout": self.layout,
            "source": str(self.folder),
            "dialect_column": self.config.dialect_column,
            "subsets": self._kespeech_subsets() if self.layout == "kespeech" else None,
            "files": [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in files],
        }


def detect_layout(folder: Path) -> str:
    """Which layout ``folder`` holds, by the files in it; ConfigError saying what was expected."""
    if (folder / "train.jsonl").is_file():
        return "voxtext"
    if (folder / "train.tsv").is_file():
        return "common-voice"
    if next(folder.rglob("wav.scp"), None) is not None:
        return "kespeech"
    raise ConfigError(
        f"{folder}: cannot tell the corpus layout — expected train.jsonl/dev.jsonl/test.jsonl "
        "(voxtext), train.tsv/dev.tsv/test.tsv with clips/ (Common Voice), or Kaldi folders "
        "with wav.scp (KeSpeech); set layout if the folder holds one of these elsewhere"
    )


def _write_stamp(
    target: Path, signature: dict[str, Any], manifests: dict[str, Path], notes: dict[str, Any]
) -> None:
    stamp = {"signature": signature, "manifests": {s: p.name for s, p in manifests.items()}}
    stamp["notes"] = notes
    partial = target / f".{STAMP}.partial"
    partial.write_text(json.dumps(stamp, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, target / STAMP)


def _read_stamp(target: Path, signature: dict[str, Any]) -> CorpusSplits | None:
    """The converted splits if ``target`` holds a conversion of exactly this source."""
    try:
        stamp = json.loads((target / STAMP).read_text(encoding="utf-8"))
        if stamp["signature"] != json.loads(json.dumps(signature)):
            return None
        manifests = {split: target / name for split, name in stamp["manifests"].items()}
        if not all(path.is_file() for path in manifests.values()):
            return None
        return CorpusSplits(manifests=manifests, synthetic=False, notes=stamp["notes"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def create(config: ManifestFolderConfig) -> ManifestFolder:
    """The registry factory."""
    return ManifestFolder(config)
