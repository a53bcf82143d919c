"""Checkpoints on disk: written atomically, found through pointer files, loaded with clear errors.

A run folder holds::

    checkpoint-<step>/model.safetensors   the weights (safetensors: no pickle, no code on load)
    checkpoint-<step>/metadata.json       config, the task's metadata, step, epoch, metrics
    checkpoint-<step>/trainer_state.pt    optimizer, scaler, batch position, RNG states
    latest, best                          one line each: the name of a checkpoint folder
    averaged/                             weights averaged over several checkpoints (optional,
                                          without trainer_state.pt)
    metrics.jsonl                         the training log

A checkpoint is written into a hidden temporary folder and renamed into place, and only then
does ``latest`` move (itself replaced atomically), so a crash at any moment leaves ``latest``
naming a complete checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal

import safetensors.torch
import torch

from voxtext.errors import VoxtextError

MODEL_FILE = "model.safetensors"
METADATA_FILE = "metadata.json"
STATE_FILE = "trainer_state.pt"
CHECKPOINT_PREFIX = "checkpoint-"
Pointer = Literal["latest", "best"]
Which = Literal["latest", "best", "averaged"]
AVERAGED_FOLDER = "averaged"


class CheckpointError(VoxtextError):
    """A checkpoint is missing, incomplete or unreadable."""


def save_checkpoint(
    folder: Path,
    model_state: Mapping[str, torch.Tensor],
    metadata: Mapping[str, Any],
    trainer_state: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint to ``folder`` atomically (replacing one already there)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".tmp-{folder.name}-", dir=folder.parent))
    try:
        safetensors.torch.save_file(_plain_tensors(model_state), str(temporary / MODEL_FILE))
        (temporary / METADATA_FILE).write_text(
            json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        if trainer_state is not None:
            torch.save(dict(trainer_state), temporary / STATE_FILE)
        for path in temporary.iterdir():
            _fsync(path)
        os.chmod(temporary, 0o755)  # mkdtemp makes it private
        _replace_folder(temporary, folder)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return folder


def checkpoint_folder(run_dir: Path, step: int) -> Path:
    return run_dir / f"{CHECKPOINT_PREFIX}{step}"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete ``checkpoint-<step>`` folders of a run, oldest step first."""
    found = []
    for path in run_dir.glob(f"{CHECKPOINT_PREFIX}*"):
        step = path.name.removeprefix(CHECKPOINT_PREFIX)
        if step.isdigit() and (path / MODEL_FILE).is_file() and (path / METADATA_FILE).is_file():
            found.append((int(step), path))
    return [path for _, path in sorted(found)]


