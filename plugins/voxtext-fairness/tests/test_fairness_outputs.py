"""What the report explains per group, third-party evaluators by name, the model card and
the HTML page as Chromium renders it."""

from __future__ import annotations

import importlib.util
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

import voxtext
from voxtext import hookimpl
from voxtext.cli import main

ROOT = Path(__file__).resolve().parents[3]


def _write(path: Path, speakers: int = 6) -> Path:
    """English predictions where 'wuu' drops 'on' and says 'hat' for 'mat'."""
    lines = []
    for dialect in ("cmn", "wuu"):
        for s in range(speakers):
            for u in range(5):
                ref = f"the cat sat on the mat number {u}"
                hyp = ref if dialect == "cmn" else ref.replace("on ", "").replace("mat", "hat")
                lines.append(
                    json.dumps(
                        {
                            "id": f"{dialect}{s}-{u}",
                            "ref": ref,
                            "hyp": hyp if u != 4 else hyp + " uh",
                            "speaker": f"{dialect}{s}",
                            "duration": 1.0 + 0.5 * u,
                            "synthetic": True,
                            "groups": {"dialect": dialect},
                        }
                    )
                )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_explanations_name_the_errors_the_missed_words_and_the_worst_utterances(tmp_path):
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "report",
                str(_write(tmp_path / "p.jsonl")),
                "--group",
                "dialect",
                "--unit",
                "word",
                "--n-boot",
                "100",
                "--format",
                "json",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    explanations = json.loads(out.read_text())["explanations"][0]
    assert explanations["best"] == "cmn"
    wuu = next(g for g in explanations["groups"] if g["group"] == "wuu")
    words = {(p["kind"], p["ref"], p["hyp"]): p["count"] for p in wuu["top_errors"]["word"]}
    assert words[("substitution", "mat", "hat")] == 30 and words[("deletion", "on", "")] == 30
    assert words[("insertion", "", "uh")] == 6
    assert [w["word"] for w in wuu["missed_words"]] == ["mat", "on"]
    assert wuu["missed_words"][0]["best_miss_rate"] == 0.0
    # tertile edges over all 60 utterances (1.0 to 3.0 s): 1.5 s and 2.5 s
    assert [b["bin"] for b in wuu["by_duration"]] == ["< 1.50s", "1.50–2.50s", "≥ 2.50s"]
    assert [b["utterances"] for b in wuu["by_duration"]] == [6, 12, 12]
    assert wuu["by_duration"][0]["rate"] == 2 / 8  # the 1.0 s utterances: 2 errors in 8 words
    worst = wuu["worst_utterances"][0]
    assert worst["errors"] == 3 and {"type": "insert", "ref": "", "hyp": "uh"} in worst["segments"]


@dataclass(frozen=True)
class CountConfig:
    label: str = "utterances"


class UtteranceCount:
    """A third party's evaluator: counts utterances per group value."""

    def __init__(self, config: CountConfig) -> None:
        self.config = config

    def evaluate(self, records, group_by):
        return CountResult(self.config.label, records, list(group_by))


class CountResult:
    def __init__(self, label, records, group_by):
        self.label, self.records, self.group_by = label, records, group_by

    def to_dict(self):
        per_group: dict[str, int] = {}
        for r in self.records:
            key = r["groups"][self.group_by[0]]
            per_group[key] = per_group.get(key, 0) + 1
        return {"measure": self.label, "total": len(self.records), "per_group": per_group}


class CountPlugin:
    @hookimpl
    def register_fairness_evaluators(self, register):
        register("utterance-count", UtteranceCount, config=CountConfig, description="counts")


