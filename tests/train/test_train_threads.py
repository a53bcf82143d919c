"""The trainer's thread and loading policy (``voxtext.train.threads``) is applied as documented."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import train_toy_task as toy

from voxtext.train import Trainer
from voxtext.train.threads import local_processes, resolve_threads, usable_cpus

CPU = torch.device("cpu")


def test_auto_caps_threads_at_the_usable_cpus_shared_by_local_ranks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert usable_cpus() == 4 and local_processes() == 2
    torch.set_num_threads(8)  # torch counting the machine's cores, not this process's share
    assert resolve_threads(toy.config(max_steps=1, threads=0), CPU).threads == 2
    torch.set_num_threads(1)  # a count the program chose is never raised
    assert resolve_threads(toy.config(max_steps=1, threads=0), CPU).threads == 1
    assert resolve_threads(toy.config(max_steps=1, threads=3), CPU).threads == 3
    assert resolve_threads(toy.config(max_steps=1, threads=None), CPU).threads is None


def test_trainer_sets_the_threads_it_was_given(tmp_path: Path) -> None:
    data = toy.make_dataset(16)
    Trainer(
        toy.config(max_steps=1, threads=2),
        toy.make_model(),
        toy.loss_fn,
        toy.make_batches(data),
        tmp_path,
    )
    assert torch.get_num_threads() == 2
    Trainer(
        toy.config(max_steps=1, threads=None),
        toy.make_model(),
        toy.loss_fn,
        toy.make_batches(data),
        tmp_path / "untouched",
    )
    assert torch.get_num_threads() == 2


def test_trainer_overrides_loader_workers_and_pins_only_on_cuda(tmp_path: Path) -> None:
    data = toy.make_dataset(16)
    batches = toy.make_batches(data)
    batches.pin_memory = True
    Trainer(
        toy.config(max_steps=2, num_workers=1), toy.make_model(), toy.loss_fn, batches, tmp_path
    ).fit()
    assert batches.num_workers == 1 and batches.pin_memory is False  # CPU: nothing to copy
    kept = toy.make_batches(data, num_workers=0)
    Trainer(toy.config(max_steps=1), toy.make_model(), toy.loss_fn, kept, tmp_path / "kept")
    assert kept.num_workers == 0  # num_workers=None keeps the batch source's own
    assert resolve_threads(toy.config(max_steps=1), torch.device("cuda")).pin_memory is True
    assert (
        resolve_threads(toy.config(max_steps=1, pin_memory=False), torch.device("cuda")).pin_memory
        is False
    )


def test_negative_counts_are_config_errors() -> None:
    with pytest.raises(ValueError, match="threads: must be >= 0"):
        toy.config(max_steps=1, threads=-1)
    with pytest.raises(ValueError, match="num_workers: must be >= 0"):
        toy.config(max_steps=1, num_workers=-2)


@pytest.mark.parametrize(
    ("environment", "torch_first", "expected"),
    [({}, False, "PASSIVE"), ({}, True, "unset"), ({"OMP_WAIT_POLICY": "ACTIVE"}, False, "ACTIVE")],
)
def test_importing_voxtext_before_torch_makes_idle_openmp_threads_sleep(
    environment: dict[str, str], torch_first: bool, expected: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | environment
    imports = "import torch, voxtext" if torch_first else "import voxtext, torch"
    code = f"{imports}; import os; print(os.environ.get('OMP_WAIT_POLICY', 'unset'))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == expected
