"""Conformer forward+backward step time: voxtext's ``conformer`` vs ``torchaudio.models.Conformer``.

Same size as BENCHMARKS.md's reference (4 layers, d=80, 4 heads, ffn 256, kernel 31, dropout
0.1), one batch of 16 x 5 s of 80-dim features (500 frames), 2 CPU threads. The models run
alternately, round after round, and the table gives medians and the ratio to torchaudio.
torchaudio's Conformer has no front end and no positional encoding, so the like-for-like rows
use ``subsampling=1`` (a linear projection); the last rows are the real recipe model, which
subsamples x4 before the blocks.

    .venv/bin/python plugins/voxtext-encoders/benchmarks/bench_conformer_step.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torchaudio

import voxtext

BATCH, FRAMES, FEATURES = 16, 500, 80
SIZE = {"d_model": 80, "num_heads": 4, "ffn_dim": 256, "num_layers": 4, "dropout": 0.1}


def step_function(model: torch.nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> Callable:
    def step() -> None:
        model.zero_grad(set_to_none=True)
        encoded, _ = model(x, lengths)
        encoded.pow(2).mean().backward()

    return step


def candidates() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    encoders = voxtext.registry("encoders")
    peer = torchaudio.models.Conformer(
        input_dim=FEATURES,
        num_heads=4,
        ffn_dim=256,
        num_layers=4,
        depthwise_conv_kernel_size=31,
        dropout=0.1,
    )
    return {
        "torchaudio Conformer (no front end)": peer,
        "voxtext conformer, relative, subsampling=1": encoders.create(
            "conformer", **SIZE, subsampling=1, position="relative"
        ),
        "voxtext conformer, rotary, subsampling=1": encoders.create(
            "conformer", **SIZE, subsampling=1, position="rotary"
        ),
        "voxtext conformer, relative, subsampling=4": encoders.create(
            "conformer", **SIZE, subsampling=4, position="relative"
        ),
        "voxtext conformer, rotary, subsampling=4": encoders.create(
            "conformer", **SIZE, subsampling=4, position="rotary"
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.randn(BATCH, FRAMES, FEATURES)
    lengths = torch.full((BATCH,), FRAMES, dtype=torch.long)
    models = candidates()
    steps = {name: step_function(model.train(), x, lengths) for name, model in models.items()}
    for step in steps.values():  # warm-up: allocator, kernels
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    reference = statistics.median(times["torchaudio Conformer (no front end)"])
    print(
        f"batch {BATCH} x {FRAMES} frames x {FEATURES}, {args.threads} threads, "
        f"{args.rounds} rounds, forward+backward"
    )
    print(f"{'model':46} {'params':>8} {'median s':>9} {'vs torchaudio':>14}")
    for name, values in times.items():
        params = sum(p.numel() for p in models[name].parameters()) / 1e6
        median = statistics.median(values)
        print(f"{name:46} {params:7.3f}M {median:9.3f} {median / reference:13.2f}x")


if __name__ == "__main__":
    main()
