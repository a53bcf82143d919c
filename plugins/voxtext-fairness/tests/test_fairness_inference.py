"""Honest inference: nothing the data cannot resolve is printed; p-values carry their
resolution; Holm families; cross-checks against statsmodels and scipy; the length model."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from voxtext_fairness.group_stats import GroupedCounts, StatsSettings, analyse_groups
from voxtext_fairness.length_model import fit_length_model
from voxtext_fairness.markdown import p_text
from voxtext_fairness.resampling import bootstrap_totals, cluster_sums, holm, make_rng

import voxtext

TOO_FEW = "too few speakers for an interval/p-value (n = 2 < 5)"


def _records(speakers_per_group: int, utterances: int = 10, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    words = [f"w{k}" for k in range(14)]
    records = []
    for dialect, noise in {"cmn": 0.05, "wuu": 0.4, "yue": 0.2}.items():
        for s in range(speakers_per_group):
            for u in range(utterances):
                ref = list(rng.choice(words, size=6))
                hyp = [w if rng.random() > noise else "bat" for w in ref]
                records.append(
                    {
                        "id": f"{dialect}{s}-{u}",
                        "ref": " ".join(ref),
                        "hyp": " ".join(hyp),
                        "speaker": f"{dialect}{s}",
                        "duration": float(1 + rng.random()),
                        "groups": {"dialect": dialect},
                    }
                )
    return records


def _evaluator(**options):
    return voxtext.registry("fairness_evaluators").create("asr-group-errors", n_boot=200, **options)


def test_two_speaker_groups_print_no_interval_and_no_p_value_and_say_why():
    records = _records(speakers_per_group=2)
    report = _evaluator(reference="cmn").evaluate(
        records, ["dialect"], compare=records, compare_system="same"
    )
    analysis = report.analyses[0]
    for group in analysis.groups:
        assert group.ci == (None, None) and group.diff_ci == (None, None)
        assert group.p_value is None and group.p_holm is None
        assert group.ci_note == TOO_FEW
    assert analysis.gap.gap_ci == (None, None) and analysis.gap.ratio_ci == (None, None)
    assert analysis.gap.note.endswith(TOO_FEW) and analysis.gap.significant == []
    comparison = report.comparisons[0]
    assert all(g.ci == (None, None) and g.p_value is None for g in comparison.groups)
    assert comparison.gap_difference_ci == (None, None) and comparison.gap_p_value is None
    assert report.length_adjusted[0].note.endswith(TOO_FEW)
    markdown = report.to_markdown()
    assert TOO_FEW in markdown
    table = next(line for line in markdown.splitlines() if line.startswith("| wuu |"))
    assert "n/a¹" in table and not re.search(r"\[\d", table)  # no interval in the row
    # 6 speakers overall: the overall rate still gets its interval
    assert analysis.overall_ci[0] < analysis.overall_rate < analysis.overall_ci[1]


def test_overall_interval_resamples_speakers_across_groups_when_each_has_one():
    rng = np.random.default_rng(3)
    units = rng.integers(5, 15, size=80)
    errors = rng.binomial(units, np.repeat(rng.uniform(0.1, 0.6, size=8), 10))
    groups = np.repeat([f"g{k}" for k in range(8)], 10)
    counts = GroupedCounts.from_arrays(errors, units, groups, groups)  # one speaker per group
    analysis, _ = analyse_groups(counts, StatsSettings(n_boot=500))
    low, high = analysis.overall_ci
    assert low is not None and low < analysis.overall_rate < high and high - low > 0.05
    assert analysis.overall_resampling == "speakers across all groups"
    assert all(g.ci == (None, None) for g in analysis.groups)


def test_p_values_are_printed_with_their_resolution():
    floor = 2 / 1001  # the bootstrap test with 1000 replicates
    assert p_text(floor, floor) == "≤ 0.002"
    assert p_text(3 * floor, floor, family=3) == "≤ 0.006"  # Holm of a p at the floor
    assert p_text(3 * floor, floor, family=2) == "0.006"  # that cannot rest on the floor
    assert p_text(0.0123, floor) == "0.012"
    assert p_text(0.0123, 1 / 10001) == "0.0123"  # finer resolution, more digits
    assert p_text(None, floor) == "–"
    report = _evaluator().evaluate(_records(speakers_per_group=8), ["dialect"])
    markdown = report.to_markdown()
    assert "resolution 0.001" in markdown and "≤ 0.00" in markdown
    assert report.analyses[0].p_floor == pytest.approx(1 / 1001)


def test_holm_equals_statsmodels_multipletests():
    rng = np.random.default_rng(0)
    for size in (1, 2, 5, 17):
        p = rng.uniform(0, 0.2, size=size)
        expected = multipletests(p, method="holm")[1]
        np.testing.assert_allclose(holm(p), expected, rtol=1e-12)
    with_nan = np.array([0.01, np.nan, 0.04, 0.03])
    expected = multipletests(with_nan[~np.isnan(with_nan)], method="holm")[1]
    np.testing.assert_allclose(holm(with_nan)[~np.isnan(with_nan)], expected)
    assert np.isnan(holm(with_nan)[1])


def test_paired_comparison_is_one_holm_family_with_its_gap():
    records = _records(speakers_per_group=8)
    other = [{**r, "hyp": r["ref"]} if r["groups"]["dialect"] == "wuu" else r for r in records]
    report = _evaluator().evaluate(records, ["dialect"], compare=other)
    comparison = report.comparisons[0]
    raw = [g.p_value for g in comparison.groups] + [comparison.gap_p_value]
    adjusted = [g.p_holm for g in comparison.groups] + [comparison.gap_p_holm]
    np.testing.assert_allclose(adjusted, multipletests(raw, method="holm")[1])
    assert "Holm" in comparison.test


def test_utterance_bootstrap_interval_equals_scipy_bootstrap():
    rng = np.random.default_rng(1)
    units = rng.integers(3, 20, size=3000)
    errors = rng.binomial(units, 0.2)
    sums = cluster_sums(np.stack([errors, units], axis=1), np.zeros(3000, int), np.arange(3000), 1)
    boot = bootstrap_totals(sums, 4000, make_rng(0))[:, 0]
    ours = np.quantile(boot[:, 0] / boot[:, 1], [0.025, 0.975])
    reference = stats.bootstrap(
        (errors, units),
        lambda e, u, axis=-1: e.sum(axis=axis) / u.sum(axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=4000,
        method="percentile",
        random_state=np.random.default_rng(0),
    ).confidence_interval
    # the same interval up to Monte-Carlo error (its width is about 0.0115 here)
    assert ours == pytest.approx([reference.low, reference.high], abs=6e-4)


def _length_confounded(rng, group_effect):
    """Group b speaks longer utterances; longer utterances have a higher error rate."""
    errors, units, groups, speakers = [], [], [], []
    for group, mean_length, effect in (("a", 6, 1.0), ("b", 24, group_effect)):
        for s in range(12):
            speaker = rng.normal(0, 0.2)
            n = rng.poisson(mean_length, size=15) + 2
            rate = 0.02 * (n / 6.0) ** 0.8 * effect * np.exp(speaker)
            errors.append(rng.poisson(n * rate))
            units.append(n)
            groups += [group] * 15
            speakers += [f"{group}{s}"] * 15
    return GroupedCounts.from_arrays(
        np.concatenate(errors), np.concatenate(units), groups, speakers
    )


def test_length_model_separates_a_length_effect_from_a_group_effect():
    rng = np.random.default_rng(4)
    settings = StatsSettings()
    length_only = fit_length_model(_length_confounded(rng, 1.0), settings, ["g"], "WER")
    term = length_only.terms[0]
    assert term.raw_ratio > 1.7  # the raw gap is large ...
    assert term.adjusted_ci[0] < 1.0 < term.adjusted_ci[1]  # ... and explained by length
    assert length_only.survives is False and length_only.length_coefficient > 0.3
    real = fit_length_model(_length_confounded(rng, 2.0), settings, ["g"], "WER")
    assert real.survives is True and real.terms[0].adjusted_ci[0] > 1.2


def test_classification_groups_with_two_speakers_get_no_interval_either():
    rng = np.random.default_rng(2)
    records = [
        {
            "id": f"{g}{s}-{i}",
            "label": int(rng.random() < 0.5),
            "pred": int(rng.random() < 0.5),
            "speaker": f"{g}{s}",
            "groups": {"dialect": g},
        }
        for g, speakers in (("a", 2), ("b", 8))
        for s in range(speakers)
        for i in range(20)
    ]
    evaluator = voxtext.registry("fairness_evaluators").create(
        "classification-fairness", n_boot=200
    )
    analysis = evaluator.evaluate(records, ["dialect"]).analyses[0]
    a, b = analysis.groups
    assert a.metrics["accuracy"].ci == (None, None) and a.metrics["accuracy"].value is not None
    assert TOO_FEW in a.warnings
    assert None not in b.metrics["accuracy"].ci
    assert all(d.ci == (None, None) for d in analysis.disparities.values())


def test_length_model_interval_covers_a_null_group_effect():
    """300 data sets where length alone makes group b worse: the adjusted ratio's 95 %
    interval covers the true ratio 1 in 92-97 % of them (measured 94.3 %)."""
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(300):
        result = fit_length_model(_length_confounded(rng, 1.0), StatsSettings(), ["g"], "WER")
        low, high = result.terms[0].adjusted_ci
        covered += low <= 1.0 <= high
    assert 0.92 <= covered / 300 <= 0.97
