"""Benchmark: voxtext's Trainer step vs a plain PyTorch loop, small Conformer-CTC on CPU.

Work (BENCHMARKS.md, "Training"): torchaudio.models.Conformer, 4 layers, d=80, ffn 256, 4
heads, kernel 31, after a 4x convolutional subsampling, CTC over 32 tokens; one batch of
16 x 5 s of 80-dim features (500 frames), reused every step. Both loops do the same
arithmetic: forward, CTC summed in float32, normalised by the utterance count, backward,
clip to norm 1, AdamW. The voxtext side is a whole ``Trainer.fit`` of ``--steps`` steps
(schedule, NaN guard, metrics log, one checkpoint at the end included); the plain loop
has none of that. They alternate ``--repeats`` times in one process; medians per step are
printed with the voxtext/plain ratio (target <= 1.05).

    python benchmarks/train_step.py [--steps 8] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

BATCH, FRAMES, FEATURES, VOCAB = 16, 500, 80, 32


class ConformerCTC(nn.Module):
    def __init__(self) -> None:
        from torchaudio.models import Conformer

        super().__init__()
        self.subsample = nn.Sequential(
            nn.Conv1d(FEATURES, 80, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv1d(80, 80, 3, stride=2, padding=1),
            nn.ReLU(),
        )
        self.encoder = Conformer(
            80, num_heads=4, ffn_dim=256, num_layers=4, depthwise_conv_kernel_size=31, dropout=0.1
        )
        self.head = nn.Linear(80, VOCAB)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.subsample(x.transpose(1, 2)).transpose(1, 2)
        lengths = (lengths + 3) // 4
        x, lengths = self.encoder(x, lengths)
        return self.head(x).log_softmax(-1), lengths


def make_batch() -> dict[str, Any]:
    g = torch.Generator().manual_seed(0)
    return {
        "x": torch.randn(BATCH, FRAMES, FEATURES, generator=g),
        "lengths": torch.full((BATCH,), FRAMES),
        "targets": torch.randint(1, VOCAB, (BATCH, 40), generator=g),
        "target_lengths": torch.full((BATCH,), 40),
    }


def ctc_sum(model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
    log_probs, lengths = model(batch["x"], batch["lengths"])
    return F.ctc_loss(
        log_probs.float().transpose(0, 1),
        batch["targets"],
        lengths,
        batch["target_lengths"],
        reduction="sum",
        zero_infinity=True,
    )


def plain_loop(batch: dict[str, Any], steps: int) -> float:
    torch.manual_seed(0)
    model = ConformerCTC()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(steps):
        loss = ctc_sum(model, batch) / BATCH
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return (time.perf_counter() - start) / steps


class RepeatedBatch:
    """A BatchSource yielding the same batch ``steps`` times per epoch."""

    def __init__(self, batch: dict[str, Any], steps: int) -> None:
        self.batch, self.steps, self.position = batch, steps, 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        while self.position < self.steps:
            self.position += 1
            yield self.batch

    def __len__(self) -> int:
        return self.steps

    def set_epoch(self, epoch: int) -> None:
        self.position = 0

    def state_dict(self) -> dict[str, Any]:
        return {"position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.position = state["position"]


def voxtext_loop(batch: dict[str, Any], steps: int) -> float:
    from voxtext.train import LossOutput, Trainer, TrainerConfig, float32_loss

    def loss_fn(model: nn.Module, b: dict[str, Any], generator: torch.Generator) -> LossOutput:
        with float32_loss():
            return LossOutput(loss_sum=ctc_sum(model, b), units=BATCH)

    torch.manual_seed(0)
    config = TrainerConfig(
        max_steps=steps,
        lr=1e-3,
        schedule="constant",
        device="cpu",
        progress=False,
        log_every_steps=steps,
        keep_last=1,
    )
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(config, ConformerCTC(), loss_fn, RepeatedBatch(batch, steps), out)
        start = time.perf_counter()
        trainer.fit()
        return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch = make_batch()
    params = sum(p.numel() for p in ConformerCTC().parameters())
    plain_loop(batch, 1)  # warm-up: first-call allocations and kernel selection
    times: dict[str, list[float]] = {"plain": [], "voxtext": []}
    for _ in range(args.repeats):
        times["plain"].append(plain_loop(batch, args.steps))
        times["voxtext"].append(voxtext_loop(batch, args.steps))
    plain, vox = statistics.median(times["plain"]), statistics.median(times["voxtext"])
    audio = BATCH * FRAMES / 100  # seconds of audio per step (10 ms frames)
    print(
        f"Conformer-CTC {params / 1e6:.2f}M params, batch {BATCH} x {FRAMES / 100:.0f} s, "
        f"{args.threads} threads, {args.steps} steps x {args.repeats} repeats (medians)"
    )
    print(f"{'loop':<10}{'s/step':>10}{'audio s/s':>12}")
    for name, value in (("plain", plain), ("voxtext", vox)):
        print(f"{name:<10}{value:>10.3f}{audio / value:>12.1f}")
    print(f"voxtext/plain time ratio: {vox / plain:.3f} (target <= 1.05)")


if __name__ == "__main__":
    main()
