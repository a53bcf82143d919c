"""Two processes under torchrun (gloo on CPU): same weights on both ranks, and the first step's
loss normalisation equal to one process on the same global batch."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import train_toy_task as toy

from voxtext.train import load_checkpoint

SCRIPT = Path(__file__).with_name("train_ddp_script.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def two_rank_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not dist.is_available():
        pytest.skip("this torch build has no torch.distributed")
    out = tmp_path_factory.mktemp("ddp")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "1",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        str(SCRIPT),
        str(out),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, f"torchrun failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return out


def test_both_ranks_end_with_identical_weights(two_rank_run: Path) -> None:
    ranks = [torch.load(two_rank_run / f"final_rank{r}.pt") for r in (0, 1)]
    assert ranks[0]["steps"] == ranks[1]["steps"] == 30
    for name, value in ranks[0]["weights"].items():
        assert torch.equal(value, ranks[1]["weights"][name]), name
    saved, _ = load_checkpoint(two_rank_run / "run", which="latest")
    for name, value in saved.items():
        assert torch.equal(value, ranks[0]["weights"][name]), name
    train = [
        r for r in toy.read_jsonl(two_rank_run / "run" / "metrics.jsonl") if r["kind"] == "train"
    ]
    assert train[-1]["loss"] < train[0]["loss"]


def test_first_step_matches_one_process_on_the_global_batch(two_rank_run: Path) -> None:
    steps = [torch.load(two_rank_run / f"step_rank{r}.pt") for r in (0, 1)]
    indices = [i for step in steps for batch in step["batches"] for i in batch]
    assert len(indices) == len(set(indices))  # the ranks saw disjoint items
    data = toy.make_dataset(64)
    frames = [sum(len(data[i]["x"]) for b in step["batches"] for i in b) for step in steps]
    assert frames[0] != frames[1]  # so dividing by a rank's own frames would be caught
    model = toy.make_model(dropout=0.0)
    out = toy.loss_fn(model, toy.collate([data[i] for i in indices]), torch.Generator())
    loss = out.loss_sum / out.units
    loss.backward()
    assert len(steps[0]["batches"]) == 2  # accumulation over two micro-batches per rank
    for step in steps:
        assert step["loss"] == pytest.approx(float(loss.detach()), abs=1e-6)
        for name, parameter in model.named_parameters():
            torch.testing.assert_close(step["delta"][name], parameter.grad, atol=1e-6, rtol=0)
