"""``voxtext evaluate CHECKPOINT MANIFEST [--out predictions.jsonl]``: decode a manifest and
write the predictions JSONL (``id``, ``ref``, ``hyp``, ``speaker``, ``groups``) that
``voxtext report`` turns into a per-group fairness report."""

from __future__ import annotations

import argparse
from pathlib import Path

from voxtext.commands.transcribe import add_decoder_arguments, load

HELP = "decode a manifest and write predictions JSONL for `voxtext report`"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="run folder or checkpoint folder")
    parser.add_argument("manifest", type=Path, help="JSONL speech manifest")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("predictions.jsonl"),
        help="where to write the predictions (default predictions.jsonl)",
    )
    parser.add_argument(
        "--group",
        action="append",
        default=[],
        help="group attribute to summarise error rates by (repeatable)",
    )
    add_decoder_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from voxtext.asr import evaluate_manifest
    from voxtext.asr.scoring import grouped_error_rates

    recognizer = load(args)
    rows = evaluate_manifest(recognizer, args.manifest, args.out)
    metrics = grouped_error_rates(
        [r["ref"] for r in rows],
        [r["hyp"] for r in rows],
        [r["groups"] for r in rows],
        args.group,
        prefix="",
    )
    for name, value in metrics.items():
        print(f"{name}\t{value:.4f}")
    print(f"voxtext evaluate: {len(rows)} predictions written to {args.out}")
    return 0
