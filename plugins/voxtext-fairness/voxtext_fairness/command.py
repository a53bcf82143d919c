"""``voxtext report``: per-group error rates with confidence intervals from predictions files.

    voxtext report preds.jsonl --group dialect --group gender --intersect \\
        --reference cmn --format html --out report.html

Several PREDICTIONS files are read as training checkpoints, oldest first: the report is of
the last one, with the gap across all of them plotted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


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

    def run(self, args: argparse.Namespace) -> int:
        import voxtext
        from voxtext.data.predictions import read_predictions_metadata
        from voxtext.errors import ConfigError
        from voxtext_fairness.records import read_predictions

        if args.format == "html" and args.out is None:
            raise ConfigError("--format html writes a file: give --out report.html")
        evaluator = voxtext.registry("fairness_evaluators").create(
            "asr-group-errors",
            unit=args.unit,
            normalizer=args.normalizer,
            n_boot=args.n_boot,
            seed=args.seed,
            confidence=args.confidence,
            reference=args.reference,
            intersect=args.intersect,
        )
        files = [(path.stem, read_predictions(path, args.group)) for path in args.predictions]
        latest_name, latest = files[-1]
        report = evaluator.evaluate(
            latest,
            args.group,
            system=latest_name,
            compare=read_predictions(args.compare, args.group) if args.compare else None,
            compare_system=args.compare.stem if args.compare else "other",
            history=files if len(files) > 1 else [],
        )
        metadata = read_predictions_metadata(args.predictions[-1])
        if metadata is not None:
            report.audited = dict(metadata.get("recognizer", {}))
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
