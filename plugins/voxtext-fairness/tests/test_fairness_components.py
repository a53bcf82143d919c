"""Normalisers, resampling pieces, classification metrics and the report's shape."""

from __future__ import annotations

import json

import numpy as np
import pytest
from voxtext_fairness.resampling import (
    bootstrap_totals,
    cluster_sums,
    holm,
    make_rng,
    permutation_rate_pvalues,
)

import voxtext
from voxtext.errors import ConfigError, DataError
from voxtext.protocols import FairnessEvaluator, TextNormalizer


def test_default_normalizer_folds_width_case_punctuation_and_space():
    normalize = voxtext.registry("text_normalizers").create("default")
    assert isinstance(normalize, TextNormalizer)
    assert normalize("ＨＥＬＬＯ，  Wörld!  Don’t") == "hello wörld don't"
    assert normalize("你好，世界。") == "你好 世界"
    assert normalize("ﾃｽﾄ") == "テスト"  # half-width katakana to full width
    ascii_digits = voxtext.registry("text_normalizers").create("default", numerals="ascii")
    assert ascii_digits("अंक ४२") == "अंक 42"
    assert "numerals" in ascii_digits.describe()
    assert voxtext.registry("text_normalizers").create("none")("A, b") == "A, b"


def test_holm_matches_the_textbook_example():
    adjusted = holm(np.array([0.01, 0.04, 0.03, np.nan, 0.005]))
    assert adjusted[[4, 0, 2, 1]] == pytest.approx([0.02, 0.03, 0.06, 0.06])
    assert np.isnan(adjusted[3])


def test_packed_and_unpacked_bootstrap_give_the_same_totals():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 50, size=(500, 2))
    sums = cluster_sums(values, rng.integers(0, 4, 500), rng.integers(0, 60, 500), 4)
    packed = bootstrap_totals(sums, 30, make_rng(3))
    three_columns = type(sums)(np.c_[sums.values, sums.values[:, :1]], sums.group_starts)
    unpacked = bootstrap_totals(three_columns, 30, make_rng(3))  # 3 columns cannot pack
    assert np.array_equal(packed, unpacked[..., :2])


def test_cluster_bootstrap_keeps_speakers_whole():
    # Two speakers, every utterance of a speaker identical: a replicate's rate can only be
    # one of the few mixtures of whole speakers, never a mixture of single utterances.
    values = np.array([[1, 10]] * 5 + [[5, 10]] * 5)
    sums = cluster_sums(values, np.zeros(10, int), np.repeat([0, 1], 5), 1)
    boot = bootstrap_totals(sums, 200, make_rng(0))
    rates = set(np.round(boot[:, 0, 0] / boot[:, 0, 1], 6))
    assert rates <= {0.1, 0.5}


def test_permutation_pvalue_is_small_for_a_clear_gap_and_large_without():
    errors_a, errors_b = np.full(20, 1), np.full(20, 6)
    values = np.c_[np.r_[errors_a, errors_b], np.full(40, 10)]
    sums = cluster_sums(values, np.repeat([0, 1], 20), np.arange(40), 2)
    p = permutation_rate_pvalues(sums, 500, make_rng(0), reference=0)
    assert np.isnan(p[0]) and p[1] < 0.01
    same = cluster_sums(
        np.c_[np.tile([1, 3], 20), np.full(40, 10)], np.repeat([0, 1], 20), np.arange(40), 2
    )
    assert permutation_rate_pvalues(same, 500, make_rng(0), reference=None)[0] > 0.5


def _records():
    return [
        {
            "id": f"{d}{i}",
            "ref": "a b c d",
            "hyp": "a b c d" if d == "x" else "a x c",
            "speaker": f"{d}{i % 3}",
            "groups": {"dialect": d},
            "duration": 1.8,
        }
        for d in "xy"
        for i in range(12)
    ]


def test_report_dict_is_versioned_json_and_flags_small_groups(tmp_path):
    evaluator = voxtext.registry("fairness_evaluators").create("asr-group-errors", n_boot=100)
    assert isinstance(evaluator, FairnessEvaluator)
    report = evaluator.evaluate(_records(), ["dialect"])
    data = json.loads(json.dumps(report.to_dict()))
    assert data["schema"] == "voxtext.fairness/2"
    assert data["normalizer"]["name"] == "default" and data["method"]["units"] == ["word"]
    y = next(g for g in data["analyses"][0]["groups"] if g["group"] == "y")
    assert (y["substitutions"], y["deletions"], y["rate"]) == (12, 12, 0.5)
    assert y["hours"] == pytest.approx(12 * 1.8 / 3600)
    # 3 speakers: no interval and no p-value, and the report says why instead
    assert y["ci"] == [None, None] and y["p_value"] is None and y["p_holm"] is None
    assert y["ci_note"] == "too few speakers for an interval/p-value (n = 3 < 5)"
    assert any(y["ci_note"] in w for w in y["warnings"])
    # the group bars and the explanations' rate-by-duration plot
    assert report.write_html(tmp_path / "r.html").read_text().count("<img") == 2


def test_missing_group_attribute_and_empty_group_by_are_reported():
    evaluator = voxtext.registry("fairness_evaluators").create("asr-group-errors", n_boot=20)
    with pytest.raises(DataError, match=r"records:1: field 'groups.gender'"):
        evaluator.evaluate(_records(), ["gender"])
    with pytest.raises(ConfigError, match="group_by is empty"):
        evaluator.evaluate(_records(), [])
    with pytest.raises(ConfigError, match="unit"):
        voxtext.registry("fairness_evaluators").create("asr-group-errors", unit="letters")


def test_ece_and_counterfactual_gap():
    evaluator = voxtext.registry("fairness_evaluators").create(
        "classification-fairness", n_boot=50, ece_bins=2
    )
    items = [
        {"id": str(i), "label": 1, "pred": 1, "score": 0.9, "groups": {"g": "a"}} for i in range(10)
    ]
    items += [
        {"id": f"b{i}", "label": int(i < 5), "pred": 1, "score": 0.8, "groups": {"g": "b"}}
        for i in range(10)
    ]
    analysis = evaluator.evaluate(items, ["g"]).analyses[0]
    ece = {g.group: g.metrics["ece"].value for g in analysis.groups}
    assert ece["a"] == pytest.approx(0.1) and ece["b"] == pytest.approx(0.3)
    result = evaluator.counterfactual_gap(
        ["He said yes", "SHE left", "no terms"],
        lambda xs: [len(x) / 10 for x in xs],
        [("he", "she")],
    )
    assert result.changed == 2 and result.mean_abs_difference == pytest.approx(0.1)
    assert result.examples[0]["counterfactual"] in {"She said yes", "HE left"}
