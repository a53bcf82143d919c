"""Smoke test of the README's main job: the dialect-ASR recipe at a tiny size, end to end
(synthetic corpus, two trainings, decoding, fairness report)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    shutil.which("espeak-ng") is None,
    reason="espeak-ng not installed (scripts/install.sh installs it)",
)


def load_recipe():
    spec = importlib.util.spec_from_file_location(
        "dialect_asr_run", ROOT / "recipes/dialect_asr/run.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_tiny_recipe_runs_end_to_end(tmp_path, capsys):
    recipe = load_recipe()
    cfg = recipe.parse_args(
        [
            "--set",
            f"out_dir={tmp_path}",
            "--set",
            "corpus.size=tiny",
            "--set",
            'corpus.dialects=["en-us", "en-gb-scotland"]',
            "--set",
            "corpus.imbalance=0.75",
            "--set",
            "corpus.progress=false",
            "--set",
            "asr.trainer.max_steps=12",
            "--set",
            "asr.trainer.eval_every_steps=6",
            "--set",
            "asr.trainer.progress=false",
            "--set",
            "asr.encoder.num_layers=1",
            "--set",
            "asr.encoder.d_model=32",
            "--set",
            "report.n_boot=100",
        ]
    )
    comparison = recipe.main(cfg)
    out = capsys.readouterr().out
    assert "Test-set error rates per dialect (synthetic data)" in out
    assert "en-us" in out and "en-gb-scotland" in out
    assert comparison["data"]["synthetic"] is True
    groups = {g["group"] for g in comparison["comparisons"][0]["groups"]}
    assert groups == {"en-us", "en-gb-scotland"}
    for name in ("baseline", "dialect_aware"):
        predictions = [
            json.loads(line) for line in (tmp_path / "predictions" / f"{name}.jsonl").open()
        ]
        assert {p["groups"]["dialect"] for p in predictions} == groups
        metadata = json.loads(
            next((tmp_path / name).glob("checkpoint-*/metadata.json")).read_text()
        )
        assert metadata["metadata"]["components"]["encoder"]["plugin"] == "voxtext-encoders"
    for report in ("comparison.html", "comparison.md", "baseline.json", "training_data.md"):
        assert (tmp_path / "report" / report).stat().st_size > 0
