"""Dialect-aware ASR, end to end, from a pretrained model that serves some dialects worse:

1. prepare the corpus (its test split holds speakers no training speaker shares a voice with);
2. audit the pretrained recogniser zero-shot on the test split (``[zero_shot]``);
3. fine-tune it plainly on the imbalanced training split (``[plain]``);
4. fine-tune it dialect-aware on the same split and budget (``[dialect_aware]``);
5. decode the test split with both; the dialect-aware model twice: told each speaker's
   dialect (oracle) and choosing it itself with its dialect-ID head (predicted);
6. write the per-dialect fairness report: CER with speaker-level confidence intervals, gaps,
   the paired comparisons, HTML with plots and a model card.

    python recipes/dialect_asr/run.py           # default.toml: Whisper tiny.en on 2 CPU cores
    python recipes/dialect_asr/run.py --config recipes/dialect_asr/conformer.toml  # from scratch
    python recipes/dialect_asr/run.py --config recipes/dialect_asr/full.toml       # GPUs
    python recipes/dialect_asr/run.py --set corpus.size=tiny --set out_dir=exp/tiny

Every component is named by registry name; swap the corpus for your own with
``--set corpus.name=manifest-folder --set corpus.path=/data/my_corpus``. A rerun reuses the
corpus, finished trainings and finished decodings in ``out_dir``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import voxtext
from voxtext.asr import evaluate_manifest, identification_accuracy
from voxtext.config import load_config, merge, recipe_arguments
from voxtext.data import read_manifest, summarise
from voxtext.data.predictions import read_predictions_metadata
from voxtext.tasks import config_task, get_task

HERE = Path(__file__).resolve().parent
SYSTEMS = ("plain", "dialect_aware")  # the trained ones
LABELS = {
    "zero_shot": "zero-shot",
    "plain": "plain fine-tune",
    "dialect_aware": "dialect-aware (oracle)",
    "dialect_aware_predicted": "dialect-aware (predicted)",
}
#: (system, compared with): each a paired comparison on the same test utterances.
COMPARISONS = (
    ("dialect_aware", "plain"),
    ("plain", "zero_shot"),
    ("dialect_aware_predicted", "dialect_aware"),
)


@dataclass(frozen=True)
class Config:
    """The recipe: a corpus, the recogniser audited zero-shot (``zero_shot``: a registered
    recogniser's name and settings; empty to skip), shared ASR training settings and what
    each trained system adds to them. ``predicted_groups``: also decode the dialect-aware
    model with the dialect it identifies itself (needs a dialect-id strategy)."""

    out_dir: Path = Path("exp/dialect_asr")
    group: str = "dialect"
    corpus: dict[str, Any] = field(default_factory=lambda: {"name": "espeak-dialects"})
    zero_shot: dict[str, Any] = field(default_factory=dict)
    asr: dict[str, Any] = field(default_factory=dict)
    plain: dict[str, Any] = field(default_factory=dict)
    dialect_aware: dict[str, Any] = field(default_factory=dict)
    predicted_groups: bool = False
    report: dict[str, Any] = field(default_factory=dict)


def prepare_corpus(cfg: Config) -> tuple[dict[str, Path], bool]:
    """The corpus plugin's manifests per split, and whether the data is synthetic."""
    options = {k: v for k, v in cfg.corpus.items() if k != "name"}
    corpus = voxtext.registry("corpora").create(cfg.corpus["name"], options)
    splits = corpus.prepare(cfg.out_dir / "corpus")
    missing = {"train", "dev", "test"} - set(splits.manifests)
    if missing:
        raise SystemExit(f"corpus '{cfg.corpus['name']}' gave no {sorted(missing)} split")
    return dict(splits.manifests), bool(splits.synthetic)


def stage(text: str) -> float:
    print(f"\n== {text}", flush=True)
    return time.perf_counter()


def audit_zero_shot(cfg: Config, test: Path) -> list[dict[str, Any]]:
    """The pretrained recogniser's predictions on the test split (reused when present)."""
    out = cfg.out_dir / "predictions" / "zero_shot.jsonl"
    name = cfg.zero_shot.get("name")
    if not name:
        raise SystemExit("[zero_shot] needs 'name', a registered recogniser (voxtext plugins)")
    settings = {k: v for k, v in cfg.zero_shot.items() if k != "name"}
    if _finished(out, {"name": name, **settings}):
        return _read(out)
    started = stage(f"zero-shot audit: {name} {settings} on {test}")
    recognizer = voxtext.registry("recognizers").create(name, settings)
    rows = evaluate_manifest(recognizer, test, out, source={"recognizer": name, **settings})
    _mark_finished(out, {"name": name, **settings})
    print(f"[zero_shot] {len(rows)} utterances in {time.perf_counter() - started:.0f} s")
    return rows


def system_task(cfg: Config, system: str) -> Any:
    """The registered task (``[asr] task``, default ``asr``: CTC) that trains ``system``."""
    values = merge(cfg.asr, getattr(cfg, system))
    return get_task(config_task(values), where=f"[asr] + [{system}]")


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
    task = system_task(cfg, system)
    config = task.load_config(values, where=f"[asr] + [{system}]")
    started = stage(f"training {LABELS[system]} ({config.trainer.max_steps} steps)")
    result = task.train(config, resume=True)
    print(
        f"[{system}] {result.steps} steps in {time.perf_counter() - started:.0f} s; best "
        f"{config.trainer.metric} = {result.best_metric}"
    )
    return run_dir


def decode_test(
    cfg: Config, system: str, run_dir: Path, test: Path, *, identify_groups: bool = False
) -> list[dict[str, Any]]:
    """Test-split predictions of a trained system: with the manifest's dialects (oracle), or
    with the dialect the model identifies itself (``identify_groups``)."""
    name = f"{system}_predicted" if identify_groups else system
    out = cfg.out_dir / "predictions" / f"{name}.jsonl"
    engine = system_task(cfg, system).recognizer(run_dir, identify_groups=identify_groups)
    key = {"checkpoint": engine.describe()["model"], "identify_groups": identify_groups}
    if _finished(out, key):
        return _read(out)
    started = stage(f"decoding the test split: {LABELS[name]}")
    rows = evaluate_manifest(engine, test, out, use_groups=not identify_groups)
    _mark_finished(out, key)
    print(f"[{name}] {len(rows)} utterances in {time.perf_counter() - started:.0f} s")
    return rows


def _finished(out: Path, key: Mapping[str, Any]) -> bool:
    done = out.with_name(out.stem + ".done.json")
    return out.is_file() and done.is_file() and json.loads(done.read_text()) == dict(key)


def _mark_finished(out: Path, key: Mapping[str, Any]) -> None:
    out.with_name(out.stem + ".done.json").write_text(json.dumps(dict(key)))


def _read(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def per_dialect_table(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """Plain text: per dialect, each system's CER with its 95 % CI, then the gaps."""
    systems = list(reports)
    first = reports[systems[0]]["analyses"][0]
    metric = first["metric"].upper()
    rows = {s: {g["group"]: g for g in reports[s]["analyses"][0]["groups"]} for s in systems}
    width = max(len(f"{LABELS[s]} {metric}") for s in systems) + 2
    header = "".join(f"{LABELS[s] + ' ' + metric:<{width}}" for s in systems)
    lines = [f"{'dialect':<18}{'spk':>4}{'utts':>6}  {header}".rstrip()]
    order = sorted(first["groups"], key=lambda g: -(g["rate"] or 0))
    for name in (g["group"] for g in order):
        base = rows[systems[0]][name]
        cells = "".join(f"{_rate(rows[s][name]):<{width}}" for s in systems)
        lines.append(f"{name:<18}{base['speakers']:>4}{base['utterances']:>6}  {cells}".rstrip())
    for system in systems:
        gap = reports[system]["analyses"][0]["gap"]
        if gap:
            worst, best = rows[system][gap["worst"]]["rate"], rows[system][gap["best"]]["rate"]
            lines.append(
                f"{LABELS[system]}: worst {gap['worst']} {worst:.3f}, best {gap['best']} "
                f"{best:.3f}, gap {gap['gap']:.3f} [{_ci(gap['gap_ci'])}], ratio "
                f"{gap['ratio']:.2f} [{_ci(gap['ratio_ci'])}]"
            )
    return "\n".join(lines)


def comparison_lines(comparison: Mapping[str, Any]) -> list[str]:
    """One paired comparison: per-dialect change with CI and p, and the change of the gap."""
    c = comparison["comparisons"][0]
    a, b = LABELS[c["system_a"]], LABELS[c["system_b"]]
    lines = [f"{a} vs {b} (paired over the same utterances; CI and p by {c['metric']}):"]
    for g in sorted(c["groups"], key=lambda g: g["group"]):
        p = _p(g.get("p_holm"), g.get("p_value"), c.get("p_floor"))
        lines.append(
            f"  {g['group']:<18}{g['rate_b']:.3f} -> {g['rate_a']:.3f}  reduction "
            f"{g['difference']:+.3f} [{_ci(g['ci'])}]  p (Holm) {p}"
        )
    if c.get("gap_difference") is not None:  # gap_b - gap_a, like each group's difference
        p = _p(c.get("gap_p_holm"), c.get("gap_p_value"), c.get("p_floor"))
        lines.append(
            f"  worst-best gap {c['gap_b']:.3f} -> {c['gap_a']:.3f}: reduction "
            f"{c['gap_difference']:+.3f} [{_ci(c['gap_difference_ci'])}]  p (Holm) {p}"
        )
    return lines


def _p(adjusted: float | None, raw: float | None, floor: float | None) -> str:
    """'-' where the report gives no p-value (too few speakers); '<= x' at the test's floor."""
    if adjusted is None:
        return "-"
    at_floor = raw is not None and floor is not None and raw <= floor * (1 + 1e-9)
    return f"{'<= ' if at_floor else ''}{adjusted:.3f}"


def _rate(group: Mapping[str, Any]) -> str:
    return f"{group['rate']:.3f} [{_ci(group['ci'])}]" if group["rate"] is not None else "-"


def _ci(ci: Sequence[float | None]) -> str:
    low, high = ci
    return "-" if low is None or high is None else f"{low:.3f}, {high:.3f}"


def main(cfg: Config) -> dict[str, Any]:
    """Run everything; returns the reports and comparisons as plain data."""
    started = time.perf_counter()
    stage("preparing the corpus")
    manifests, synthetic = prepare_corpus(cfg)
    test_rows = read_manifest(manifests["test"])
    composition = summarise(read_manifest(manifests["train"]), [cfg.group]).format_table()
    print(f"training data per {cfg.group}{' (synthetic)' if synthetic else ''}:\n{composition}")
    print(f"test data per {cfg.group}:\n{summarise(test_rows, [cfg.group]).format_table()}")
    predictions: dict[str, list[dict[str, Any]]] = {}
    if cfg.zero_shot:
        predictions["zero_shot"] = audit_zero_shot(cfg, manifests["test"])
    runs = {system: train_system(cfg, system, manifests) for system in SYSTEMS}
    for system in SYSTEMS:
        predictions[system] = decode_test(cfg, system, runs[system], manifests["test"])
    if cfg.predicted_groups:
        predictions["dialect_aware_predicted"] = decode_test(
            cfg, "dialect_aware", runs["dialect_aware"], manifests["test"], identify_groups=True
        )
    stage("fairness report")
    report_options = dict(cfg.report)  # [report]: `evaluator` names it, the rest configures it
    evaluator_name = report_options.pop("evaluator", "asr-group-errors")
    evaluator = voxtext.registry("fairness_evaluators").create(evaluator_name, report_options)
    reports = {
        s: evaluator.evaluate(rows, [cfg.group], system=s) for s, rows in predictions.items()
    }
    for system, report in reports.items():  # what was audited, from each file's sidecar
        metadata = read_predictions_metadata(cfg.out_dir / "predictions" / f"{system}.jsonl")
        report.audited = dict((metadata or {}).get("recognizer", {}))
    comparisons = {
        f"{a}_vs_{b}": evaluator.evaluate(
            predictions[a], [cfg.group], system=a, compare=predictions[b], compare_system=b
        )
        for a, b in COMPARISONS
        if a in predictions and b in predictions
    }
    for a, b in COMPARISONS:
        if f"{a}_vs_{b}" in comparisons:
            comparisons[f"{a}_vs_{b}"].audited = reports[a].audited
    out = cfg.out_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    for name, report in {**reports, **comparisons}.items():
        (out / f"{name}.json").write_text(json.dumps(report.to_dict(), indent=2))
        (out / f"{name}.md").write_text(report.to_markdown())
        if name in comparisons:
            report.write_html(out / f"{name}.html")
    (out / "training_data.md").write_text(f"# Training data per {cfg.group}\n\n{composition}\n")
    for system in SYSTEMS:  # a model card next to each trained system's best checkpoint
        if hasattr(reports[system], "write_model_card"):
            print(f"model card: {reports[system].write_model_card(runs[system], name=system)}")
    as_dicts = {name: report.to_dict() for name, report in reports.items()}
    print(f"\nTest-set error rates per {cfg.group}{' (synthetic data)' if synthetic else ''}:")
    print(per_dialect_table(as_dicts))
    for comparison in comparisons.values():
        print("\n".join(["", *comparison_lines(comparison.to_dict())]))
    summary: dict[str, Any] = {"reports": as_dicts}
    if "dialect_aware_predicted" in predictions:
        right, total = identification_accuracy(predictions["dialect_aware_predicted"], cfg.group)
        summary["dialect_id_accuracy"] = right / total if total else None
        print(f"\n{cfg.group} identification on the test split: {right}/{total} right")
    summary["comparisons"] = {name: c.to_dict() for name, c in comparisons.items()}
    print(f"\nReports: {out}/*.html, {out}/*.md, {out}/*.json")
    print(f"The whole job took {time.perf_counter() - started:.0f} s")
    return summary


def parse_args(argv: Sequence[str] | None = None) -> Config:
    path, overrides = recipe_arguments(
        argv,
        description=__doc__.split("\n\n")[0],
        default_config=HERE / "default.toml",
        example="asr.trainer.max_steps=100",
    )
    return load_config(Config, path, overrides)


if __name__ == "__main__":
    main(parse_args())
    sys.exit(0)
