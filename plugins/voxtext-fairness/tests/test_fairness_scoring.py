"""One scoring path (dev selection and the report agree exactly) and the spelling and
Chinese-script normalisers."""

from __future__ import annotations

import json

import pytest

import voxtext
from voxtext.speech.scoring import error_rate, grouped_error_rates


def _report(records, **options):
    evaluator = voxtext.registry("fairness_evaluators").create(
        "asr-group-errors", n_boot=50, **options
    )
    return evaluator.evaluate(records, ["dialect"])


def _records(pairs):
    return [
        {"id": f"u{i}", "ref": ref, "hyp": hyp, "groups": {"dialect": dialect}}
        for i, (ref, hyp, dialect) in enumerate(pairs)
    ]


PAIRS = [
    ("ab cd", "abcd", "a"),  # spacing only: no character error in either scorer
    ("Hello, World!", "hello word", "a"),
    ("the cat sat", "the bat sat on", "b"),
    ("", "uh", "b"),  # an empty reference still counts its insertion
    ("今天天气很好", "今天天汽很", "c"),
    ("请把窗户打开", "请 把 窗户 打开", "c"),
]


@pytest.mark.parametrize("unit", ["char", "word"])
def test_dev_selection_and_the_report_score_exactly_the_same(unit):
    normalise = voxtext.registry("text_normalizers").create("default")  # as training does
    refs = [normalise(r) for r, _, _ in PAIRS]
    hyps = [normalise(h) for _, h, _ in PAIRS]
    dev = grouped_error_rates(
        refs, hyps, [{"dialect": d} for *_, d in PAIRS], ["dialect"], unit=unit
    )
    report = _report(_records(PAIRS), normalizer="default", unit=unit)
    metric = "cer" if unit == "char" else "wer"
    assert report.analyses[0].overall_rate == dev[f"dev_{metric}"]
    for group in report.analyses[0].groups:
        assert group.rate == dev[f"dev_{metric}/dialect={group.group}"]
    assert error_rate(["ab cd"], ["abcd"], "char") == 0.0  # spaces are not characters


def test_harbour_and_harbor_are_equal_only_with_the_spelling_normaliser():
    records = _records([("The Harbour's colours", "the harbor's colors", "en-gb")])
    plain = _report(records, normalizer="default", unit="word")
    assert plain.analyses[0].groups[0].substitutions == 2  # harbour's, colours
    spelled = _report(records, normalizer="english-spelling", unit="word")
    assert spelled.analyses[0].overall_rate == 0.0
    normalise = voxtext.registry("text_normalizers").create("english-spelling")
    assert normalise("We organised the Centre's catalogue") == "we organized the center's catalog"
    assert normalise("harbor") == normalise("harbour") == "harbor"
    assert spelled.to_dict()["normalizer"]["name"] == "english-spelling"
    assert "`english-spelling`" in spelled.to_markdown()


def test_traditional_and_simplified_chinese_are_equal_only_with_the_script_normaliser():
    records = _records([("内容很好", "內容很好", "cmn")])
    plain = _report(records, normalizer="default", unit="char")
    assert plain.analyses[0].groups[0].substitutions == 1  # 內 for 内
    converted = _report(records, normalizer="zh-hans", unit="char")
    assert converted.analyses[0].overall_rate == 0.0
    described = converted.to_dict()["normalizer"]
    assert described["name"] == "zh-hans" and described["chinese_script"] == "simplified"
    assert any("OpenCC t2s" in step for step in described["steps"])


def test_the_normaliser_and_metric_are_recorded_in_every_format(tmp_path):
    report = _report(_records(PAIRS), normalizer="english-spelling", unit="char")
    data = json.loads(json.dumps(report.to_dict()))
    assert data["normalizer"]["name"] == "english-spelling"
    assert "whitespace not counted" in data["method"]["metrics"]["CER"]
    page = report.write_html(tmp_path / "r.html").read_text()
    assert "english-spelling" in page and "whitespace not counted" in page
