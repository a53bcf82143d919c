"""Checkpoint averaging: the mean of the weights of several checkpoints of one run.

Averaging the last (or best) few checkpoints is a cheap, reliable gain for CTC and
Transformer models (ESPnet, icefall and fairseq all do it). Floating-point tensors are
averaged (accumulated in float64); integer buffers, such as BatchNorm's
``num_batches_tracked``, are taken from the last checkpoint given.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from voxtext.train.checkpoint import (
    AVERAGED_FOLDER,
    CheckpointError,
    load_checkpoint,
    read_metadata,
    save_checkpoint,
)


def average_checkpoints(paths: Sequence[str | os.PathLike[str]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of the checkpoints' float tensors (ints from the last one)."""
    if not paths:
        raise CheckpointError("average_checkpoints: no checkpoints given")
    sums: dict[str, torch.Tensor] = {}
    last: dict[str, torch.Tensor] = {}
    for index, path in enumerate(paths):
        state, _ = load_checkpoint(path, which="latest")
        if index == 0:
            sums = {k: v.to(torch.float64) for k, v in state.items() if v.is_floating_point()}
        else:
            _check_same_tensors(Path(paths[index - 1]), last, Path(path), state)
            for name in sums:
                sums[name] += state[name].to(torch.float64)
        last = state
    count = len(paths)
    return {
        name: (sums[name] / count).to(value.dtype) if name in sums else value.clone()
        for name, value in last.items()
    }


def write_averaged_checkpoint(
    run_dir: Path, paths: Sequence[Path], extra_metadata: Mapping[str, Any] | None = None
) -> Path:
    """Average ``paths`` into ``run_dir/averaged``, with the last one's metadata."""
    state = average_checkpoints(paths)
    metadata = read_metadata(Path(paths[-1]))
    metadata["averaged_from"] = [Path(p).name for p in paths]
    metadata.update(extra_metadata or {})
    return save_checkpoint(run_dir / AVERAGED_FOLDER, state, metadata)


def _check_same_tensors(
    previous: Path, reference: Mapping[str, torch.Tensor], other: Path, state: Mapping[str, Any]
) -> None:
    """Fail, naming both checkpoints, when they do not hold the same tensors."""
    missing = sorted(set(reference) ^ set(state))
    if missing:
        raise CheckpointError(
            f"average_checkpoints: {other} and {previous} hold different tensors "
            f"(e.g. {', '.join(missing[:5])}); average checkpoints of one model only"
        )
    for name, value in reference.items():
        if value.shape != state[name].shape:
            raise CheckpointError(
                f"average_checkpoints: '{name}' is {tuple(state[name].shape)} in {other} but "
                f"{tuple(value.shape)} in {previous}"
            )
