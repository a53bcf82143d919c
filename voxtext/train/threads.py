"""How training uses the machine: intra-op threads, loader workers, pinned memory, OpenMP waits.

The policy (``TrainerConfig.threads``, ``num_workers``, ``pin_memory``), applied when a
``Trainer`` is built:

- **Intra-op threads.** ``threads=0`` (auto) caps torch's threads at the CPUs this process may
  run on (``os.sched_getaffinity``: a container's or ``taskset``'s share, not the machine's
  core count torch assumes) divided by the training processes on this machine
  (``LOCAL_WORLD_SIZE`` under torchrun). It never raises a count the program already chose
  (``torch.set_num_threads``, ``OMP_NUM_THREADS``): it only removes oversubscription.
  ``threads=N`` sets N; ``None`` leaves torch alone.
- **OpenMP waiting.** torch's CPU kernels run on libgomp, whose idle threads spin at the end
  of each parallel region before they sleep. When another process holds a core, the
  spinning thread and the one it waits for take turns on it: measured with
  ``benchmarks/threads.py`` on 2 cores beside other jobs (load average ~3), the
  Conformer-CTC step took 3.37 s and 1.61 s (two runs, medians) with 2 threads and libgomp's
  default against 0.44 s and 0.32 s with ``OMP_WAIT_POLICY=PASSIVE`` (idle threads sleep at
  once), and 0.36 s and 0.28 s with 1 thread; beside one process spinning on a core, 5.77 s
  against 0.57 s. The price on an idle machine: 0.226 s against 0.183 s (+23 %; a short spin,
  ``GOMP_SPINCOUNT=10000``, cost +7 % idle but still 1.23 s beside the spinning process).
  On machines shared like these the 10x worst case outweighs the 23 %; a dedicated machine
  can export ``OMP_WAIT_POLICY=ACTIVE`` (the environment's choice is kept). libgomp
  reads the policy once, when torch is loaded, so ``import voxtext`` sets
  ``OMP_WAIT_POLICY=PASSIVE`` when torch is not loaded yet and the environment does not
  already choose (a program that imports torch first keeps libgomp's default).
- **Loader workers.** ``num_workers=None`` keeps the batch source's own setting (the data
  config's ``num_workers``, 0 by default); an int overrides it for ``SampledBatches``.
  Workers load and collate the next batches in other processes while the model computes.
  On 2 cores the default stays 0: loading and collating ASR batches costs ~0.2 ms per second
  of audio (~15 ms, ~6 %, of the 16 x 5 s Conformer step), while one worker made a 40-step
  tone-corpus training slower (7.5 s against 3.5 s, medians of 3), since the DataLoader
  starts its worker again every epoch and the worker competes with both compute threads.
  With more cores than compute threads, set ``num_workers`` so loading overlaps compute.
- **Pinned memory.** ``pin_memory=None`` pins batches when training on CUDA, so the
  non-blocking copy to the GPU overlaps compute; on CPU there is nothing to copy.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch

from voxtext.train.config import TrainerConfig

logger = logging.getLogger("voxtext.train")


@dataclass(frozen=True)
class ThreadPlan:
    """The resolved policy: ``threads`` None leaves torch's count; ``num_workers`` None keeps
    the batch source's."""

    threads: int | None
    num_workers: int | None
    pin_memory: bool


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def local_processes() -> int:
    """Training processes sharing this machine (torchrun's ``LOCAL_WORLD_SIZE``, else 1)."""
    try:
        return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        return 1


def resolve_threads(config: TrainerConfig, device: torch.device) -> ThreadPlan:
    """The thread and loading plan ``config`` asks for on ``device``."""
    if config.threads is None:
        threads = None
    elif config.threads == 0:
        share = max(1, usable_cpus() // local_processes())
        threads = min(torch.get_num_threads(), share)
    else:
        threads = config.threads
    pin = config.pin_memory if config.pin_memory is not None else device.type == "cuda"
    return ThreadPlan(threads=threads, num_workers=config.num_workers, pin_memory=pin)


def apply_threads(plan: ThreadPlan) -> None:
    """Set torch's intra-op threads to the plan's (no-op when it leaves them alone)."""
    if plan.threads is not None and plan.threads != torch.get_num_threads():
        torch.set_num_threads(plan.threads)
    logger.info(
        "threads: %d intra-op, OpenMP wait policy %s; loader workers %s, pin_memory %s",
        torch.get_num_threads(),
        wait_policy(),
        "from the batch source" if plan.num_workers is None else plan.num_workers,
        plan.pin_memory,
    )


def wait_policy() -> str:
    """The OpenMP wait policy in this process's environment (what libgomp read at load)."""
    return os.environ.get("OMP_WAIT_POLICY", "libgomp default (spin, then sleep)")
