"""`voxtext train` is the same entry point on one process and under torchrun: two CPU
processes (gloo) train the toy recogniser, rank 0 writes the checkpoint, and it transcribes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import torch.distributed as dist

from voxtext.asr import load_recognizer
from voxtext.testing import write_tone_corpus

CONFIG = """
out_dir = "{out}"
[data]
train = "{train}"
dev = "{train}"
max_batch_seconds = 8.0
[features]
name = "fbank"
num_mel_bins = 40
[encoder]
name = "conformer"
d_model = 32
num_heads = 2
ffn_dim = 64
num_layers = 1
conv_kernel_size = 7
subsampling = 2
[trainer]
max_steps = 12
lr = 3e-3
warmup_steps = 2
progress = false
log_every_steps = 2
metric = "dev_cer"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(not dist.is_available(), reason="this torch build has no torch.distributed")
def test_voxtext_train_under_torchrun(tmp_path):
    manifest = write_tone_corpus(tmp_path / "data", n=24)
    config = tmp_path / "asr.toml"
    config.write_text(CONFIG.format(out=tmp_path / "run", train=manifest))
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
        str(free_port()),
        "-m",
        "voxtext.cli",
        "train",
        str(config),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=400, env=env)
    assert done.returncode == 0, f"torchrun failed:\n{done.stdout[-3000:]}\n{done.stderr[-4000:]}"
    assert done.stdout.count("voxtext train: 12 steps") == 2  # both ranks finished the run
    log = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    losses = [r["loss"] for r in log if r["kind"] == "train"]
    assert losses and losses[-1] < losses[0]
    recognizer = load_recognizer(tmp_path / "run")
    assert len(recognizer.transcribe([manifest.parent / "tone0000.wav"])) == 1
