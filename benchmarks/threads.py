"""Benchmark: the trainer's thread policy on this machine (what ``voxtext.train.threads`` picks).

Runs the plain training step of ``benchmarks/train_step.py`` (Conformer-CTC, 16 x 5 s, fbank
in the step) in fresh processes, one per setting, so that environment variables OpenMP reads
when torch loads take effect: intra-op threads (1, 2, ... up to the usable cores) x OpenMP wait
policy (libgomp's default, ``OMP_WAIT_POLICY=PASSIVE``/``ACTIVE``, or any ``--policies``
such as ``GOMP_SPINCOUNT=10000``), optionally beside ``--busy`` processes
spinning on a core each (another job on the machine). Settings alternate, ``--repeats``
times; the table prints the median seconds per step with min/max, and the process's CPU time
per step split into user and system (kernel) time: spinning or sleeping threads show up there.

    python benchmarks/threads.py [--steps 4] [--repeats 3] [--busy 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {here!r})
import torch
torch.set_num_threads({threads})
import train_step
batch = train_step.make_batch()
step = train_step.plain_step(False)
step(batch)
before = resource.getrusage(resource.RUSAGE_SELF)
start = time.perf_counter()
for _ in range({steps}):
    step(batch)
wall = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"wall": wall / {steps}, "user": (after.ru_utime - before.ru_utime) / {steps},
                  "sys": (after.ru_stime - before.ru_stime) / {steps}}}))
"""

BUSY = "import time\nend = time.time() + {seconds}\nwhile time.time() < end: pass\n"


def run_setting(threads: int, policy: str, steps: int) -> dict[str, float]:
    """One fresh process; ``policy`` is "default" or ``NAME=VALUE`` for libgomp."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    if policy != "default":
        name, _, value = policy.partition("=")
        env[name] = value
    code = CHILD.format(here=str(Path(__file__).parent), threads=threads, steps=steps)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", type=int, default=0, help="spinning processes beside it")
    parser.add_argument(
        "--policies",
        nargs="+",
        default=["default", "OMP_WAIT_POLICY=PASSIVE", "OMP_WAIT_POLICY=ACTIVE"],
        help="libgomp settings to compare: default or NAME=VALUE (e.g. GOMP_SPINCOUNT=10000)",
    )
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    settings = [(t, p) for t in range(1, cores + 1) for p in args.policies]
    busy = [
        subprocess.Popen([sys.executable, "-c", BUSY.format(seconds=3600)])
        for _ in range(args.busy)
    ]
    results: dict[tuple[int, str], list[dict[str, float]]] = {s: [] for s in settings}
    load_before = os.getloadavg()[0]
    try:
        for _ in range(args.repeats):
            for threads, policy in settings:
                results[(threads, policy)].append(run_setting(threads, policy, args.steps))
    finally:
        for process in busy:
            process.kill()
            process.wait()
    load_after = os.getloadavg()[0]
    print(
        f"plain Conformer-CTC step, {cores} usable cores, {args.busy} busy processes beside it, "
        f"{args.steps} steps x {args.repeats} alternating repeats; load average "
        f"{load_before:.2f} before, {load_after:.2f} after"
    )
    print(
        f"{'threads':>7}  {'libgomp setting':<25}{'min':>7}{'median':>8}{'max':>7}"
        f"{'user s':>8}{'sys s':>7}  (per step)"
    )
    for (threads, policy), runs in results.items():
        walls = [r["wall"] for r in runs]
        user = statistics.median(r["user"] for r in runs)
        system = statistics.median(r["sys"] for r in runs)
        print(
            f"{threads:>7}  {policy:<25}{min(walls):>7.3f}"
            f"{statistics.median(walls):>8.3f}{max(walls):>7.3f}{user:>8.3f}{system:>7.3f}"
        )


if __name__ == "__main__":
    main()
