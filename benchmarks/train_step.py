"""Benchmark: voxtext's training step against a plain PyTorch loop and SpeechBrain, on CPU.

Work (BENCHMARKS.md, "Training"): one batch of 16 x 5 s of 16 kHz audio, reused every step;
80-bin log-mel fbank computed in the step; a Conformer-CTC of the recipe's size (4 layers,
d=80, 4 heads, ffn 256, kernel 15, x4 convolutional subsampling with 32 channels); CTC over
32 tokens summed in float32; clip to norm 1; fused AdamW. Three steps, one process:

- ``plain``: voxtext's model (``voxtext.asr.assembly.assemble``) in a hand-written loop.
- ``dialect``: the same model with the group modules of the dialect-aware recipe on
  (dialect conditioning with unknown_probability 0.2, residual dialect adapters, a dialect-ID
  head with weight 0.3) and group-DRO replacing the CTC mean; again a hand-written loop.
  (Balanced sampling changes which utterances are drawn, not the step.)
- ``speechbrain``: SpeechBrain's ``Brain.fit_batch`` for its Conformer-CTC (``Fbank`` ->
  ``ConvolutionFrontEnd`` x4 -> ``TransformerASR(encoder_module="conformer")`` -> CTC) of
  the same size, the same features and the same optimizer.

Each hand-written loop is paired with ``voxtext.train.Trainer.fit`` over the same model,
batch and arithmetic, with voxtext's own loss functions (``voxtext.asr.losses``); the
voxtext side includes everything a fit does (schedule, NaN guard, metrics log, one
checkpoint at the end). All contenders run ``--steps`` steps in turn, ``--repeats`` times
(alternating); the table prints min/median/max seconds per step and the 1-minute load
average before and after (the machine is shared: quote the load with the numbers).
``--profile`` also prints torch.profiler's top operators for each voxtext step and its
plain loop, and how much of the wall time ran outside any torch operator (Python).

    python benchmarks/train_step.py [--steps 8] [--repeats 7] [--threads 2] [--profile]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import voxtext
from voxtext.testing import speech_like

BATCH, SECONDS, SAMPLE_RATE, VOCAB, TOKENS, DIALECTS = 16, 5.0, 16000, 32, 40, 4
LR, CLIP = 1e-3, 1.0
SIZE = {
    "d_model": 80,
    "num_heads": 4,
    "ffn_dim": 256,
    "num_layers": 4,
    "conv_kernel_size": 15,
    "subsampling": 4,
    "subsampling_channels": 32,
    "position": "rotary",
    "conv_norm": "layer",
}
DIALECT_STRATEGIES = [
    ("dialect-conditioning", {"unknown_probability": 0.2}),
    ("dialect-adapters", {"bottleneck": 32}),
    ("dialect-id", {"weight": 0.3}),
    ("group-dro", {}),
]


def make_batch() -> dict[str, Any]:
    g = torch.Generator().manual_seed(0)
    audio = [speech_like(SECONDS, SAMPLE_RATE, seed=i, f0=90.0 + 7 * i) for i in range(BATCH)]
    return {
        "waveforms": torch.stack([torch.from_numpy(a) for a in audio]).float(),
        "lengths": torch.full((BATCH,), len(audio[0])),
        "targets": torch.randint(1, VOCAB, (BATCH * TOKENS,), generator=g),
        "target_lengths": torch.full((BATCH,), TOKENS),
        "group_ids": torch.arange(BATCH) % DIALECTS + 1,  # 0 is the unknown dialect
        "ids": [f"utt{i}" for i in range(BATCH)],
    }


# -- voxtext's model, in a plain loop and in the Trainer ----------------------------------------
def build_voxtext(dialect: bool) -> tuple[nn.Module, Any]:
    """The recipe's model; with ``dialect`` the group modules and the group-DRO loss."""
    from voxtext.asr.assembly import assemble
    from voxtext.components import ComponentSpec
    from voxtext.speech.groups import GroupVocabulary, build_strategies, combined_group_loss

    torch.manual_seed(0)
    vocabulary = GroupVocabulary("dialect", ("unknown", *(f"d{i}" for i in range(DIALECTS))))
    strategies = build_strategies([ComponentSpec(n, o) for n, o in DIALECT_STRATEGIES])
    assembled = assemble(
        features=ComponentSpec("fbank", {"num_mel_bins": 80}),
        normalizer=None,
        encoder=ComponentSpec("conformer", SIZE),
        augmentations=[],
        vocab_size=VOCAB,
        dropout=0.1,
        groups=vocabulary if dialect else None,
        strategies=strategies if dialect else None,
    )
    if not dialect:
        return assembled.model, None
    assert assembled.group_context is not None
    return assembled.model, combined_group_loss(strategies, assembled.group_context)


