"""The path a third party takes: copy the template (or the README's 20-line example),
pip-install it (no network), and find it listed by `voxtext plugins` and usable."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("third_party")
    source = work / "voxtext-myplugin"
    shutil.copytree(ROOT / "plugins" / "_template", source)
    return pip_install(source, work / "site")


def pip_install(source: Path, site: Path) -> dict[str, str]:
    """Install ``source`` into ``site`` offline; the environment that puts it on sys.path."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    command += ["--no-build-isolation", "--target", str(site), str(source)]
    subprocess.run(command, check=True, capture_output=True, text=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    return env


def test_pip_installed_plugin_is_listed(installed_template):
    result = subprocess.run(
        [sys.executable, "-m", "voxtext.cli", "plugins", "--json"],
        env=installed_template,
        capture_output=True,
        text=True,
        check=False,
    )
    table = json.loads(result.stdout)
    mine = next(p for p in table["plugins"] if p["name"] == "voxtext-myplugin")
    assert mine["version"] == "0.1.0"
    assert mine["hooks"] == ["register_augmentations", "register_tasks"]
    assert mine["components"] == {"augmentations": ["peak-normalise"], "tasks": ["letter-count"]}


def test_pip_installed_plugin_is_usable(installed_template):
    code = (
        "import torch, voxtext\n"
        "aug = voxtext.registry('augmentations').create('peak-normalise', peak=0.25)\n"
        "y, _ = aug(torch.tensor([[0.5, -1.0]]), torch.tensor([2]), torch.Generator())\n"
        "print(float(y.abs().max()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=installed_template,
        capture_output=True,
        text=True,
        check=True,
    )
    assert float(result.stdout) == pytest.approx(0.25)


def voxtext(env: dict[str, str], *argv: str) -> str:
    """``voxtext ARGV`` in a child process with the installed plugin; its stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "voxtext.cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_template_task_trains_evaluates_and_transcribes_through_the_commands(
    installed_template, tmp_path
):
    from voxtext.testing import write_tone_corpus

    manifest = write_tone_corpus(tmp_path / "data", n=16)
    config, run = tmp_path / "count.toml", tmp_path / "run"
    config.write_text(
        f'task = "letter-count"\nout_dir = "{run}"\ntrain = "{manifest}"\n'
        "[trainer]\nmax_steps = 300\nlr = 0.1\nprogress = false\n"
    )
    assert "voxtext train: 300 steps" in voxtext(installed_template, "train", str(config))
    saved = json.loads(next(run.glob("checkpoint-*/metadata.json")).read_text())
    assert saved["metadata"]["task"] == "letter-count"
    out = tmp_path / "predictions.jsonl"
    voxtext(installed_template, "evaluate", str(run), str(manifest), "--out", str(out))
    rows = [json.loads(line) for line in out.open()]
    # duration fixes the letter count in this corpus, so the fit gets most counts right
    assert sum(len(r["hyp"]) == len(r["ref"]) for r in rows) >= 12, rows
    audio = [str(manifest.parent / r["audio"]) for r in map(json.loads, manifest.open())]
    printed = voxtext(installed_template, "transcribe", str(run), *audio[:3])
    assert [line.split("\t") for line in printed.splitlines()] == [
        [a, r["hyp"]] for a, r in zip(audio[:3], rows[:3], strict=True)
    ]


def test_template_own_tests_pass_once_installed(installed_template):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(ROOT / "plugins" / "_template" / "tests"),
        ],
        env=installed_template,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT / "plugins" / "_template",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_readme_plugin_example_installs_and_works(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    toml = re.search(r"```toml\n# pyproject.toml\n(.*?)```", readme, re.S)
    module = re.search(r"```python\n# voxtext_loudness.py\n(.*?)```", readme, re.S)
    assert toml and module, "README lost its plugin example"
    source = tmp_path / "voxtext-loudness"
    source.mkdir()
    (source / "pyproject.toml").write_text(toml.group(1))
    (source / "voxtext_loudness.py").write_text(module.group(1))
    env = pip_install(source, tmp_path / "site")
    listing = subprocess.run(
        [sys.executable, "-m", "voxtext.cli", "plugins", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    mine = next(p for p in json.loads(listing.stdout)["plugins"] if p["name"] == "voxtext-loudness")
    assert mine["components"] == {"augmentations": ["gain"]}
    code = (
        "import torch, voxtext\n"
        "gain = voxtext.registry('augmentations').create('gain', gain_db=20.0)\n"
        "print(float(gain(torch.ones(1, 2), torch.tensor([2]), None)[0].max()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert float(out.stdout) == pytest.approx(10.0)
