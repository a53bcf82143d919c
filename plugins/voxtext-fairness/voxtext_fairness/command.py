"""``voxtext report``: per-group error rates with confidence intervals from predictions files.

    voxtext report preds.jsonl --group dialect --group gender --intersect \\
        --reference cmn --format html --out report.html
    voxtext report preds.jsonl --group dialect --normalizer english-spelling \\
        --model-card exp/run/best
    voxtext report preds.jsonl --group dialect --evaluator my-evaluator

Several PREDICTIONS files are read as training checkpoints, oldest first: the report is of
the last one, with the gap across all of them plotted. ``--evaluator`` names registered
fairness evaluators (repeatable); the first one's report is the page, and every other one's
``to_dict()`` is shown in it generically.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_EVALUATOR = "asr-group-errors"


class ReportCommand:
    help = "per-group CER/WER with speaker-bootstrap confidence intervals, gaps and tests"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "predictions",
            nargs="+",
            type=Path,
            metavar="PREDICTIONS.jsonl",
            help="JSON Lines with id, ref, hyp, speaker, groups (and duration); "
            "several files are checkpoints, oldest first",
        )
        parser.add_argument(
            "--group",
            action="append",
            required=True,
            metavar="ATTRIBUTE",
            help="group attribute to split by (repeatable)",
        )
        parser.add_argument(
            "--intersect",
            action="store_true",
            help="also report the intersection of all --group attributes",
        )
        parser.add_argument(
            "--reference", metavar="VALUE", help="the group every other group is compared with"
        )
        parser.add_argument(
            "--compare",
            type=Path,
            metavar="OTHER.jsonl",
            help="a second system's predictions on the same utterances",
        )
        parser.add_argument("--format", choices=("md", "json", "html"), default="md")
        parser.add_argument(
            "--out",
            type=Path,
            metavar="PATH",
            help="where to write (default: stdout; required for html)",
        )
        parser.add_argument("--unit", choices=("auto", "char", "word", "both"), default="auto")
        parser.add_argument(
            "--normalizer",
            default="default",
            help="registered text normaliser (default: %(default)s)",
        )
        parser.add_argument("--n-boot", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--confidence", type=float, default=0.95)
        parser.add_argument(
            "--min-speakers",
            type=int,
            default=5,
            help="below this many speakers a group gets no interval and no p-value "
            "(default: %(default)s)",
        )
        parser.add_argument(
            "--evaluator",
            action="append",
            metavar="NAME",
            help=f"registered fairness evaluator (repeatable; default: {DEFAULT_EVALUATOR}; "
            "`voxtext plugins` lists them)",
        )
        parser.add_argument(
            "--model-card",
            type=Path,
            metavar="CHECKPOINT",
            help="also write a model card (README.md) into this checkpoint folder, or into "
            "a run folder's best checkpoint",
        )

    def run(self, args: argparse.Namespace) -> int:
        from voxtext.data.predictions import read_predictions_metadata
        from voxtext.errors import ConfigError
        from voxtext_fairness.records import read_predictions
        from voxtext_fairness.report import AsrFairnessReport, EvaluationReport

        if args.format == "html" and args.out is None:
            raise ConfigError("--format html writes a file: give --out report.html")
        names = args.evaluator or [DEFAULT_EVALUATOR]
        evaluators = [(name, _create(name, args)) for name in names]
        files = [(path.stem, read_predictions(path, args.group)) for path in args.predictions]
        latest_name, latest = files[-1]
        results = []
        for name, evaluator in evaluators:
            if _accepts(evaluator.evaluate, "history"):  # asr-group-errors and its kind
                result = evaluator.evaluate(
                    latest,
                    args.group,
                    system=latest_name,
                    compare=read_predictions(args.compare, args.group) if args.compare else None,
                    compare_system=args.compare.stem if args.compare else "other",
                    history=files if len(files) > 1 else [],
                )
            else:  # the protocol: evaluate(records, group_by) on plain prediction rows
                result = evaluator.evaluate([_row(p) for p in latest], args.group)
            results.append((name, result))
        report: Any = results[0][1]
        extras = [{"evaluator": n, "result": _as_dict(n, r)} for n, r in results[1:]]
        if isinstance(report, AsrFairnessReport):
            report.extra_evaluations.extend(extras)
            metadata = read_predictions_metadata(args.predictions[-1])
            if metadata is not None:
                report.audited = dict(metadata.get("recognizer", {}))
                if metadata.get("machine"):
                    report.audited["machine"] = metadata["machine"]
        else:
            first = {"evaluator": results[0][0], "result": _as_dict(*results[0])}
            report = EvaluationReport(latest_name, [first, *extras])
        if args.model_card is not None:
            if not isinstance(report, AsrFairnessReport):
                raise ConfigError(
                    f"--model-card needs the {DEFAULT_EVALUATOR} report first: put "
                    f"--evaluator {DEFAULT_EVALUATOR} before --evaluator {results[0][0]}"
                )
            print(f"wrote {report.write_model_card(args.model_card)}", file=sys.stderr)
        return _write(report, args)


def _create(name: str, args: argparse.Namespace) -> Any:
    """The evaluator ``name`` with the command-line settings its config has fields for."""
    import voxtext

    registry = voxtext.registry("fairness_evaluators")
    entry = registry.get(name)  # an unknown name lists the known ones
    settings = {
        "unit": args.unit,
        "normalizer": args.normalizer,
        "n_boot": args.n_boot,
        "seed": args.seed,
        "confidence": args.confidence,
        "reference": args.reference,
        "intersect": args.intersect,
        "min_speakers": args.min_speakers,
    }
    if entry.config is None:
        return entry.create()
    fields = {f.name for f in dataclasses.fields(entry.config)}
    return entry.create({k: v for k, v in settings.items() if k in fields})


def _accepts(function: Any, keyword: str) -> bool:
    import inspect

    return keyword in inspect.signature(function).parameters


def _row(prediction: Any) -> dict[str, Any]:
    return {
        "id": prediction.id,
        "ref": prediction.ref,
        "hyp": prediction.hyp,
        "speaker": prediction.speaker,
        "groups": dict(prediction.groups),
        "duration": prediction.duration,
        "synthetic": prediction.synthetic,
    }


def _as_dict(name: str, result: Any) -> Any:
    from voxtext.errors import VoxtextError

    if not callable(getattr(result, "to_dict", None)):
        raise VoxtextError(
            f"evaluator '{name}' returned {type(result).__name__}, which has no to_dict(): "
            "a fairness evaluator's evaluate() must return a report with to_dict() "
            "(see voxtext.protocols.FairnessEvaluator)"
        )
    return json.loads(json.dumps(result.to_dict(), default=str))


def _write(report: Any, args: argparse.Namespace) -> int:
    if args.format == "html":
        report.write_html(args.out)
        print(f"wrote {args.out}", file=sys.stderr)
        return 0
    text = (
        json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
        if args.format == "json"
        else report.to_markdown()
    )
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0
