"""The classification fairness report: per-group metrics and disparities with intervals."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxtext_fairness.report import SCHEMA, _plain, finite_or_none

_METRIC_TITLES = {
    "accuracy": "accuracy",
    "macro_f1": "macro-F1",
    "ece": "ECE",
    "selection_rate": "selection rate",
    "tpr": "TPR",
    "fpr": "FPR",
    "fnr": "FNR",
}


@dataclass
class MetricValue:
    """A point estimate and its bootstrap interval (None where undefined)."""

    value: float | None
    ci: tuple[float | None, float | None]

    @classmethod
    def of(cls, value: Any, low: Any, high: Any) -> MetricValue:
        return cls(finite_or_none(value), (finite_or_none(low), finite_or_none(high)))

    def text(self) -> str:
        if self.value is None:
            return "–"
        low, high = self.ci
        interval = "" if low is None or high is None else f" [{low:.3f}, {high:.3f}]"
        return f"{self.value:.3f}{interval}"


@dataclass
class ClassificationGroup:
    group: str
    values: dict[str, str]
    n: int
    metrics: dict[str, MetricValue]
    warnings: list[str] = field(default_factory=list)


@dataclass
class ClassificationAnalysis:
    attributes: list[str]
    groups: list[ClassificationGroup]
    disparities: dict[str, MetricValue]


@dataclass
class ClassificationFairnessReport:
    system: str
    items: int
    synthetic_items: int
    positive_label: Any
    classes: list[Any]
    analyses: list[ClassificationAnalysis]
    method: dict[str, Any]
    schema: str = SCHEMA

    @property
    def synthetic(self) -> bool:
        return self.synthetic_items > 0

    def to_dict(self) -> dict[str, Any]:
        out = _plain(dataclasses.asdict(self))
        out["kind"] = "classification"
        out["synthetic"] = self.synthetic
        return {"schema": self.schema, **{k: v for k, v in out.items() if k != "schema"}}

    def to_markdown(self) -> str:
        lines = [f"# Classification fairness report: {self.system}", ""]
        if self.synthetic:
            lines += [
                f"> **Synthetic data.** {self.synthetic_items} of {self.items} items "
                "are generated; results describe the synthetic set.",
                "",
            ]
        lines += [
            f"- Items: {self.items}; classes: {', '.join(map(str, self.classes))}; "
            f"positive label: {self.positive_label}.",
            f"- Method: {self.method['n_boot']} bootstrap replicates over "
            f"{self.method['resampling']} (seed {self.method['seed']}).",
            "",
        ]
        for analysis in self.analyses:
            lines += _analysis_markdown(analysis)
        return "\n".join(lines).rstrip() + "\n"

    def write_html(self, path: str | Path) -> Path:
        from voxtext_fairness.html_report import write_classification_html

        return write_classification_html(self, Path(path))


def _analysis_markdown(analysis: ClassificationAnalysis) -> list[str]:
    names = [m for m in _METRIC_TITLES if analysis.groups and m in analysis.groups[0].metrics]
    lines = [
        f"## Classification by {' × '.join(analysis.attributes)}",
        "",
        "| group | n | " + " | ".join(_METRIC_TITLES[m] for m in names) + " |",
        "|---|---:|" + "---|" * len(names),
    ]
    for g in analysis.groups:
        lines.append(
            f"| {g.group} | {g.n} | " + " | ".join(g.metrics[m].text() for m in names) + " |"
        )
    lines.append("")
    if analysis.disparities:
        lines += ["| disparity | value [CI] |", "|---|---|"]
        lines += [
            f"| {name.replace('_', ' ')} | {value.text()} |"
            for name, value in analysis.disparities.items()
        ]
        lines.append("")
    notes = [f"{g.group}: {w}" for g in analysis.groups for w in g.warnings]
    if notes:
        lines += ["**Caution:**", ""] + [f"- {n}" for n in notes] + [""]
    return lines
