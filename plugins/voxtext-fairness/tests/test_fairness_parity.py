"""Cross-checks against references no one here wrote: jiwer and fairlearn."""

from __future__ import annotations

import random

import jiwer
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
)

import voxtext

WORDS = [
    "the",
    "cat",
    "sat",
    "on",
    "a",
    "mat",
    "and",
    "then",
    "it",
    "ran",
    "far",
    "away",
    "from",
    "home",
]
HAN = "今天天气很好我们去公园散步请把窗户打开"


def _asr_records(seed: int = 0, han: bool = False) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for i in range(240):
        dialect, gender = ["cmn", "yue", "wuu"][i % 3], "fm"[i % 2]
        noise = {"cmn": 0.05, "yue": 0.2, "wuu": 0.35}[dialect]
        if han:
            ref = "".join(rng.choice(HAN) for _ in range(rng.randint(3, 12)))
            hyp = "".join(
                rng.choice(["", c + "错", "错"]) if rng.random() < noise else c for c in ref
            )
        else:
            ref = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 10)))
            hyp = " ".join(
                rng.choice(["", w + " uh", "bat"]) if rng.random() < noise else w
                for w in ref.split()
            ).strip()
        records.append(
            {
                "id": f"u{i}",
                "ref": ref,
                "hyp": hyp,
                "speaker": f"{dialect}-{i % 7}",
                "groups": {"dialect": dialect, "gender": gender},
            }
        )
    return records


@pytest.mark.parametrize(
    ("han", "unit", "measure"), [(False, "word", jiwer.wer), (True, "char", jiwer.cer)]
)
def test_group_rates_equal_jiwer_on_each_group(han, unit, measure):
    records = _asr_records(1, han)
    evaluator = voxtext.registry("fairness_evaluators").create(
        "asr-group-errors", normalizer="none", unit="auto", n_boot=50
    )
    report = evaluator.evaluate(records, ["dialect", "gender"])
    assert report.analyses[0].unit == unit
    for analysis in report.analyses:
        for group in analysis.groups:
            members = [
                r
                for r in records
                if all(r["groups"][a] == group.values[a] for a in analysis.attributes)
            ]
            expected = measure([r["ref"] for r in members], [r["hyp"] for r in members])
            assert group.rate == pytest.approx(expected, rel=1e-12)
            counts = (jiwer.process_characters if han else jiwer.process_words)(
                [r["ref"] for r in members], [r["hyp"] for r in members]
            )
            assert (group.substitutions, group.deletions, group.insertions) == (
                counts.substitutions,
                counts.deletions,
                counts.insertions,
            )


def _per_utterance_counts(records):
    evaluator = voxtext.registry("fairness_evaluators").create(
        "asr-group-errors", normalizer="none", n_boot=50
    )
    scored = evaluator.score(records, ["dialect", "gender"])
    counts = next(iter(scored.counts.values()))
    return evaluator, counts.errors, counts.reference_units


def test_group_rates_and_differences_equal_fairlearn_metricframe():
    records = _asr_records(2)
    evaluator, errors, units = _per_utterance_counts(records)
    sensitive = pd.DataFrame({a: [r["groups"][a] for r in records] for a in ("dialect", "gender")})

    def micro_rate(y_true, y_pred):  # y_true = reference units, y_pred = errors
        return np.sum(y_pred) / np.sum(y_true)

    report = evaluator.evaluate(records, ["dialect", "gender"])
    for analysis in report.analyses:
        frame = MetricFrame(
            metrics=micro_rate,
            y_true=units,
            y_pred=errors,
            sensitive_features=sensitive[analysis.attributes],
        )
        by_group = frame.by_group
        for group in analysis.groups:
            key = tuple(group.values[a] for a in analysis.attributes)
            assert group.rate == pytest.approx(by_group.loc[key if len(key) > 1 else key[0]])
        assert analysis.gap.gap == pytest.approx(frame.difference())
        assert 1 / analysis.gap.ratio == pytest.approx(frame.ratio())
        assert analysis.overall_rate == pytest.approx(frame.overall)


def _classified(seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    items = []
    for i in range(600):
        group = ["a", "b", "c"][i % 3]
        label = int(rng.random() < 0.4 + 0.1 * (i % 3))
        bias = {"a": 0.1, "b": 0.0, "c": -0.15}[group]
        score = min(max(0.3 + 0.4 * label + bias + rng.gauss(0, 0.2), 0.0), 1.0)
        items.append(
            {
                "id": f"i{i}",
                "label": label,
                "pred": int(score > 0.5),
                "score": score,
                "groups": {"dialect": group, "gender": "fm"[i % 2]},
            }
        )
    return items


def test_classification_disparities_equal_fairlearn():
    from sklearn.metrics import accuracy_score, f1_score

    items = _classified()
    report = (
        voxtext.registry("fairness_evaluators")
        .create("classification-fairness", n_boot=50)
        .evaluate(items, ["dialect"])
    )
    y_true = np.array([i["label"] for i in items])
    y_pred = np.array([i["pred"] for i in items])
    groups = np.array([i["groups"]["dialect"] for i in items])
    analysis = report.analyses[0]
    disparities = {k: v.value for k, v in analysis.disparities.items()}
    assert disparities["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y_true, y_pred, sensitive_features=groups)
    )
    assert disparities["demographic_parity_ratio"] == pytest.approx(
        demographic_parity_ratio(y_true, y_pred, sensitive_features=groups)
    )
    assert disparities["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y_true, y_pred, sensitive_features=groups)
    )
    assert disparities["equal_opportunity_difference"] == pytest.approx(
        equal_opportunity_difference(y_true, y_pred, sensitive_features=groups)
    )
    frame = MetricFrame(
        metrics={
            "accuracy": accuracy_score,
            "macro_f1": lambda t, p: f1_score(t, p, average="macro"),
        },
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=groups,
    )
    for group in analysis.groups:
        assert group.metrics["accuracy"].value == pytest.approx(
            frame.by_group.loc[group.group, "accuracy"]
        )
        assert group.metrics["macro_f1"].value == pytest.approx(
            frame.by_group.loc[group.group, "macro_f1"]
        )
