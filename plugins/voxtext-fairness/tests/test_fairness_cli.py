"""`voxtext report` end to end: three formats, checkpoints, comparison and bad input."""

from __future__ import annotations

import json
import random

import pytest

from voxtext.cli import main


def _write(path, scale=1.0, seed=0, synthetic=True):
    rng, text_rng = random.Random(seed), random.Random(0)
    lines = []
    for dialect, base in {"cmn": 0.05, "wuu": 0.3, "yue": 0.15}.items():
        for speaker in range(6):
            for utterance in range(6):
                ref = "".join(text_rng.choice("今天天气很好我们去公园") for _ in range(8))
                hyp = "".join(c if rng.random() > base * scale else "错" for c in ref)
                lines.append(
                    json.dumps(
                        {
                            "id": f"{dialect}{speaker}-{utterance}",
                            "ref": ref,
                            "hyp": hyp,
                            "speaker": f"{dialect}{speaker}",
                            "duration": 2.0,
                            "synthetic": synthetic,
                            "groups": {"dialect": dialect, "gender": "fm"[speaker % 2]},
                        },
                        ensure_ascii=False,
                    )
                )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_report_markdown_json_and_html(tmp_path, capsys):
    preds = _write(tmp_path / "preds.jsonl")
    other = _write(tmp_path / "other.jsonl", scale=0.5, seed=1)
    early = _write(tmp_path / "early.jsonl", scale=2.0, seed=2)
    common = [
        "--group",
        "dialect",
        "--group",
        "gender",
        "--intersect",
        "--reference",
        "cmn",
        "--n-boot",
        "200",
    ]
    assert main(["report", str(preds), *common]) == 0
    markdown = capsys.readouterr().out
    assert "## CER by dialect" in markdown and "## CER by dialect × gender" in markdown
    assert "Synthetic data" in markdown and "| wuu |" in markdown

    out = tmp_path / "report.json"
    assert (
        main(
            [
                "report",
                str(early),
                str(preds),
                *common,
                "--compare",
                str(other),
                "--format",
                "json",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert report["schema"] == "voxtext.fairness/2" and report["data"]["synthetic"] is True
    dialect = report["analyses"][0]
    assert dialect["gap"]["worst"] == "wuu" and dialect["gap"]["best"] == "cmn"
    assert dialect["gap"]["gap_ci"][0] > 0  # a 25-point gap over 36 utterances is real
    assert [p["label"] for p in report["history"]] == ["early", "preds"]
    assert report["comparisons"][0]["system_b"] == "other"

    html = tmp_path / "report.html"
    assert main(["report", str(preds), *common, "--format", "html", "--out", str(html)]) == 0
    page = html.read_text()
    # a bar plot per analysis (dialect, gender, their intersection) and a duration/speaking-
    # rate plot in each single attribute's explanations
    assert page.count("data:image/png;base64,") == 5 and "<table>" in page
    assert "<h2>Why groups differ: CER by dialect</h2>" in page and 'class="diff"' in page


def test_bad_predictions_file_lists_every_problem_with_file_line_and_field(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        "\n".join(
            [
                json.dumps({"id": "a", "ref": "x", "hyp": "x", "groups": {"dialect": "cmn"}}),
                json.dumps({"id": "b", "ref": 3, "hyp": "x", "groups": {"dialect": "cmn"}}),
                json.dumps({"id": "c", "ref": "x", "groups": {"gender": "f"}}),
                "{not json",
                json.dumps(
                    {
                        "id": "a",
                        "ref": "x",
                        "hyp": "x",
                        "groups": {"dialect": "yue"},
                        "duration": -1,
                        "spaeker": "s",
                    }
                ),
            ]
        )
        + "\n"
    )
    assert main(["report", str(bad), "--group", "dialect"]) == 2
    error = capsys.readouterr().err
    assert f"{bad}:2: field 'ref': is a number, expected a string" in error
    assert f"{bad}:3: field 'hyp': missing required field" in error
    assert f"{bad}:3: field 'groups.dialect': has no value for 'dialect'" in error
    assert f"{bad}:4: invalid JSON" in error
    assert f"{bad}:5: field 'id': duplicate id 'a' (first used on line 1)" in error
    assert f"{bad}:5: field 'duration'" in error
    assert f"{bad}:5: field 'spaeker': unknown field" in error and "did you mean 'speaker'" in error


def test_html_needs_an_output_path(tmp_path, capsys):
    preds = _write(tmp_path / "p.jsonl")
    assert main(["report", str(preds), "--group", "dialect", "--format", "html"]) == 2
    assert "--out" in capsys.readouterr().err


def test_comparison_of_different_test_sets_is_refused(tmp_path, capsys):
    preds = _write(tmp_path / "p.jsonl")
    other = tmp_path / "o.jsonl"
    other.write_text("".join(preds.read_text().splitlines(keepends=True)[:-3]))
    assert (
        main(
            ["report", str(preds), "--group", "dialect", "--compare", str(other), "--n-boot", "50"]
        )
        == 2
    )
    assert "must score the same utterances" in capsys.readouterr().err


@pytest.mark.parametrize("n_boot", ["0", "5"])
def test_too_few_replicates_is_a_config_error(tmp_path, capsys, n_boot):
    preds = _write(tmp_path / "p.jsonl")
    assert main(["report", str(preds), "--group", "dialect", "--n-boot", n_boot]) == 2
    assert "n_boot" in capsys.readouterr().err
