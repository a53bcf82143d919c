"""Markdown rendering of the ASR fairness report (also the text of the HTML page)."""

from __future__ import annotations

from typing import Any

from voxtext_fairness.report import AsrFairnessReport, GroupAnalysis, Interval, SystemComparison


def pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def pct_ci(ci: Interval, digits: int = 1) -> str:
    low, high = ci
    return "–" if low is None or high is None else f"[{pct(low, digits)}, {pct(high, digits)}]"


def pt(value: float | None, digits: int = 1) -> str:
    """A difference of two rates in percentage points, signed."""
    return "–" if value is None else f"{100 * value:+.{digits}f} pt"


def pt_ci(ci: Interval, digits: int = 1) -> str:
    low, high = ci
    if low is None or high is None:
        return "–"
    return f"[{100 * low:+.{digits}f}, {100 * high:+.{digits}f}] pt"


def p_text(value: float | None) -> str:
    return "–" if value is None else ("<0.001" if value < 0.001 else f"{value:.3f}")


def asr_markdown(report: AsrFairnessReport) -> str:
    lines = [f"# Fairness report: {report.system}", ""]
    if report.data.synthetic:
        lines += ["> **Synthetic data.** " + _synthetic_note(report), ""]
    lines += _headline(report)
    for analysis in report.analyses:
        lines += _analysis_section(analysis, report.method)
    for comparison in report.comparisons:
        lines += _comparison_section(comparison)
    if report.history:
        lines += _history_section(report)
    lines += model_card_section(report)
    if report.warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in report.warnings] + [""]
    return "\n".join(lines).rstrip() + "\n"


def _synthetic_note(report: AsrFairnessReport) -> str:
    return (
        f"{report.data.synthetic_utterances} of {report.data.utterances} utterances are "
        "generated speech; these numbers describe the synthetic set, not real speakers."
    )


def _headline(report: AsrFairnessReport) -> list[str]:
    lines = []
    for analysis in report.analyses:
        gap = analysis.gap
        if gap is None:
            continue
        ratio = f"{gap.ratio:.2f}×" if gap.ratio is not None else "undefined (best is 0)"
        lines.append(
            f"- **{analysis.title}** ({analysis.metric}): worst **{gap.worst}** vs best "
            f"**{gap.best}**: gap {pt(gap.gap)} {pt_ci(gap.gap_ci)}, ratio {ratio}."
        )
    return (["## Summary", "", *lines, ""]) if lines else []


def _analysis_section(analysis: GroupAnalysis, method: dict[str, object]) -> list[str]:
    level = int(100 * float(str(method.get("confidence", 0.95))))
    lines = [
        f"## {analysis.metric} by {analysis.title}",
        "",
        f"Overall {analysis.metric}: {pct(analysis.overall_rate)} {pct_ci(analysis.overall_ci)}.",
        "",
        f"| group | utts | speakers | units | {analysis.metric} | {level}% CI | S | D | I "
        "| Δ ref | p (Holm) |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---|---:|",
    ]
    reference = analysis.gap.reference if analysis.gap else None
    for g in analysis.groups:
        delta = (
            "reference"
            if g.group == reference
            else "–"
            if g.diff_to_reference is None
            else f"{pt(g.diff_to_reference)} {pt_ci(g.diff_ci)}"
        )
        lines.append(
            f"| {g.group} | {g.utterances} | {g.speakers if g.speakers is not None else '–'} "
            f"| {g.units} | {pct(g.rate)} | {pct_ci(g.ci)} | {pct(g.rate_of(g.substitutions))} "
            f"| {pct(g.rate_of(g.deletions))} | {pct(g.rate_of(g.insertions))} | {delta} "
            f"| {p_text(g.p_holm)} |"
        )
    lines.append("")
    gap = analysis.gap
    if gap is not None:
        ratio = "undefined" if gap.ratio is None else f"{gap.ratio:.2f}× {_ratio_ci(gap.ratio_ci)}"
        lines += [
            f"Gap (worst − best, {gap.worst} − {gap.best}): **{pt(gap.gap)}** "
            f"{pt_ci(gap.gap_ci)}; ratio {ratio}.",
            "",
        ]
        if gap.test:
            real = ", ".join(gap.significant) if gap.significant else "none"
            lines += [f"Groups that differ at α = {method.get('alpha')} ({gap.test}): {real}.", ""]
    if analysis.empty_groups:
        lines += [f"Empty groups (no utterances): {', '.join(analysis.empty_groups)}.", ""]
    if analysis.warnings:
        lines += ["**Caution:**", ""] + [f"- {w}" for w in analysis.warnings] + [""]
    return lines


