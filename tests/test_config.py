from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from voxtext.config import (
    build_config,
    load_config,
    merge,
    parse_overrides,
    recipe_arguments,
    to_dict,
)
from voxtext.errors import ConfigError


@dataclass(frozen=True)
class Optim:
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.98)


@dataclass(frozen=True)
class Job:
    name: str
    out: Path = Path("exp")
    optim: Optim = field(default_factory=Optim)
    mode: Literal["ctc", "attention"] = "ctc"
    layers: tuple[int, ...] = (1, 2)
    seed: int | None = None


def test_nested_build_and_coercions():
    job = build_config(
        Job,
        {
            "name": "a",
            "out": "x/y",
            "optim": {"lr": 1, "betas": [0.8, 0.9]},
            "layers": [3],
            "seed": None,
        },
    )
    assert job.out == Path("x/y") and job.optim == Optim(1.0, (0.8, 0.9))
    assert job.layers == (3,) and job.seed is None
    assert to_dict(job)["out"] == "x/y" and to_dict(job)["optim"]["betas"] == [0.8, 0.9]


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as info:
        build_config(
            Job,
            {
                "optim": {"lrr": 1, "betas": [1, 2, 3]},
                "mode": "rnnt",
                "seed": "7",
                "layers": [1, True],
            },
            where="job.toml",
        )
    message = str(info.value)
    assert "job.toml.optim: unknown field 'lrr'. Did you mean 'lr'?" in message
    assert "job.toml.mode: 'rnnt' is not one of 'ctc', 'attention'" in message
    assert "job.toml.layers[1]: expected an integer, got True" in message
    assert "job.toml: missing required field 'name'" in message
    assert "job.toml.seed" in message


def test_parse_overrides_reads_toml_values_and_plain_strings():
    values = parse_overrides(["optim.lr=3e-4", "name=run-1", "layers=[4, 5]", "flag=true"])
    assert values == {"optim": {"lr": 3e-4}, "name": "run-1", "layers": [4, 5], "flag": True}
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_overrides(["oops"])
    with pytest.raises(ConfigError, match="both a value and a table"):
        parse_overrides(["a=1", "a.b=2"])


def test_one_loader_for_files_mappings_and_command_lines(tmp_path):
    path = tmp_path / "job.toml"
    path.write_text('name = "from-file"\n[optim]\nlr = 0.1\n')
    job = load_config(Job, path, ["optim.lr=0.5", "layers=[3]"])
    assert (job.name, job.optim.lr, job.optim.betas, job.layers) == (
        "from-file",
        0.5,
        (0.9, 0.98),
        (3,),
    )
    with pytest.raises(ConfigError, match=r"job\.toml: unknown field 'nmae'"):
        load_config(Job, path, ["nmae=x"])
    with pytest.raises(ConfigError, match=r"^defaults: missing required field 'name'"):
        load_config(Job, {}, where="defaults")
    config, overrides = recipe_arguments(
        ["--set", "a.b=1", "--set=c=2"],
        description="a recipe",
        default_config=path,
        example="a.b=1",
    )
    assert (config, overrides) == (path, ["a.b=1", "c=2"])


def test_merge_is_recursive():
    assert merge({"a": {"b": 1, "c": 2}, "d": 1}, {"a": {"b": 5}}) == {
        "a": {"b": 5, "c": 2},
        "d": 1,
    }
