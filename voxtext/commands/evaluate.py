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

from voxtext.commands.transcribe import add_decoder_arguments, load

HELP = "score a model or recogniser on a labelled file (speech manifest or text dataset)"
DEFAULT_OUT = Path("predictions.jsonl")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint",
        type=Path,
        metavar="RECOGNIZER_OR_CHECKPOINT",
        help="run folder or checkpoint folder; or, when no such path exists, the name of a "
        "registered recogniser (see `voxtext plugins`)",
    )
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
    parser.add_argument(
        "--recognizer-set",
        dest="recognizer_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="registered recognisers only: a config value, e.g. beam_size=5 (repeatable)",
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


def run(args: argparse.Namespace) -> int:
    from voxtext.errors import ConfigError
    from voxtext.train import resolve_checkpoint
    from voxtext.train.checkpoint import read_metadata

    if not args.checkpoint.exists():
        return _run_registered(args)
    if args.recognizer_options:
        raise ConfigError(
            f"--recognizer-set configures a registered recogniser, but {args.checkpoint} is a "
            "checkpoint path; choose its decoder with --decoder / --decoder-set"
        )
    metadata = read_metadata(resolve_checkpoint(args.checkpoint)).get("metadata", {})
    task = _checkpoint_task(metadata)
    if task is not None:
        return _run_task(args, task)
    return _run_asr(args)


def _checkpoint_task(metadata: dict[str, Any]) -> str | None:
    """The task a checkpoint's metadata names; text checkpoints written before they named it
    say it by their format. ``None``: a CTC checkpoint (they name no task)."""
    if metadata.get("task") is not None:
        return str(metadata["task"])
    from voxtext.text.restore import FORMAT_FAMILY, legacy_task

    if str(metadata.get("format", "")).startswith(FORMAT_FAMILY):
        return legacy_task(metadata)
    return None


def _run_task(args: argparse.Namespace, name: str) -> int:
    """A checkpoint whose metadata names a registered task evaluates through that task: it
    scores the file itself (``EvaluatingTask``) or gives the recogniser that decodes it."""
    from voxtext.errors import ConfigError
    from voxtext.protocols import EvaluatingTask, EvaluationRequest
    from voxtext.tasks import checkpoint_task

    task = checkpoint_task(name, checkpoint=args.checkpoint)
    if isinstance(task, EvaluatingTask):
        _refuse(args, name, ("--decoder", "--decoder-set", "--groups"), "CTC")
        request = EvaluationRequest(
            checkpoint=args.checkpoint,
            data=args.manifest,
            out=None if args.out == DEFAULT_OUT else args.out,
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
    if not hasattr(task, "recognizer"):
        raise ConfigError(
            f"{args.checkpoint}: task '{name}' trains models but evaluates none (it gives "
            "neither evaluate() nor recognizer()); evaluate them with the task's own tools"
        )
    _refuse(args, name, ("--decoder", "--decoder-set", "--ensemble", "--device"), "CTC and text")
    return _decode_with_task(args, task)


def _refuse(args: argparse.Namespace, task: str, flags: tuple[str, ...], takers: str) -> None:
    from voxtext.errors import ConfigError

    used = _given(args, flags)
    if used:
        raise ConfigError(
            f"{', '.join(used)}: not for {args.checkpoint}, a '{task}' checkpoint ({takers} "
            "checkpoints only); it decodes the way it was trained"
        )


def _given(args: argparse.Namespace, flags: tuple[str, ...]) -> list[str]:
    """Which of the checkpoint-only ``flags`` the command line set to other than the default."""
    given = {
        "--decoder": args.decoder,
        "--decoder-set": args.decoder_options,
        "--ensemble": args.ensemble,
        "--task": args.task != "main",
        "--groups": args.groups != "oracle",
        "--device": args.device != "cpu",
    }
    return [flag for flag in flags if given[flag]]


def _decode_with_task(args: argparse.Namespace, task: Any) -> int:
    from voxtext.asr import evaluate_manifest

    recognizer = task.recognizer(args.checkpoint, identify_groups=args.groups == "predicted")
    rows = evaluate_manifest(
        recognizer, args.manifest, args.out, use_groups=args.groups == "oracle"
    )
    return _print_scores(rows, args)


def _run_asr(args: argparse.Namespace) -> int:
    from voxtext.asr import evaluate_manifest, identification_accuracy

    if args.ensemble:
        raise SystemExit("voxtext evaluate: --ensemble works for text models only")
    model = load(args)
    recognizer = model.as_recognizer(identify_groups=args.groups == "predicted")
    rows = evaluate_manifest(
        recognizer, args.manifest, args.out, use_groups=args.groups == "oracle"
    )
    if args.groups == "predicted" and model.groups is not None:
        attribute = model.groups.attribute
        right, counted = identification_accuracy(rows, attribute, model.groups.values[1:])
        if counted:
            print(f"{attribute}_id_accuracy\t{right / counted:.4f}\t({right}/{counted})")
    return _print_scores(rows, args)


def _run_registered(args: argparse.Namespace) -> int:
    """``args.checkpoint`` is no path: build the registered recogniser of that name."""
    import voxtext
    from voxtext.asr import evaluate_manifest
    from voxtext.config import parse_overrides, to_dict
    from voxtext.errors import UnknownComponentError

    name = str(args.checkpoint)
    _refuse_checkpoint_options(args, name)
    try:
        entry = voxtext.registry("recognizers").get(name)
    except UnknownComponentError as exc:
        raise UnknownComponentError(
            f"'{name}' is not an existing path (no checkpoint or run folder there), nor a "
            f"registered recogniser: {exc}"
        ) from None
    config = entry.make_config(parse_overrides(args.recognizer_options))
    recognizer = entry.create(config)
    source = {
        "recognizer": entry.name,
        "plugin": entry.plugin.name,
        "plugin_version": entry.plugin.version,
        "config": to_dict(config) if config is not None else {},
    }
    rows = evaluate_manifest(recognizer, args.manifest, args.out, source=source)
    return _print_scores(rows, args)


def _refuse_checkpoint_options(args: argparse.Namespace, name: str) -> None:
    from voxtext.errors import ConfigError

    flags = ("--decoder", "--decoder-set", "--ensemble", "--task", "--groups", "--device")
    used = _given(args, flags)
    if used:
        raise ConfigError(
            f"{', '.join(used)}: for checkpoints only, and '{name}' is no existing path; "
            "configure a registered recogniser with --recognizer-set key=value "
            "(e.g. --recognizer-set device=cuda)"
        )


def _print_scores(rows: list[dict[str, Any]], args: argparse.Namespace) -> int:
    from voxtext.asr.scoring import grouped_error_rates

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