def _ratio_ci(ci: Interval) -> str:
    low, high = ci
    return "" if low is None or high is None else f"[{low:.2f}, {high:.2f}]"


def _comparison_section(comparison: SystemComparison) -> list[str]:
    a, b = comparison.system_a, comparison.system_b
    title = " × ".join(comparison.attributes)
    lines = [
        f"## {b} vs {a}: {comparison.metric} by {title} (paired)",
        "",
        f"| group | {a} | {b} | {b} − {a} | CI | p |",
        "|---|---:|---:|---|---|---:|",
    ]
    for g in comparison.groups:
        lines.append(
            f"| {g.group} | {pct(g.rate_a)} | {pct(g.rate_b)} | {pt(g.difference, 2)} "
            f"| {pt_ci(g.ci, 2)} | {p_text(g.p_value)} |"
        )
    lines += [
        "",
        f"Gap (worst − best): {a} {pt(comparison.gap_a)}, {b} {pt(comparison.gap_b)}; "
        f"{b} − {a}: {pt(comparison.gap_difference, 2)} "
        f"{pt_ci(comparison.gap_difference_ci, 2)}, "
        f"p = {p_text(comparison.gap_p_value)}.",
        "",
    ]
    return lines


def _history_section(report: AsrFairnessReport) -> list[str]:
    lines = [
        "## Gap across checkpoints",
        "",
        "| checkpoint | metric | gap | CI |",
        "|---|---|---:|---|",
    ]
    for point in report.history:
        lines.append(
            f"| {point.label} | {point.metric} by {' × '.join(point.attributes)} "
            f"| {pt(point.gap)} | {pt_ci(point.gap_ci)} |"
        )
    return [*lines, ""]


def model_card_section(report: AsrFairnessReport) -> list[str]:
    """Evaluation data composition and results per group, in model-card form."""
    data = report.data
    hours = "unknown" if data.hours is None else f"{data.hours:.2f}"
    lines = [
        "## Model card: evaluation data and results",
        "",
        f"- Utterances: {data.utterances}; speakers: {data.speakers or 'unknown'}; "
        f"hours: {hours}; synthetic: {'yes' if data.synthetic else 'no'}.",
        f"- Normalisation: {'; '.join(report.normalizer.get('steps', []))}.",
        f"- Method: {report.method['rate']}; {report.method['n_boot']} bootstrap "
        f"replicates over {report.method['resampling']} (seed {report.method['seed']}); "
        f"alignment by {report.method['alignment']}.",
        *_audited_lines(report.audited),
        "",
    ]
    first_by_attributes = {}
    for analysis in report.analyses:
        first_by_attributes.setdefault(tuple(analysis.attributes), analysis)
    for analysis in first_by_attributes.values():
        lines += [
            f"| {analysis.title} | utterances | hours | speakers | {analysis.metric} |",
            "|---|---:|---:|---:|---:|",
        ]
        for g in analysis.groups:
            lines.append(
                f"| {g.group} | {g.utterances} | "
                f"{'–' if g.hours is None else f'{g.hours:.2f}'} | "
                f"{g.speakers if g.speakers is not None else '–'} | "
                f"{pct(g.rate)} {pct_ci(g.ci)} |"
            )
        lines.append("")
    return lines


def _audited_lines(audited: dict[str, Any]) -> list[str]:
    """The audited system as its predictions' sidecar describes it (nothing without one)."""
    if not audited:
        return []
    what = ", ".join(
        f"{key} {audited[key]}" for key in ("engine", "model", "version") if audited.get(key)
    )
    return [f"- Audited system: {what or 'described in the JSON report'}."]
