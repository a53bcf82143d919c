"""Every shipped recipe config builds: its corpus config and both systems' configs through
their registered task (so a typo in full.toml is caught here, not after an hour on a GPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

import voxtext
from voxtext.config import merge

from .test_dialect_asr_recipe import ROOT, load_recipe

CONFIGS = sorted((ROOT / "recipes" / "dialect_asr").glob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_recipe_config_builds(path: Path):
    recipe = load_recipe()
    cfg = recipe.parse_args(["--config", str(path)])
    options = {k: v for k, v in cfg.corpus.items() if k != "name"}
    voxtext.registry("corpora").get(cfg.corpus["name"]).make_config(options)
    for system in recipe.SYSTEMS:
        data = {"train": "train.jsonl", "dev": "dev.jsonl", "group_by": [cfg.group]}
        values = merge(merge(cfg.asr, getattr(cfg, system)), {"out_dir": "x", "data": data})
        config = recipe.system_task(cfg, system).load_config(values, where=path.name)
        assert config.trainer.max_steps
    aware = merge(cfg.asr, cfg.dialect_aware)
    assert aware.get("group_attribute") == cfg.group and aware.get("strategies")
    if cfg.zero_shot:
        settings = {k: v for k, v in cfg.zero_shot.items() if k != "name"}
        voxtext.registry("recognizers").get(cfg.zero_shot["name"]).make_config(settings)
    if cfg.predicted_groups:
        names = [s["name"] for s in aware["strategies"]]
        assert "dialect-id" in names, "predicted groups need a dialect-id head"
