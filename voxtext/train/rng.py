"""Capture and restore every random number generator a training step can draw from.

States are stored as tensors, ints and tuples only, so ``torch.load(weights_only=True)`` reads
them back (numpy's key array becomes an int64 tensor).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed python's, numpy's and torch's (CPU and every GPU) global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def capture_rng_state(generator: torch.Generator | None = None) -> dict[str, Any]:
    """The state of the global generators (and of ``generator``, the task's one)."""
    numpy_state: Any = np.random.get_state(legacy=True)  # a tuple: legacy=True
    kind, key, pos, has_gauss, cached_gauss = numpy_state
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (
            str(kind),
            torch.from_numpy(key.astype(np.int64)),
            int(pos),
            int(has_gauss),
            float(cached_gauss),
        ),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    if generator is not None:
        state["task"] = generator.get_state()
    return state


def restore_rng_state(state: dict[str, Any], generator: torch.Generator | None = None) -> None:
    """Put back what ``capture_rng_state`` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, key, pos, has_gauss, cached_gauss = state["numpy"]
    np.random.set_state((kind, key.numpy().astype(np.uint32), pos, has_gauss, cached_gauss))
    torch.set_rng_state(state["torch"])
    cuda = state["cuda"]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    if generator is not None and "task" in state:
        generator.set_state(state["task"])
