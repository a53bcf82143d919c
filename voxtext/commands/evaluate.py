"""``voxtext evaluate CHECKPOINT DATA [--out PATH] [--group ATTR ...]``: score a trained model
on a labelled file.

ASR checkpoints decode a speech manifest and write the predictions JSONL (``id``, ``ref``,
``hyp``, ``speaker``, ``groups``) that ``voxtext report`` turns into a per-group fairness
report. Text checkpoints (classification, tagging) predict a text or token dataset and write
``predictions.jsonl``, ``metrics.json``, ``report.md`` and, with ``--group``, the per-group
fairness report into the ``--out`` folder; ``--ensemble RUN`` adds models whose probabilities
are averaged with the first one's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from voxtext.commands.transcribe import add_decoder_arguments, load

HELP = "score a model on a labelled file (speech manifest or text dataset)"
DEFAULT_OUT = Path("predictions.jsonl")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="run folder or checkpoint folder")
    parser.add_argument("manifest", type=Path, help="JSONL speech manifest or text dataset")
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="ASR: predictions file (default predictions.jsonl); text: output folder "
        "(default evaluation/)",
    )
    parser.add_argument(
        "--group",
        action="append",
        default=[],
        help="group attribute to report metrics by (repeatable)",
    )
    parser.add_argument(
        "--ensemble",
        action="append",
        type=Path,
        default=[],
        metavar="RUN",
        help="text models only: another run to average probabilities with (repeatable)",
    )
    parser.add_argument(
        "--task", default="main", help="text models only: which task's head to evaluate"
    )
    add_decoder_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from voxtext.train import resolve_checkpoint
    from voxtext.train.checkpoint import read_metadata

    metadata = read_metadata(resolve_checkpoint(args.checkpoint)).get("metadata", {})
    if str(metadata.get("format", "")).startswith("voxtext.text/"):
        return _run_text(args)
    return _run_asr(args)


def _run_text(args: argparse.Namespace) -> int:
    from voxtext.text import TextPredictor, evaluate_file

    predictor = TextPredictor.load([args.checkpoint, *args.ensemble], device=args.device)
    out = Path("evaluation") if args.out == DEFAULT_OUT else args.out
    result = evaluate_file(predictor, args.manifest, out, task=args.task, group_by=args.group)
    scores = result["scores"]
    for name in ("accuracy", "macro_f1", "micro_f1", "weighted_f1", "f1"):
        if scores.get(name) is not None:
            print(f"{name}\t{scores[name]:.4f}")
    print(f"voxtext evaluate: report in {out}/report.md, predictions in {out}/predictions.jsonl")
    return 0


def _run_asr(args: argparse.Namespace) -> int:
    from voxtext.asr import evaluate_manifest
    from voxtext.asr.scoring import grouped_error_rates

    if args.ensemble:
        raise SystemExit("voxtext evaluate: --ensemble works for text models only")
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
