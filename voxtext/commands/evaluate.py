"""``voxtext evaluate RECOGNIZER_OR_CHECKPOINT DATA [--out PATH] [--group ATTR ...]``: score a
trained model, or a registered recogniser, on a labelled file.

An existing path is a checkpoint; anything else names a registered recogniser (``voxtext
plugins`` lists them under ``recognizers``), configured with ``--recognizer-set key=value``.
A checkpoint is evaluated by the registered task its metadata names (``protocols.Task``): a
task that scores files itself (``EvaluatingTask``, the text tasks) does so, a speech task's
recogniser decodes the manifest; CTC checkpoints name no task and load directly.
ASR checkpoints and recognisers decode a speech manifest through one code path
(``voxtext.asr.evaluate_manifest``) into the predictions JSONL (``id``, ``ref``, ``hyp``,
``speaker``, ``groups``) that ``voxtext report`` turns into a per-group fairness report, with
the sidecar ``<out stem>.meta.json`` saying what was audited. The text tasks
(classification, tagging) predict a text or token dataset and write ``predictions.jsonl``,
``metrics.json``, ``report.md`` and, with ``--group``, the per-group fairness report into the
``--out`` folder; ``--ensemble RUN`` adds models whose probabilities are averaged with the
first one's.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from voxtext.commands.transcribe import (
    add_decoder_arguments,
    add_long_audio_arguments,
    check_segments,
    load_vad,
    open_model,
)

HELP = "score a model or recogniser on a labelled file (speech manifest or text dataset)"
DEFAULT_OUT = Path("predictions.jsonl")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint",
        metavar="RECOGNIZER_OR_CHECKPOINT",
        help="run folder or checkpoint folder; or, when no such path exists, the name of a "
        "registered recogniser (see `voxtext plugins`)",
    )
    parser.add_argument("manifest", type=Path, help="JSONL speech manifest or text dataset")
    parser.add_argument(
        "--out",
        type=Path,
        help="speech models: the predictions file (default predictions.jsonl); models whose "
        "task scores files itself (text): the output folder (default: the task's, e.g. "
        "evaluation/)",
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
    parser.add_argument(
        "--groups",
        choices=("oracle", "predicted", "none"),
        default="oracle",
        help="ASR checkpoints of group-aware models: condition on each utterance's group from "
        "the manifest (oracle, default), on the group the model identifies from the audio "
        "(predicted: needs a dialect-id head; the predictions keep it under extra), or on none",
    )
    add_decoder_arguments(parser)
    add_long_audio_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from voxtext.tasks import DEFAULT_TASK
    from voxtext.train.metadata import checkpoint_task_name

    path = Path(args.checkpoint)
    if path.exists() and args.runtime != "onnx" and not args.recognizer_options:
        task = checkpoint_task_name(path)
        if task != DEFAULT_TASK and _scores_itself(task, path):
            return _run_task(args, task)
    return _decode(args)


def _scores_itself(name: str, path: Path) -> bool:
    """Whether the task that trained ``path`` scores a data file itself (text tasks)."""
    from voxtext.protocols import EvaluatingTask
    from voxtext.tasks import checkpoint_task

    return isinstance(checkpoint_task(name, checkpoint=path), EvaluatingTask)


def _run_task(args: argparse.Namespace, name: str) -> int:
    """A checkpoint whose task scores files itself (``EvaluatingTask``) evaluates through it."""
    from voxtext.errors import ConfigError
    from voxtext.protocols import EvaluationRequest
    from voxtext.tasks import checkpoint_task

    task = checkpoint_task(name, checkpoint=args.checkpoint)
    flags = {
        "--decoder": args.decoder,
        "--decoder-set": args.decoder_options,
        "--groups": args.groups != "oracle",
        "--recognizer-set": args.recognizer_options,
        "--runtime": args.runtime != "torch",
    }
    used = [flag for flag, value in flags.items() if value]
    if used:
        raise ConfigError(
            f"{', '.join(used)}: not for {args.checkpoint}, a '{name}' checkpoint (speech "
            "models only); it decodes the way it was trained"
        )
    request = EvaluationRequest(
        checkpoint=Path(args.checkpoint),
        data=args.manifest,
        out=args.out,
        group_by=tuple(args.group),
        ensemble=tuple(args.ensemble),
        head=args.task,
        device=args.device,
    )
    result = task.evaluate(request)
    for metric, value in result.metrics.items():
        print(f"{metric}\t{value:.4f}")
    print(f"voxtext evaluate: {result.summary}")
    return 0


def _decode(args: argparse.Namespace) -> int:
    """A speech model or registered recogniser decodes the manifest into predictions."""
    from voxtext.asr import evaluate_manifest, identification_accuracy
    from voxtext.asr.recognition import LongAudio

    check_segments(args)

    text_only = [
        flag
        for flag, used in (("--ensemble", args.ensemble), ("--task", args.task != "main"))
        if used
    ]
    if text_only:
        raise SystemExit(f"voxtext evaluate: {', '.join(text_only)} works for text models only")
    opened = open_model(args, identify_groups=args.groups == "predicted")
    out = args.out or DEFAULT_OUT
    rows = evaluate_manifest(
        opened.recognizer,
        args.manifest,
        out,
        use_groups=args.groups == "oracle",
        source=opened.source,
        long_audio=LongAudio(load_vad(args), args.max_segment_seconds, args.overlap_seconds),
    )
    model = opened.checkpoint_model
    if args.groups == "predicted" and model is not None and model.groups is not None:
        attribute = model.groups.attribute
        right, counted = identification_accuracy(rows, attribute, model.groups.values[1:])
        if counted:
            print(f"{attribute}_id_accuracy\t{right / counted:.4f}\t({right}/{counted})")
    return _print_scores(rows, args.group, out)


def _print_scores(rows: list[dict[str, Any]], group_by: list[str], out: Path) -> int:
    from voxtext.speech.scoring import grouped_error_rates

    metrics = grouped_error_rates(
        [r["ref"] for r in rows],
        [r["hyp"] for r in rows],
        [r["groups"] for r in rows],
        group_by,
        prefix="",
    )
    for name, value in metrics.items():
        print(f"{name}\t{value:.4f}")
    print(f"voxtext evaluate: {len(rows)} predictions written to {out}")
    return 0
