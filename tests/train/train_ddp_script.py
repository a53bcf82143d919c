"""Run under ``torchrun --nproc_per_node 2`` by test_train_distributed.py (gloo, CPU).

Part 1 takes one guarded optimizer step (plain SGD, lr 1, so the weight change is the applied
gradient) on this rank's first two batches, under DDP with accumulation. Part 2 trains the toy
task with the Trainer. Each rank saves what it ended with under OUT for the test to compare.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import train_toy_task as toy

from voxtext.train import DurationBatchSampler, Trainer
from voxtext.train.distributed import init_distributed, shutdown_distributed, wrap_model
from voxtext.train.precision import resolve_precision
from voxtext.train.step import StepRunner

MAX_BATCH_SECONDS = 4.0


def first_step(out: Path, data: list) -> None:
    ctx = init_distributed("cpu")
    sampler = DurationBatchSampler(toy.durations(data), MAX_BATCH_SECONDS, seed=0, bucket_size=16)
    batches = sampler.epoch_batches(0)[:2]
    model = toy.make_model(dropout=0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    optimizer.param_groups[0]["initial_lr"] = 1.0
    runner = StepRunner(
        wrap_model(model, ctx),
        toy.loss_fn,
        optimizer,
        resolve_precision("fp32", ctx.device),
        None,
        ctx,
        torch.Generator(),
        None,
    )
    before = toy.weights_digest(model)
    outcome = runner.step([toy.collate([data[i] for i in b]) for b in batches], 1.0)
    delta = {k: before[k] - v for k, v in model.state_dict().items()}
    torch.save(
        {"batches": batches, "delta": delta, "loss": outcome.loss_sum / outcome.units},
        out / f"step_rank{ctx.rank}.pt",
    )


def train(out: Path, data: list) -> None:
    trainer = Trainer(
        toy.config(max_steps=30, lr=3e-2, eval_every_steps=15, grad_accum_steps=2),
        toy.make_model(),
        toy.loss_fn,
        toy.make_batches(data, max_batch_seconds=MAX_BATCH_SECONDS),
        out / "run",
    )
    result = trainer.fit()
    torch.save(
        {"weights": trainer.model.state_dict(), "steps": result.steps},
        out / f"final_rank{trainer.ctx.rank}.pt",
    )


if __name__ == "__main__":
    torch.set_num_threads(1)
    out_dir = Path(sys.argv[1])
    dataset = toy.make_dataset(64)
    first_step(out_dir, dataset)
    train(out_dir, dataset)
    shutdown_distributed()
