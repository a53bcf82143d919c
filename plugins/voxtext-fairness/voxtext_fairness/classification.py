"""The ``classification-fairness`` evaluator: per-group accuracy, F1, ECE and disparities.

Every metric is a function of per-group *counts* (items, correct, true/false positives per
class, per-bin confidence sums), so one bootstrap of per-cluster count vectors gives
intervals for all of them at once, and disparities (demographic parity, equalized odds,
FPED/FNED) get intervals from the same replicates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from voxtext_fairness.asr import expand_groupings
from voxtext_fairness.classification_report import (
    ClassificationAnalysis,
    ClassificationFairnessReport,
    ClassificationGroup,
    MetricValue,
)
from voxtext_fairness.configs import ClassificationFairnessConfig
from voxtext_fairness.counterfactual import CounterfactualResult, counterfactual_gap
from voxtext_fairness.records import ClassifiedItem, Label, validate_classified
from voxtext_fairness.report import too_few
from voxtext_fairness.resampling import (
    bootstrap_totals,
    cluster_sums,
    make_rng,
    percentile_interval,
)

_CONFIDENCE_SCALE = 1_000_000  # confidences are summed as integers in millionths
_DISPARITIES = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equal_opportunity_difference",
    "fped",
    "fned",
)


class ClassificationFairness:
    """Per-group classification metrics with bootstrap intervals, and a counterfactual test."""

    def __init__(self, config: ClassificationFairnessConfig | None = None) -> None:
        self.config = config or ClassificationFairnessConfig()

    def evaluate(
        self,
        records: Sequence[Mapping[str, Any] | ClassifiedItem],
        group_by: Sequence[str | Sequence[str]],
        *,
        system: str = "system",
    ) -> ClassificationFairnessReport:
        groupings = expand_groupings(group_by, self.config.intersect)
        items = validate_classified(records, sorted({a for g in groupings for a in g}))
        classes = sorted({i.label for i in items} | {i.pred for i in items}, key=repr)
        positive = self._positive_label(classes)
        features, names = self._features(items, classes, positive)
        analyses = [
            self._analyse(items, grouping, features, names, classes, positive)
            for grouping in groupings
        ]
        return ClassificationFairnessReport(
            system=system,
            items=len(items),
            synthetic_items=sum(i.synthetic for i in items),
            positive_label=positive,
            classes=classes,
            analyses=analyses,
            method={
                "evaluator": "classification-fairness",
                "n_boot": self.config.n_boot,
                "seed": self.config.seed,
                "confidence": self.config.confidence,
                "ece_bins": self.config.ece_bins,
                "resampling": "speakers within each group"
                if any(i.speaker for i in items)
                else "items within each group",
            },
        )

    def counterfactual_gap(
        self,
        texts: Sequence[str],
        score: Callable[[list[str]], Sequence[float]],
        term_pairs: Sequence[tuple[str, str]],
        *,
        word_boundaries: bool = True,
    ) -> CounterfactualResult:
        """Mean |f(x) − f(x')| over texts where swapping the paired terms changed x."""
        return counterfactual_gap(
            texts,
            score,
            term_pairs,
            word_boundaries=word_boundaries,
            n_boot=self.config.n_boot,
            seed=self.config.seed,
            confidence=self.config.confidence,
        )

    def _positive_label(self, classes: list[Label]) -> Label | None:
        if self.config.pos_label is not None:
            if self.config.pos_label not in classes:
                from voxtext.errors import ConfigError

                raise ConfigError(
                    f"pos_label {self.config.pos_label!r} is not among the "
                    f"labels {classes}; set pos_label to one of them"
                )
            return self.config.pos_label
        values = set(classes)
        if values <= {0, 1} and not any(isinstance(c, bool) for c in classes):
            return 1
        if values <= {False, True} and all(isinstance(c, bool) for c in classes):
            return True
        if values <= {"0", "1"}:
            return "1"
        return None  # multi-class or named labels: set pos_label for the binary metrics

    def _features(
        self, items: list[ClassifiedItem], classes: list[Label], positive: Label | None
    ) -> tuple[np.ndarray, list[str]]:
        """Per-item count vector ``(items, columns)`` and the columns' names."""
        label = np.array([classes.index(i.label) for i in items])
        pred = np.array([classes.index(i.pred) for i in items])
        correct = label == pred
        columns = {"n": np.ones(len(items), dtype=bool), "correct": correct}
        if positive is not None:
            is_label, is_pred = label == classes.index(positive), pred == classes.index(positive)
            columns |= {
                "selected": is_pred,
                "tp": is_label & is_pred,
                "fp": ~is_label & is_pred,
                "fn": is_label & ~is_pred,
                "tn": ~is_label & ~is_pred,
            }
        for c in range(len(classes)):
            columns |= {
                f"label:{c}": label == c,
                f"pred:{c}": pred == c,
                f"hit:{c}": (label == c) & correct,
            }
        confidence = self._confidence(items, pred, classes, positive)
        if confidence is not None:
            bins = np.minimum(
                (confidence * self.config.ece_bins).astype(int), self.config.ece_bins - 1
            )
            for b in range(self.config.ece_bins):
                inside = bins == b
                columns |= {
                    f"bin:{b}": inside,
                    f"bin_correct:{b}": inside & correct,
                    f"bin_conf:{b}": np.where(inside, np.round(confidence * _CONFIDENCE_SCALE), 0),
                }
        names = list(columns)
        return np.stack([np.asarray(columns[n], dtype=np.int64) for n in names], axis=1), names

    def _confidence(
        self,
        items: list[ClassifiedItem],
        pred: np.ndarray,
        classes: list[Label],
        positive: Label | None,
    ) -> np.ndarray | None:
        if any(i.score is None for i in items):
            return None
        score = np.array([i.score for i in items], dtype=float)
        if self.config.score_meaning == "confidence":
            return score
        if positive is None:
            return None  # a probability of "the positive class" needs a binary task
        return np.where(pred == classes.index(positive), score, 1.0 - score)

    def _analyse(
        self,
        items: list[ClassifiedItem],
        grouping: tuple[str, ...],
        features: np.ndarray,
        names: list[str],
        classes: list[Label],
        positive: Label | None,
    ) -> ClassificationAnalysis:
        keys = [tuple(i.groups[a] for a in grouping) for i in items]
        ordered = sorted(set(keys))
        group = np.array([ordered.index(k) for k in keys]) if ordered else np.zeros(0, int)
        speakers = {s: n for n, s in enumerate(sorted({i.speaker for i in items if i.speaker}))}
        cluster = np.array(
            [speakers[i.speaker] if i.speaker else len(speakers) + n for n, i in enumerate(items)]
        )
        sums = cluster_sums(features, group, cluster, len(ordered))
        totals = sums.group_totals()
        boot = bootstrap_totals(sums, self.config.n_boot, make_rng(self.config.seed))
        point = group_metrics(totals, names, len(classes), self.config.ece_bins)
        samples = group_metrics(boot, names, len(classes), self.config.ece_bins)
        sizes = sums.group_sizes()
        what = "speakers" if speakers else "items"
        groups = []
        for k, key in enumerate(ordered):
            short = int(sizes[k]) < self.config.min_speakers
            metrics = {
                m: self._value(point[m][k], None if short else samples[m][:, k], int(sizes[k]))
                for m in point
                if not m.startswith("_")
            }
            notes = [too_few(int(sizes[k]), self.config.min_speakers, what)] if short else []
            if totals[k, 0] < self.config.min_items:
                notes.append(f"only {totals[k, 0]} items (< {self.config.min_items})")
            groups.append(
                ClassificationGroup(
                    " × ".join(key),
                    dict(zip(grouping, key, strict=True)),
                    int(totals[k, 0]),
                    metrics,
                    notes,
                )
            )
        disparities = {}
        if positive is not None:
            point_d, boot_d = disparity(point), disparity(samples)
            fewest = int(sizes.min(initial=0))
            resolvable = fewest >= self.config.min_speakers  # a disparity spans every group
            disparities = {
                d: self._value(point_d[d], boot_d[d] if resolvable else None, fewest)
                for d in _DISPARITIES
            }
        return ClassificationAnalysis(list(grouping), groups, disparities)

    def _value(self, value: float, samples: np.ndarray | None, clusters: int) -> MetricValue:
        """The point estimate and, unless ``samples`` is None (too few speakers), its
        expanded percentile interval over ``clusters`` resampled clusters."""
        if samples is None:
            return MetricValue.of(value, None, None)
        low, high = percentile_interval(
            np.asarray(samples, dtype=float)[:, None], self.config.confidence, clusters
        )
        return MetricValue.of(value, low[0], high[0])


def group_metrics(
    totals: np.ndarray, names: list[str], n_classes: int, ece_bins: int
) -> dict[str, np.ndarray]:
    """Metrics from count totals ``(..., groups, columns)``; each ``(..., groups)``."""
    col = {name: totals[..., i].astype(float) for i, name in enumerate(names)}
    with np.errstate(all="ignore"):
        out = {"accuracy": col["correct"] / col["n"]}
        f1 = []
        for c in range(n_classes):
            hit, labelled, predicted = col[f"hit:{c}"], col[f"label:{c}"], col[f"pred:{c}"]
            present = (labelled + predicted) > 0  # sklearn's macro-F1 averages these classes
            f1.append(np.where(present, 2 * hit / (labelled + predicted), np.nan))
        out["macro_f1"] = np.nanmean(np.stack(f1), axis=0) if f1 else col["n"] * np.nan
        if "selected" in col:
            out |= {
                "selection_rate": col["selected"] / col["n"],
                "tpr": col["tp"] / (col["tp"] + col["fn"]),
                "fpr": col["fp"] / (col["fp"] + col["tn"]),
                "fnr": col["fn"] / (col["tp"] + col["fn"]),
            }
            # Overall FPR/FNR (all groups together) for FPED/FNED; they need no scores.
            tp, fp, fn, tn = (col[n].sum(axis=-1) for n in ("tp", "fp", "fn", "tn"))
            out |= {"_overall_fpr": fp / (fp + tn), "_overall_fnr": fn / (fn + tp)}
        if "bin:0" in col:
            gaps = sum(
                np.abs(col[f"bin_correct:{b}"] - col[f"bin_conf:{b}"] / _CONFIDENCE_SCALE)
                for b in range(ece_bins)
            )
            out["ece"] = gaps / col["n"]
    return out


def disparity(metrics: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Demographic parity, equalized odds, equal opportunity and FPED/FNED over groups.

    FPED/FNED (Dixon et al. 2018) sum each group's distance to the overall FPR/FNR.
    """
    selection, tpr, fpr, fnr = (metrics[m] for m in ("selection_rate", "tpr", "fpr", "fnr"))
    with np.errstate(all="ignore"):
        spread = {
            m: np.nanmax(v, axis=-1) - np.nanmin(v, axis=-1)
            for m, v in (("sel", selection), ("tpr", tpr), ("fpr", fpr))
        }
        overall_fpr, overall_fnr = metrics["_overall_fpr"], metrics["_overall_fnr"]
        return {
            "demographic_parity_difference": spread["sel"],
            "demographic_parity_ratio": np.nanmin(selection, axis=-1)
            / np.nanmax(selection, axis=-1),
            "equalized_odds_difference": np.maximum(spread["tpr"], spread["fpr"]),
            "equal_opportunity_difference": spread["tpr"],
            "fped": np.nansum(np.abs(fpr - overall_fpr[..., None]), axis=-1),
            "fned": np.nansum(np.abs(fnr - overall_fnr[..., None]), axis=-1),
        }