def ctc(
    log_probs: torch.Tensor, lengths: torch.Tensor, batch: dict[str, Any], reduction: str
) -> torch.Tensor:
    return F.ctc_loss(
        log_probs.transpose(0, 1),
        batch["targets"],
        lengths,
        batch["target_lengths"],
        reduction=reduction,
        zero_infinity=True,
    )


def plain_step(dialect: bool) -> Callable[[dict[str, Any]], None]:
    """One hand-written training step of voxtext's model: what a user would write."""
    model, group_loss = build_voxtext(dialect)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, fused=True)
    generator = torch.Generator().manual_seed(0)

    def step(batch: dict[str, Any]) -> None:
        if dialect:
            log_probs, lengths, auxiliary = model(
                batch["waveforms"],
                batch["lengths"],
                generator,
                batch["group_ids"],
                return_auxiliary=True,
            )
            per_utterance = ctc(log_probs, lengths, batch, "none")
            value, _ = group_loss(per_utterance, batch["target_lengths"], batch["group_ids"])
            loss = value + auxiliary.loss
        else:
            log_probs, lengths = model(batch["waveforms"], batch["lengths"], generator)
            loss = ctc(log_probs, lengths, batch, "sum") / (BATCH * TOKENS)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


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


def voxtext_fit(dialect: bool, batch: dict[str, Any], steps: int) -> float:
    """Seconds per step of a whole ``Trainer.fit`` of ``steps`` steps."""
    from voxtext.asr.losses import ctc_loss, group_aware_loss
    from voxtext.train import Trainer, TrainerConfig

    model, group_loss = build_voxtext(dialect)
    loss_fn = group_aware_loss(group_loss) if dialect else ctc_loss
    config = TrainerConfig(
        max_steps=steps,
        lr=LR,
        weight_decay=0.01,
        clip_norm=CLIP,
        schedule="constant",
        device="cpu",
        precision="fp32",
        progress=False,
        log_every_steps=steps,
        keep_last=1,
        threads=None,  # the benchmark sets the threads for every contender alike
    )
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(config, model, loss_fn, RepeatedBatch(batch, steps), out)
        start = time.perf_counter()
        trainer.fit()
        return (time.perf_counter() - start) / steps


# -- SpeechBrain's Conformer-CTC ------------------------------------------------------------------
def speechbrain_step() -> tuple[Callable[[dict[str, Any]], None], int]:
    """SpeechBrain's ``Brain.fit_batch`` for its Conformer-CTC, and the model's parameters."""
    import logging

    import speechbrain as sb
    from speechbrain.lobes.features import Fbank
    from speechbrain.lobes.models.convolution import ConvolutionFrontEnd
    from speechbrain.lobes.models.transformer.TransformerASR import TransformerASR

    logging.getLogger("speechbrain").setLevel(logging.ERROR)
    torch.manual_seed(0)
    front = ConvolutionFrontEnd(
        input_shape=(None, None, 80),
        num_blocks=2,
        num_layers_per_block=1,
        out_channels=(32, 32),
        kernel_sizes=(3, 3),
        strides=(2, 2),
        residuals=(False, False),
    )
    encoder = TransformerASR(
        tgt_vocab=VOCAB,
        input_size=32 * 20,  # 32 channels x 80 mel bins / 4
        d_model=SIZE["d_model"],
        nhead=SIZE["num_heads"],
        num_encoder_layers=SIZE["num_layers"],
        num_decoder_layers=0,
        d_ffn=SIZE["ffn_dim"],
        kernel_size=SIZE["conv_kernel_size"],
        encoder_module="conformer",
        attention_type="RelPosMHAXL",
        normalize_before=True,
        causal=False,
        dropout=0.1,
    )
    modules = {
        "fbank": Fbank(n_mels=80),
        "front": front,
        "encoder": encoder,
        "head": nn.Linear(SIZE["d_model"], VOCAB),
    }

    class ConformerCTC(sb.Brain):  # type: ignore[misc,name-defined]
        def compute_forward(self, batch: dict[str, Any], stage: Any) -> Any:
            wav_lens = batch["lengths"].float() / batch["lengths"].max()
            x = self.modules.fbank(batch["waveforms"])
            x = self.modules.front(x)
            x = self.modules.encoder.encode(x, wav_lens)
            return self.modules.head(x).log_softmax(-1), wav_lens

        def compute_objectives(self, predictions: Any, batch: dict[str, Any], stage: Any) -> Any:
            log_probs, wav_lens = predictions
            targets = batch["targets"].view(BATCH, TOKENS)
            token_lens = batch["target_lengths"].float() / TOKENS
            return sb.nnet.losses.ctc_loss(log_probs, targets, wav_lens, token_lens, blank_index=0)

    brain = ConformerCTC(
        modules=modules,
        opt_class=lambda params: torch.optim.AdamW(params, lr=LR, fused=True),
        run_opts={"device": "cpu", "max_grad_norm": CLIP},
    )
    brain.init_optimizers()
    brain.modules.train()
    params = sum(p.numel() for p in brain.modules.parameters())
    return lambda batch: brain.fit_batch(batch), params