def write_pointer(run_dir: Path, name: Pointer, target: Path) -> None:
    """Make ``run_dir/name`` name ``target`` (a folder inside ``run_dir``), atomically."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=run_dir)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(target.name + "\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, run_dir / name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def read_pointer(run_dir: Path, name: Pointer) -> Path | None:
    """The folder ``run_dir/name`` names, or None when there is no such pointer."""
    pointer = run_dir / name
    if not pointer.is_file():
        return None
    target = run_dir / pointer.read_text(encoding="utf-8").strip()
    if not (target / MODEL_FILE).is_file():
        raise CheckpointError(
            f"{pointer}: names {target}, which is missing or has no {MODEL_FILE}; "
            f"point it at one of: {', '.join(p.name for p in list_checkpoints(run_dir)) or '-'}"
        )
    return target


def resolve_checkpoint(path: str | os.PathLike[str], which: Which = "best") -> Path:
    """A checkpoint folder itself, or a run folder's ``latest``/``best`` one (through the
    pointer files) or its ``averaged`` folder."""
    path = Path(path)
    if (path / MODEL_FILE).is_file():
        return path
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint or run folder")
    if path.is_dir():
        if which == "averaged":
            target: Path | None = path / AVERAGED_FOLDER
            if not (path / AVERAGED_FOLDER / MODEL_FILE).is_file():
                raise CheckpointError(
                    f"{path / AVERAGED_FOLDER}: no averaged checkpoint here (train with "
                    "average_last_n or average_best_n)"
                )
        else:
            target = read_pointer(path, which)
        if target is not None:
            return target
        if (path / METADATA_FILE).is_file():
            raise CheckpointError(f"{path}: incomplete checkpoint, {MODEL_FILE} is missing")
        known = [p.name for p in list_checkpoints(path)]
        pointers = [p for p in ("latest", "best") if (path / p).is_file()]
        raise CheckpointError(
            f"{path}: not a checkpoint (no {MODEL_FILE}) and no '{which}' pointer; "
            f"pointers here: {pointers or '-'}; checkpoints here: {known or '-'}"
        )
    raise CheckpointError(f"{path}: expected a checkpoint folder, found a file")


def load_checkpoint(
    path: str | os.PathLike[str], *, which: Which = "best", device: str = "cpu"
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(state_dict, metadata)`` of a checkpoint folder, or of a run folder's ``which`` one.

    ``metadata["metadata"]`` is what the task passed to the trainer (tokenizer, normaliser,
    plugin names and versions); ``metadata["config"]`` the trainer config.
    """
    folder = resolve_checkpoint(path, which)
    model_file = folder / MODEL_FILE
    try:
        state = safetensors.torch.load_file(str(model_file), device=device)
    except Exception as exc:  # safetensors raises its own error types for truncated files
        raise CheckpointError(
            f"{model_file}: cannot read the weights ({exc}); the file is corrupt or was cut "
            "short: use another checkpoint of the run"
        ) from exc
    return state, read_metadata(folder)


def read_metadata(folder: Path) -> dict[str, Any]:
    path = folder / METADATA_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: missing; {folder} is not a complete checkpoint") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc}); the file is corrupt") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def load_trainer_state(folder: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """The optimizer/scaler/sampler/RNG state of a training checkpoint (tensors only, no code)."""
    path = folder / STATE_FILE
    if not path.is_file():
        raise CheckpointError(
            f"{path}: missing; {folder} holds weights only and cannot resume training "
            "(start a new run from its weights instead)"
        )
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot read the trainer state ({exc})") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a dict, got {type(state).__name__}")
    return state


def prune_checkpoints(run_dir: Path, keep_last: int, protect: Collection[Path]) -> list[Path]:
    """Delete all but the newest ``keep_last`` checkpoints and those in ``protect``."""
    checkpoints = list_checkpoints(run_dir)
    keep = {p.resolve() for p in checkpoints[-keep_last:]} | {p.resolve() for p in protect}
    removed = []
    for path in checkpoints:
        if path.resolve() not in keep:
            # Rename first: a crash mid-delete leaves a hidden folder, not a broken checkpoint.
            doomed = path.with_name(f".deleting-{path.name}")
            os.replace(path, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
            removed.append(path)
    return removed


def remove_stale_temporaries(run_dir: Path) -> None:
    """Delete the hidden folders a crashed save or prune left behind."""
    for pattern in (".tmp-*", ".deleting-*"):
        for path in run_dir.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)


def _plain_tensors(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CPU, contiguous tensors; tied weights are copied, as safetensors refuses shared memory."""
    out = {name: tensor.detach().to("cpu").contiguous() for name, tensor in state.items()}
    _clone_overlapping(out)
    return out


def _clone_overlapping(tensors: dict[str, torch.Tensor]) -> None:
    """Give every tensor that shares a storage with another its own copy."""
    by_storage: dict[int, list[str]] = {}
    for name, value in tensors.items():
        by_storage.setdefault(value.untyped_storage().data_ptr(), []).append(name)
    for names in by_storage.values():
        for name in names[1:]:
            tensors[name] = tensors[name].clone()


def _fsync(path: Path) -> None:
    with open(path, "rb") as stream:
        os.fsync(stream.fileno())


def _replace_folder(source: Path, target: Path) -> None:
    """Move ``source`` to ``target``; an existing ``target`` is moved aside, then deleted."""
    if target.exists():
        aside = target.with_name(f".deleting-{target.name}")
        shutil.rmtree(aside, ignore_errors=True)
        os.replace(target, aside)
        os.replace(source, target)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(source, target)