def test_a_third_party_evaluator_is_used_by_name_in_every_format(tmp_path, voxtext_plugin):
    voxtext_plugin(CountPlugin(), name="count-plugin")
    preds = _write(tmp_path / "p.jsonl")
    common = ["report", str(preds), "--group", "dialect", "--n-boot", "100"]
    both = [*common, "--evaluator", "asr-group-errors", "--evaluator", "utterance-count"]
    assert main([*both, "--format", "json", "--out", str(tmp_path / "r.json")]) == 0
    extra = json.loads((tmp_path / "r.json").read_text())["extra_evaluations"]
    assert extra == [
        {
            "evaluator": "utterance-count",
            "result": {"measure": "utterances", "total": 60, "per_group": {"cmn": 30, "wuu": 30}},
        }
    ]
    assert main([*both, "--format", "html", "--out", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text()
    assert "<h2>Evaluator: utterance-count</h2>" in page and '<code>{"cmn": 30, "wuu": 30}' in page
    alone = [*common, "--evaluator", "utterance-count", "--format", "md"]
    assert main([*alone, "--out", str(tmp_path / "r.md")]) == 0
    markdown = (tmp_path / "r.md").read_text()
    assert "## Evaluator: utterance-count" in markdown and "- total: 60" in markdown


def test_an_unknown_evaluator_lists_the_known_ones(tmp_path, capsys):
    preds = _write(tmp_path / "p.jsonl")
    code = main(["report", str(preds), "--group", "dialect", "--evaluator", "nope"])
    assert code != 0
    assert "asr-group-errors" in capsys.readouterr().err


def test_model_card_is_written_next_to_the_checkpoint(tmp_path):
    checkpoint = tmp_path / "run" / "checkpoint-10"
    checkpoint.mkdir(parents=True)
    (checkpoint / "model.safetensors").write_bytes(b"")
    rows = [
        {
            "group": "all",
            "value": "all",
            "utterances": 90,
            "hours": 0.5,
            "speakers": 9,
            "without_speaker": 0,
        },
        {
            "group": "dialect",
            "value": "wuu",
            "utterances": 10,
            "hours": 0.05,
            "speakers": 1,
            "without_speaker": 0,
        },
    ]
    metadata = {
        "step": 10,
        "saved_at": "today",
        "voxtext_version": "0.1.0",
        "metadata": {
            "format": "voxtext.checkpoint/2",
            "task": "asr",
            "components": {},
            "task_state": {"training_data": rows},
        },
    }
    (checkpoint / "metadata.json").write_text(json.dumps(metadata))
    (tmp_path / "run" / "best").write_text("checkpoint-10\n")
    preds = _write(tmp_path / "p.jsonl")
    assert (
        main(
            [
                "report",
                str(preds),
                "--group",
                "dialect",
                "--n-boot",
                "100",
                "--normalizer",
                "english-spelling",
                "--model-card",
                str(tmp_path / "run"),
                "--out",
                str(tmp_path / "r.md"),
            ]
        )
        == 0
    )
    card = (checkpoint / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: voxtext\n")
    for heading in (
        "## Intended use",
        "## Out-of-scope use",
        "## Training data",
        "## Known gaps and why",
        "## Limitations",
        "## Normaliser and metric",
    ):
        assert heading in card
    assert "| dialect | wuu | 10 | 0.05 | 1 |" in card
    assert "**Synthetic data.**" in card and "`english-spelling`" in card
    assert "**wuu**" in card and "mat→hat" in card  # the gap and its explanation


def _load_screenshot_script():
    spec = importlib.util.spec_from_file_location(
        "screenshot_report", ROOT / "scripts" / "screenshot_report.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    not any(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")),
    reason="headless Chromium is not installed (scripts/install.sh installs Debian's chromium)",
)
def test_the_explanations_section_renders_in_chromium(tmp_path):
    from PIL import Image

    script = _load_screenshot_script()
    evaluator = voxtext.registry("fairness_evaluators").create("asr-group-errors", n_boot=100)
    records = [json.loads(line) for line in _write(tmp_path / "p.jsonl").read_text().splitlines()]
    report = evaluator.evaluate(records, ["dialect"])
    full = script.screenshot(report.write_html(tmp_path / "full.html"), tmp_path / "full.png")
    report.explanations = []
    bare = script.screenshot(report.write_html(tmp_path / "bare.html"), tmp_path / "bare.png")
    assert full.is_file() and bare.is_file()
    with Image.open(full) as a, Image.open(bare) as b:
        # the section: a heading, a plot (about 360 px), per group lists and coloured diffs
        assert a.width == 1200 and a.height - b.height > 700, (a.height, b.height)


def test_identified_groups_give_a_confusion_matrix(tmp_path):
    rows = [json.loads(line) for line in _write(tmp_path / "p.jsonl").read_text().splitlines()]
    for i, row in enumerate(rows):  # the model calls every third wuu utterance cmn
        wrong = row["groups"]["dialect"] == "wuu" and i % 3 == 0
        row["extra"] = {
            "predicted_groups": {"dialect": "cmn" if wrong else row["groups"]["dialect"]}
        }
    evaluator = voxtext.registry("fairness_evaluators").create("asr-group-errors", n_boot=100)
    report = evaluator.evaluate(rows, ["dialect"])
    (matrix,) = report.identification
    assert matrix.labels == ["cmn", "wuu"] and matrix.counts == [[30, 0], [10, 20]]
    assert matrix.accuracy == 50 / 60
    assert "| wuu | 10 | 20 |" in report.to_markdown()
    assert evaluator.evaluate(rows[:2], ["dialect"]).identification[0].utterances == 2
    for row in rows:
        del row["extra"]
    assert evaluator.evaluate(rows, ["dialect"]).identification == []