def timed_loop(step: Callable[[dict[str, Any]], None], batch: dict[str, Any], steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        step(batch)
    return (time.perf_counter() - start) / steps


# -- the run --------------------------------------------------------------------------------------
def profile(name: str, run: Callable[[], object], steps: int) -> None:
    """torch.profiler's top operators by self time, and the share of wall time outside them."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        run()
        wall = time.perf_counter() - start
    events = prof.key_averages()
    in_ops = sum(e.self_cpu_time_total for e in events) / 1e6
    print(
        f"\n{name}: {wall / steps:.3f} s/step under the profiler; {100 * in_ops / wall:.1f} % "
        f"inside torch operators, {100 * (1 - in_ops / wall):.1f} % outside (Python)"
    )
    print(f"  {'operator':<44}{'calls/step':>11}{'ms/step':>9}{'%':>6}")
    for e in sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:10]:
        ms = e.self_cpu_time_total / 1e3 / steps
        share = 100 * e.self_cpu_time_total / 1e6 / wall
        print(f"  {e.key[:43]:<44}{e.count / steps:>11.1f}{ms:>9.1f}{share:>6.1f}")
    syncs = [e for e in events if e.key in ("aten::item", "aten::_local_scalar_dense")]
    print(
        f"  host reads of tensor values (aten::item): {sum(e.count for e in syncs) / steps:.1f}"
        " per step"
    )


def spread(values: list[float]) -> str:
    return f"{min(values):>8.3f}{statistics.median(values):>8.3f}{max(values):>8.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-speechbrain", action="store_true", help="skip the SpeechBrain peer")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    voxtext.registry("encoders")  # load the plugins before anything is timed
    batch = make_batch()
    steps = args.steps
    contenders: dict[str, Callable[[], float]] = {
        "plain loop": lambda: timed_loop(plain_step(False), batch, steps),
        "voxtext plain": lambda: voxtext_fit(False, batch, steps),
        "dialect loop": lambda: timed_loop(plain_step(True), batch, steps),
        "voxtext dialect": lambda: voxtext_fit(True, batch, steps),
    }
    sb_params = None
    if not args.no_speechbrain:
        sb_step, sb_params = speechbrain_step()
        contenders["speechbrain"] = lambda: timed_loop(sb_step, batch, steps)
    for run in contenders.values():  # warm-up: first-call allocations, kernel selection
        run()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    load_before = os.getloadavg()[0]
    for _ in range(args.repeats):
        for name, run in contenders.items():
            times[name].append(run())
    load_after = os.getloadavg()[0]
    report(args, times, sb_params, (load_before, load_after))
    if args.profile:
        profile("plain loop", lambda: timed_loop(plain_step(False), batch, steps), steps)
        profile("voxtext plain", lambda: voxtext_fit(False, batch, steps), steps)
        profile("dialect loop", lambda: timed_loop(plain_step(True), batch, steps), steps)
        profile("voxtext dialect", lambda: voxtext_fit(True, batch, steps), steps)


def report(
    args: argparse.Namespace,
    times: dict[str, list[float]],
    sb_params: int | None,
    load: tuple[float, float],
) -> None:
    from voxtext.train.threads import wait_policy

    params = {d: sum(p.numel() for p in build_voxtext(d)[0].parameters()) for d in (False, True)}
    audio = BATCH * SECONDS
    print(
        f"Conformer-CTC {params[False] / 1e6:.3f}M params ({params[True] / 1e6:.3f}M with the "
        f"dialect modules"
        + (f"; SpeechBrain's {sb_params / 1e6:.3f}M" if sb_params else "")
        + f"), batch {BATCH} x {SECONDS:.0f} s, {args.threads} threads, {args.steps} steps x "
        f"{args.repeats} alternating repeats; load average {load[0]:.2f} before, "
        f"{load[1]:.2f} after (this run adds up to {args.threads}); OpenMP wait policy "
        f"{wait_policy()}"
    )
    print(f"{'step':<18}{'min':>8}{'median':>8}{'max':>8}{'audio s/s':>11}  (seconds per step)")
    median = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:<18}{spread(values)}{audio / median[name]:>11.1f}")
    ratios = [
        ("voxtext plain / plain loop", "voxtext plain", "plain loop", "<= 1.05"),
        ("voxtext dialect / dialect loop", "voxtext dialect", "dialect loop", "<= 1.05"),
    ]
    if "speechbrain" in times:
        ratios.append(("voxtext plain / speechbrain", "voxtext plain", "speechbrain", "<= 1.0"))
    for label, a, b, target in ratios:
        paired = sorted(x / y for x, y in zip(times[a], times[b], strict=True))
        print(
            f"{label:<32} median {median[a] / median[b]:.3f}  (per repeat min "
            f"{paired[0]:.3f}, max {paired[-1]:.3f}; target {target})"
        )


if __name__ == "__main__":
    main()
