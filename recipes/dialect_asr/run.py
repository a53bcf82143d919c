"""Dialect-aware ASR, end to end: prepare the corpus, train the plain baseline and the
dialect-aware model on the same imbalanced training split, decode the test split with both,
and write the per-dialect fairness report (CER with confidence intervals, the gap and its
interval, the paired dialect-aware-versus-baseline comparison, HTML with plots, model card).

    python recipes/dialect_asr/run.py                       # default.toml: 2 CPU cores
    python recipes/dialect_asr/run.py --config recipes/dialect_asr/full.toml   # GPUs
    python recipes/dialect_asr/run.py --set corpus.size=tiny --set out_dir=exp/tiny

Every component is named by registry name; swap the corpus for your own with
``--set corpus.name=manifest-folder --set corpus.path=/data/my_corpus``. A rerun reuses the
corpus and finished trainings in ``out_dir``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import voxtext
from voxtext.asr import evaluate_manifest, load_asr_config, load_recognizer, train
from voxtext.config import build_config, merge, parse_overrides, read_config_file
from voxtext.data import read_manifest, summarise

HERE = Path(__file__).resolve().parent
SYSTEMS = ("baseline", "dialect_aware")


@dataclass(frozen=True)
class Config:
    """The recipe: a corpus, shared ASR settings, and what each system adds to them."""

    out_dir: Path = Path("exp/dialect_asr")
    group: str = "dialect"
    corpus: dict[str, Any] = field(default_factory=lambda: {"name": "espeak-dialects"})
    asr: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    dialect_aware: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)


def load_config(path: Path, overrides: Sequence[str]) -> Config:
    values = merge(read_config_file(path), parse_overrides(overrides))
    return build_config(Config, values, where=str(path))


def prepare_corpus(cfg: Config) -> tuple[dict[str, Path], bool]:
    """The corpus plugin's manifests per split, and whether the data is synthetic."""
    options = {k: v for k, v in cfg.corpus.items() if k != "name"}
    corpus = voxtext.registry("corpora").create(cfg.corpus["name"], options)
    splits = corpus.prepare(cfg.out_dir / "corpus")
    missing = {"train", "dev", "test"} - set(splits.manifests)
    if missing:
        raise SystemExit(f"corpus '{cfg.corpus['name']}' gave no {sorted(missing)} split")
    return dict(splits.manifests), bool(splits.synthetic)


def train_system(cfg: Config, system: str, manifests: Mapping[str, Path]) -> Path:
    """Train one system (or reuse its finished run) and return its run folder."""
    run_dir = cfg.out_dir / system
    values = merge(cfg.asr, getattr(cfg, system))
    values = merge(
        values,
        {
            "out_dir": str(run_dir),
            "data": {
                "train": str(manifests["train"]),
                "dev": str(manifests["dev"]),
                "group_by": [cfg.group],
            },
        },
    )
    asr_config = load_asr_config(values)
    started = time.perf_counter()
    result = train(asr_config, resume=True)
    print(
        f"[{system}] {result.steps} steps in {time.perf_counter() - started:.0f} s; best "
        f"{asr_config.trainer.metric} = {result.best_metric}"
    )
    return run_dir


def decode_test(cfg: Config, system: str, run_dir: Path, test: Path) -> list[dict[str, Any]]:
    recognizer = load_recognizer(run_dir)
    return evaluate_manifest(recognizer, test, cfg.out_dir / "predictions" / f"{system}.jsonl")


def per_dialect_table(
    baseline: dict[str, Any], aware: dict[str, Any], comparison: dict[str, Any]
) -> str:
    """Plain-text table: per dialect, both systems' CER with CI and the paired change."""
    rows = {g["group"]: g for g in baseline["analyses"][0]["groups"]}
    aware_rows = {g["group"]: g for g in aware["analyses"][0]["groups"]}
    paired = {g["group"]: g for g in comparison["comparisons"][0]["groups"]}
    metric = baseline["analyses"][0]["metric"].upper()
    lines = [
        f"{'dialect':<24}{'utts':>6}  {'baseline ' + metric:<24}"
        f"{'dialect-aware ' + metric:<24}{'change':>8}  p"
    ]
    for name, base in sorted(rows.items(), key=lambda kv: -(kv[1]["rate"] or 0)):
        new = aware_rows[name]
        change = (new["rate"] - base["rate"]) / base["rate"] if base["rate"] else float("nan")
        p = paired.get(name, {}).get("p_value")
        lines.append(
            f"{name:<24}{base['utterances']:>6}  {_rate(base):<24}{_rate(new):<24}"
            f"{change:>+8.1%}  {'-' if p is None else f'{p:.3f}'}"
        )
    for label, report in (("baseline", baseline), ("dialect-aware", aware)):
        gap = report["analyses"][0]["gap"]
        if gap:
            lines.append(
                f"{label}: worst {gap['worst']}, best {gap['best']}, gap "
                f"{gap['gap']:.3f} [{_ci(gap['gap_ci'])}], ratio {gap['ratio']:.2f}"
            )
    return "\n".join(lines)


def _rate(group: Mapping[str, Any]) -> str:
    return f"{group['rate']:.3f} [{_ci(group['ci'])}]" if group["rate"] is not None else "-"


def _ci(ci: Sequence[float | None]) -> str:
    low, high = ci
    return "-" if low is None or high is None else f"{low:.3f}, {high:.3f}"


def main(cfg: Config) -> dict[str, Any]:
    """Run everything; returns the comparison report as a dict."""
    manifests, synthetic = prepare_corpus(cfg)
    composition = summarise(read_manifest(manifests["train"]), [cfg.group]).format_table()
    print(f"training data per {cfg.group}{' (synthetic)' if synthetic else ''}:\n{composition}")
    predictions = {}
    for system in SYSTEMS:
        run_dir = train_system(cfg, system, manifests)
        predictions[system] = decode_test(cfg, system, run_dir, manifests["test"])
    evaluator = voxtext.registry("fairness_evaluators").create("asr-group-errors", cfg.report)
    reports = {s: evaluator.evaluate(predictions[s], [cfg.group], system=s) for s in SYSTEMS}
    comparison = evaluator.evaluate(
        predictions["dialect_aware"],
        [cfg.group],
        system="dialect_aware",
        compare=predictions["baseline"],
        compare_system="baseline",
    )
    out = cfg.out_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    for name, report in {**reports, "comparison": comparison}.items():
        (out / f"{name}.json").write_text(json.dumps(report.to_dict(), indent=2))
        (out / f"{name}.md").write_text(report.to_markdown())
    comparison.write_html(out / "comparison.html")
    (out / "training_data.md").write_text(f"# Training data per {cfg.group}\n\n{composition}\n")
    table = per_dialect_table(
        reports["baseline"].to_dict(), reports["dialect_aware"].to_dict(), comparison.to_dict()
    )
    print(f"\nTest-set error rates per {cfg.group}{' (synthetic data)' if synthetic else ''}:")
    print(table)
    print(f"\nReports: {out}/comparison.html, {out}/comparison.md, {out}/*.json")
    return comparison.to_dict()


def parse_args(argv: Sequence[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=HERE / "default.toml")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a value, e.g. asr.trainer.max_steps=100",
    )
    args = parser.parse_args(argv)
    return load_config(args.config, args.overrides)


if __name__ == "__main__":
    main(parse_args())
    sys.exit(0)
