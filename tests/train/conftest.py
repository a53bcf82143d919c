"""Makes the toy task (``train_toy_task.py``) importable by the trainer's tests and scripts, and
runs them on one torch thread."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """The toy models are tiny: more threads only add contention on the shared 2-core machines."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
