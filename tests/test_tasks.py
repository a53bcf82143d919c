"""Tasks as plugins: a third party's task, registered from a throwaway plugin, trains through
``voxtext train`` and is audited through ``voxtext evaluate`` like the first-party ones,
either as a speech task (its recogniser decodes the manifest) or as a task that scores the
file itself."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from voxtext import cli, hookimpl
from voxtext.data.manifest import read_manifest
from voxtext.protocols import (
    EvaluatingTask,
    EvaluationRequest,
    EvaluationResult,
    RecognitionInput,
    SpeechTask,
    Task,
)
from voxtext.registry import PluginInfo
from voxtext.testing import isolated_plugin_manager, write_tone_corpus


def _template_task() -> Any:
    """The template plugin's example task module (``plugins/_template``), loaded from its
    file: this test registers it in-process; tests/test_third_party_plugin.py pip-installs
    the template and runs it through the commands in a child process."""
    path = Path(__file__).resolve().parents[1] / "plugins/_template/voxtext_myplugin/task.py"
    spec = importlib.util.spec_from_file_location("template_letter_count", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


LetterCountTask = _template_task().LetterCountTask


class ScoredLetterCountTask(LetterCountTask):
    """The same model, but the task scores a manifest itself: the share of exact counts."""

    name = "letter-count-scored"

    def evaluate(self, request: EvaluationRequest) -> EvaluationResult:
        recognizer = self.recognizer(request.checkpoint)
        utterances = read_manifest(request.data)
        items = [
            RecognitionInput(u.id, [0.0] * round(u.duration * 16000), 16000) for u in utterances
        ]
        hyps = recognizer.transcribe(items)
        right = sum(len(h.text) == len(u.text) for h, u in zip(hyps, utterances, strict=True))
        out = request.out or Path("counts.json")
        out.write_text(json.dumps({"right": right, "n": len(utterances)}))
        return EvaluationResult({"count_accuracy": right / len(utterances)}, f"counts in {out}")


class TaskPlugin:
    @hookimpl
    def register_tasks(self, register: Any) -> None:
        register("letter-count", LetterCountTask, description="letters from duration (test)")
        register("letter-count-scored", ScoredLetterCountTask, description="scores itself")


def write_job(tmp_path: Path, task: str) -> tuple[Path, Path]:
    """A tone corpus and a config training ``task`` on it into ``tmp_path/run``."""
    manifest = write_tone_corpus(tmp_path / "data", n=16)
    config = tmp_path / "count.toml"
    config.write_text(
        f'task = "{task}"\nout_dir = "{tmp_path / "run"}"\ntrain = "{manifest}"\n'
        "[trainer]\nmax_steps = 300\nlr = 0.1\nprogress = false\n"
    )
    return manifest, config


def test_a_third_party_task_trains_and_evaluates_through_the_commands(tmp_path, capsys):
    manifest, config = write_job(tmp_path, "letter-count")
    with isolated_plugin_manager() as manager:
        manager.add_plugin(TaskPlugin(), PluginInfo("voxtext-count", "0.1.0"))
        assert isinstance(LetterCountTask(), Task) and isinstance(LetterCountTask(), SpeechTask)
        assert not isinstance(LetterCountTask(), EvaluatingTask)
        assert cli.main(["train", str(config)]) == 0
        assert "voxtext train: 300 steps" in capsys.readouterr().out
        out = tmp_path / "predictions.jsonl"
        assert cli.main(["evaluate", str(tmp_path / "run"), str(manifest), "--out", str(out)]) == 0
        capsys.readouterr()
        # the same run transcribes files through the task's recogniser
        audio = [str(manifest.parent / r["audio"]) for r in map(json.loads, manifest.open())]
        assert cli.main(["transcribe", str(tmp_path / "run"), *audio[:3]]) == 0
        transcribed = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    rows = [json.loads(line) for line in out.open()]
    assert transcribed == [[a, r["hyp"]] for a, r in zip(audio[:3], rows[:3], strict=True)]
    assert len(rows) == 16 and all(set(r["hyp"]) <= {"x"} for r in rows)
    # duration fixes the letter count in this corpus, so the fit gets most counts right
    right = sum(len(r["hyp"]) == len(r["ref"]) for r in rows)
    assert right >= 12, rows
    meta = json.loads((tmp_path / "predictions.meta.json").read_text())
    assert meta["recognizer"]["engine"] == "letter-count"


def test_a_third_party_task_that_scores_files_itself(tmp_path, capsys):
    manifest, config = write_job(tmp_path, "letter-count-scored")
    out = tmp_path / "counts.json"
    with isolated_plugin_manager() as manager:
        manager.add_plugin(TaskPlugin(), PluginInfo("voxtext-count", "0.1.0"))
        assert isinstance(ScoredLetterCountTask(), EvaluatingTask)
        assert cli.main(["train", str(config)]) == 0
        capsys.readouterr()
        run = str(tmp_path / "run")
        assert cli.main(["evaluate", run, str(manifest), "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        # options the task has no use for are refused by name, not dropped
        assert cli.main(["evaluate", run, str(manifest), "--decoder", "ctc-beam"]) != 0
        assert "--decoder: not for" in capsys.readouterr().err
    counts = json.loads(out.read_text())
    assert counts["n"] == 16 and counts["right"] >= 12, counts
    assert f"count_accuracy\t{counts['right'] / 16:.4f}" in printed
    assert f"voxtext evaluate: counts in {out}" in printed
