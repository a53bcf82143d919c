"""The ``asr-group-errors`` evaluator: per-group CER/WER with intervals, gaps and tests.

    evaluator = voxtext.registry("fairness_evaluators").create("asr-group-errors")
    report = evaluator.evaluate(records, group_by=["dialect", "gender"])

``group_by`` items are attribute names (each reported on its own) or tuples of names (an
intersection); with ``intersect`` (the default) several names also get their intersection.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from voxtext.errors import ConfigError
from voxtext_fairness.alignment import (
    METRIC_NAMES,
    ScoredPredictions,
    Unit,
    choose_unit,
    unspaced_script_fraction,
)
from voxtext_fairness.comparison import compare_systems
from voxtext_fairness.configs import AsrGroupErrorsConfig
from voxtext_fairness.explanations import confusion_matrix, explain_groups
from voxtext_fairness.group_stats import GroupedCounts, StatsSettings, analyse_groups
from voxtext_fairness.length_model import fit_length_model
from voxtext_fairness.records import Prediction, validate_predictions
from voxtext_fairness.report import (
    AsrFairnessReport,
    DataSummary,
    GroupAnalysis,
    HistoryPoint,
    finite_or_none,
)

Records = Sequence[Mapping[str, Any] | Prediction]
Grouping = tuple[str, ...]
UNIT_DEFINITIONS = {
    "char": "CER: errors over reference characters, whitespace not counted on either side "
    "(spacing is not a character error; WER measures word segmentation)",
    "word": "WER: errors over reference words (whitespace-separated tokens)",
}


class AsrGroupErrors:
    """Scores predictions once, then splits them by every requested grouping."""

    def __init__(self, config: AsrGroupErrorsConfig | None = None) -> None:
        import voxtext

        self.config = config or AsrGroupErrorsConfig()
        self.normalizer = voxtext.registry("text_normalizers").create(
            self.config.normalizer, dict(self.config.normalizer_options)
        )

    def score(self, records: Records, attributes: Sequence[str] = ()) -> ScoredPredictions:
        """Validate ``records`` and count S, D, I and reference units per utterance."""
        predictions = validate_predictions(records, attributes)
        refs = [self.normalizer(p.ref) for p in predictions]
        hyps = [self.normalizer(p.hyp) for p in predictions]
        units: list[Unit]
        if self.config.unit == "both":
            units = ["char", "word"]
        elif self.config.unit == "auto":
            units = [choose_unit(refs)]
        else:
            units = [self.config.unit]
        return ScoredPredictions.of(predictions, refs, hyps, units)

    def evaluate(
        self,
        records: Records,
        group_by: Sequence[str | Sequence[str]],
        *,
        system: str = "system",
        compare: Records | None = None,
        compare_system: str = "other",
        history: Sequence[tuple[str, Records]] = (),
    ) -> AsrFairnessReport:
        """The report for ``records``; ``compare`` adds a paired comparison with a second
        system on the same utterances; ``history`` (label, records) pairs, oldest first, add
        the gap across training checkpoints."""
        groupings = self.groupings(group_by)
        attributes = sorted({a for g in groupings for a in g})
        scored = self.score(records, attributes)
        settings = self.config.stats_settings()
        analyses = [
            self._analyse(scored, grouping, unit, settings, with_tests=True)
            for unit in scored.counts
            for grouping in groupings
        ]
        report = AsrFairnessReport(
            system=system,
            data=_summary(scored.predictions),
            analyses=analyses,
            normalizer=self.normalizer.describe(),
            method=self._method(scored),
        )
        if compare is not None:
            other = self.score(compare, attributes)
            for unit in scored.counts:
                for grouping in groupings:
                    counts = self.grouped_counts(scored, grouping, unit)
                    comparison, notes = compare_systems(
                        scored, other, counts, unit, grouping, (system, compare_system), settings
                    )
                    report.comparisons.append(comparison)
                    report.warnings.extend(n for n in notes if n not in report.warnings)
        for label, past in history:
            report.history.extend(self._history_point(label, past, groupings, attributes))
        self._explain(report, scored, groupings, settings)
        report.warnings.extend(_data_warnings(report, self.config.reference))
        return report

    def _explain(
        self,
        report: AsrFairnessReport,
        scored: ScoredPredictions,
        groupings: list[Grouping],
        settings: StatsSettings,
    ) -> None:
        """Explanations and the length-adjusted model for each single attribute, in the report's
        first unit (the one its headline rates are in)."""
        unit = next(iter(scored.counts))
        spaced = unspaced_script_fraction([p.ref for p in scored.predictions]) < 0.5
        for grouping in (g for g in groupings if len(g) == 1):
            counts = self.grouped_counts(scored, grouping, unit)
            metric = METRIC_NAMES[unit]
            report.explanations.append(
                explain_groups(scored, counts, grouping, unit, metric, with_words=spaced)
            )
            matrix = confusion_matrix(scored.predictions, grouping[0])
            if matrix is not None:
                report.identification.append(matrix)
            if self.config.length_model:
                report.length_adjusted.append(
                    fit_length_model(counts, settings, list(grouping), metric)
                )

    def groupings(self, group_by: Sequence[str | Sequence[str]]) -> list[Grouping]:
        """The groupings to report: each name alone, tuples as given, and the intersection."""
        return expand_groupings(group_by, self.config.intersect)

    def grouped_counts(
        self, scored: ScoredPredictions, grouping: Grouping, unit: str
    ) -> GroupedCounts:
        """Per-utterance arrays for one grouping (groups sorted by their values)."""
        predictions = scored.predictions
        keys = [tuple(p.groups[a] for a in grouping) for p in predictions]
        ordered = sorted(set(keys))
        code = {key: i for i, key in enumerate(ordered)}
        speakers = {
            s: i
            for i, s in enumerate(sorted({p.speaker for p in predictions if p.speaker is not None}))
        }
        fresh = itertools.count(len(speakers))
        cluster = [
            speakers[p.speaker] if p.speaker is not None else next(fresh) for p in predictions
        ]
        counts = scored.counts[unit]
        return GroupedCounts(
            labels=[" × ".join(key) for key in ordered],
            values=[dict(zip(grouping, key, strict=True)) for key in ordered],
            group=np.array([code[k] for k in keys], dtype=np.int64),
            cluster=np.array(cluster, dtype=np.int64),
            speaker_known=np.array([p.speaker is not None for p in predictions]),
            substitutions=counts.substitutions,
            deletions=counts.deletions,
            insertions=counts.insertions,
            units=counts.reference_units,
            durations=np.array([np.nan if p.duration is None else p.duration for p in predictions]),
        )

    def _analyse(
        self,
        scored: ScoredPredictions,
        grouping: Grouping,
        unit: str,
        settings: StatsSettings,
        *,
        with_tests: bool,
    ) -> GroupAnalysis:
        counts = self.grouped_counts(scored, grouping, unit)
        analysis, _ = analyse_groups(
            counts,
            settings,
            attributes=grouping,
            metric=METRIC_NAMES[unit],
            unit=unit,
            reference=self.config.reference,
            with_tests=with_tests,
        )
        analysis.empty_groups = _empty_intersections(scored.predictions, grouping)
        return analysis

    def _history_point(
        self, label: str, records: Records, groupings: list[Grouping], attributes: list[str]
    ) -> list[HistoryPoint]:
        scored = self.score(records, attributes)
        points = []
        for unit in scored.counts:
            analysis = self._analyse(
                scored, groupings[0], unit, self.config.stats_settings(), with_tests=False
            )
            points.append(
                HistoryPoint(
                    label=label,
                    attributes=analysis.attributes,
                    metric=analysis.metric,
                    rates={g.group: g.rate for g in analysis.groups},
                    cis={g.group: g.ci for g in analysis.groups},
                    gap=analysis.gap.gap if analysis.gap else None,
                    gap_ci=analysis.gap.gap_ci if analysis.gap else (None, None),
                )
            )
        return points

    def _method(self, scored: ScoredPredictions) -> dict[str, Any]:
        config = self.config
        with_speaker = sum(p.speaker is not None for p in scored.predictions)
        what = "speakers" if with_speaker else "utterances (no speaker ids)"
        return {
            "evaluator": "asr-group-errors",
            "units": list(scored.counts),
            "unit_setting": config.unit,
            "metrics": {METRIC_NAMES[u]: UNIT_DEFINITIONS[u] for u in scored.counts},
            "rate": "micro average: errors / reference units",
            "n_boot": config.n_boot,
            "seed": config.seed,
            "confidence": config.confidence,
            "resampling": f"{what} within each group (the overall rate across all groups "
            "when a group has a single speaker)",
            "min_speakers": config.min_speakers,
            "too_few": f"groups with fewer than {config.min_speakers} speakers get no "
            "interval and no p-value",
            "interval": "expanded percentile bootstrap (t quantiles on speakers - 1 degrees "
            "of freedom), Rao-Wu rescaled resampling (m - 1 draws of m speakers)",
            "test": config.test,
            "n_permutations": config.n_permutations,
            "alpha": config.alpha,
            "multiple_testing": "Holm, within each family: the group tests of each table, "
            "and each paired comparison's group and gap tests together",
            "reference": config.reference,
            "alignment": "jiwer, through voxtext.speech.scoring (the dev-selection scorer)",
        }


def expand_groupings(group_by: Sequence[str | Sequence[str]], intersect: bool) -> list[Grouping]:
    """Each attribute name alone, each tuple of names as given, and (with ``intersect``)
    the intersection of all the single names."""
    if isinstance(group_by, str):
        group_by = [group_by]
    if not group_by:
        raise ConfigError(
            "group_by is empty: name at least one group attribute, e.g. group_by=['dialect']"
        )
    groupings: list[Grouping] = []
    for item in group_by:
        grouping = (item,) if isinstance(item, str) else tuple(item)
        if grouping not in groupings:
            groupings.append(grouping)
    singles = [g[0] for g in groupings if len(g) == 1]
    if intersect and len(singles) > 1 and tuple(singles) not in groupings:
        groupings.append(tuple(singles))
    return groupings


def _summary(predictions: list[Prediction]) -> DataSummary:
    speakers = {p.speaker for p in predictions if p.speaker is not None}
    timed = [p.duration for p in predictions if p.duration is not None]
    hours = sum(timed) / 3600 if len(timed) == len(predictions) else None
    return DataSummary(
        len(predictions),
        len(speakers) or None,
        finite_or_none(hours),
        sum(p.synthetic for p in predictions),
    )


def _empty_intersections(predictions: list[Prediction], grouping: Grouping) -> list[str]:
    """Combinations of observed values that no utterance has (only for intersections)."""
    if len(grouping) < 2:
        return []
    seen = {tuple(p.groups[a] for a in grouping) for p in predictions}
    values = [sorted({p.groups[a] for p in predictions}) for a in grouping]
    return [" × ".join(combo) for combo in itertools.product(*values) if combo not in seen]


def _data_warnings(report: AsrFairnessReport, reference: str | None) -> list[str]:
    notes = []
    labels = {g.group for a in report.analyses for g in a.groups}
    if reference is not None and reference not in labels:
        notes.append(
            f"reference group '{reference}' matches no group (groups: "
            f"{', '.join(sorted(labels))}); differences to it are not computed"
        )
    if report.data.synthetic:
        notes.append(
            f"{report.data.synthetic_utterances} of {report.data.utterances} "
            "utterances are synthetic: results describe generated speech, not people"
        )
    if report.data.speakers is None:
        notes.append(
            "no speaker ids: intervals resample utterances, which understates "
            "uncertainty when speakers contribute several utterances"
        )
    return notes
