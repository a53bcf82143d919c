"""Markdown rendering of the ASR fairness report (also the text of the HTML page).

Renderers sit on top of the report dataclasses and import them for type checking only, so
the report module can call them without an import cycle.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voxtext_fairness.report import (
        AsrFairnessReport,
        ConfusionMatrix,
        EvaluationReport,
        Explanations,
        GroupAnalysis,
        Interval,
        LengthAdjustedResult,
        SystemComparison,
    )

EXPLANATIONS_TITLE = "Why groups differ"


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


def p_text(value: float | None, floor: float | None, family: int = 1) -> str:
    """A p-value to the resolution its test has, never a smaller number than it can show.

    ``floor`` is the smallest unadjusted p-value the test gives; a Holm-adjusted value in a
    family of ``family`` tests may rest on a p-value at the floor when it is at most
    ``family × floor``, so it reads as a bound, ``≤ value`` (always true, if less sharp).
    """
    if value is None:
        return "–"
    digits = 3 if floor is None else max(3, round(-math.log10(floor)))
    bound = floor is not None and value <= family * floor * (1 + 1e-9)
    return f"≤ {value:.{digits}f}" if bound else f"{value:.{digits}f}"


def resolution_text(floor: float | None, test: str) -> str:
    if floor is None:
        return ""
    return (
        f"p-values: {test}; resolution {floor:.2g} (no p-value below {floor:.2g} can be "
        "shown: ≤ marks one at that floor)."
    )


def asr_markdown(report: AsrFairnessReport, *, html_diffs: bool = False) -> str:
    """The report as Markdown; ``html_diffs`` writes each worst utterance as a raw HTML
    coloured diff line (what the HTML page shows) instead of a bracketed text diff."""
    lines = [f"# Fairness report: {report.system}", ""]
    if report.data.synthetic:
        lines += ["> **Synthetic data.** " + _synthetic_note(report), ""]
    lines += _headline(report)
    for analysis in report.analyses:
        lines += _analysis_section(analysis, report.method)
    for comparison in report.comparisons:
        lines += _comparison_section(comparison)
    for adjusted in report.length_adjusted:
        lines += length_adjusted_section(adjusted)
    for explanations in report.explanations:
        lines += explanations_section(explanations, html_diffs=html_diffs)
    for matrix in report.identification:
        lines += confusion_section(matrix)
    if report.history:
        lines += _history_section(report)
    for extra in report.extra_evaluations:
        lines += evaluation_section(extra)
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
        interval = pt_ci(gap.gap_ci) if gap.note is None else f"(no interval: {gap.note})"
        lines.append(
            f"- **{analysis.title}** ({analysis.metric}): worst **{gap.worst}** vs best "
            f"**{gap.best}**: gap {pt(gap.gap)} {interval}, ratio {ratio}."
        )
    return (["## Summary", "", *lines, ""]) if lines else []


def _analysis_section(analysis: GroupAnalysis, method: dict[str, object]) -> list[str]:
    level = int(100 * float(str(method.get("confidence", 0.95))))
    overall = (
        pct_ci(analysis.overall_ci)
        if analysis.overall_note is None
        else f"(no interval: {analysis.overall_note})"
    )
    lines = [
        f"## {analysis.metric} by {analysis.title}",
        "",
        f"Overall {analysis.metric}: {pct(analysis.overall_rate)} {overall}.",
        "",
        f"| group | utts | speakers | units | {analysis.metric} | {level}% CI | S | D | I "
        "| Δ ref | p (Holm) |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---|---:|",
    ]
    reference = analysis.gap.reference if analysis.gap else None
    family = sum(g.p_value is not None for g in analysis.groups)  # the Holm family
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
            f"| {g.units} | {pct(g.rate)} | {pct_ci(g.ci) if g.ci_note is None else 'n/a¹'} "
            f"| {pct(g.rate_of(g.substitutions))} "
            f"| {pct(g.rate_of(g.deletions))} | {pct(g.rate_of(g.insertions))} | {delta} "
            f"| {p_text(g.p_holm, analysis.p_floor, family)} |"
        )
    lines.append("")
    notes = sorted({g.ci_note for g in analysis.groups if g.ci_note is not None})
    if notes:
        lines += [f"¹ {'; '.join(notes)}: no interval, difference CI or p-value is shown.", ""]
    gap = analysis.gap
    if gap is not None:
        ratio = (
            "undefined"
            if gap.ratio is None
            else " ".join(filter(None, [f"{gap.ratio:.2f}×", _ratio_ci(gap.ratio_ci)]))
        )
        interval = pt_ci(gap.gap_ci) if gap.note is None else f"(no interval: {gap.note})"
        lines += [
            f"Gap (worst − best, {gap.worst} − {gap.best}): **{pt(gap.gap)}** "
            f"{interval}; ratio {ratio}.",
            "",
        ]
        if gap.test and family == 0:
            lines += ["No test: no group has enough speakers for a p-value (see ¹).", ""]
        elif gap.test:
            real = ", ".join(gap.significant) if gap.significant else "none"
            lines += [
                f"Groups that differ at α = {method.get('alpha')} ({gap.test}): {real}.",
                "",
                resolution_text(analysis.p_floor, gap.test.split(" of each")[0]),
                "",
            ]
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
    floor = comparison.p_floor
    tests = [g.p_value for g in comparison.groups] + [comparison.gap_p_value]
    family = sum(p is not None for p in tests)  # the Holm family: groups and the gap
    lines = [
        f"## {b} vs {a}: {comparison.metric} by {title} (paired)",
        "",
        f"| group | {a} | {b} | {b} − {a} | CI | p (Holm) |",
        "|---|---:|---:|---|---|---:|",
    ]
    for g in comparison.groups:
        ci = pt_ci(g.ci, 2) if g.note is None else "n/a¹"
        lines.append(
            f"| {g.group} | {pct(g.rate_a)} | {pct(g.rate_b)} | {pt(g.difference, 2)} "
            f"| {ci} | {p_text(g.p_holm, floor, family)} |"
        )
    gap_ci = (
        pt_ci(comparison.gap_difference_ci, 2)
        if comparison.gap_note is None
        else f"(no interval: {comparison.gap_note})"
    )
    lines += [
        "",
        f"Gap (worst − best): {a} {pt(comparison.gap_a)}, {b} {pt(comparison.gap_b)}; "
        f"{b} − {a}: {pt(comparison.gap_difference, 2)} {gap_ci}, p (Holm) = "
        f"{p_text(comparison.gap_p_holm, floor, family)}.",
        "",
    ]
    notes = sorted({g.note for g in comparison.groups if g.note is not None})
    if notes:
        lines += [f"¹ {'; '.join(notes)}: no interval or p-value is shown.", ""]
    if comparison.test and family:
        lines += [resolution_text(floor, comparison.test), ""]
    return lines


def length_adjusted_section(result: LengthAdjustedResult) -> list[str]:
    """The length model beside the bootstrap: rate ratios to the best group, raw and at
    equal utterance length."""
    title = " × ".join(result.attributes)
    lines = [
        f"## Length-adjusted view: {result.metric} by {title}",
        "",
        f"Model: {result.model}.",
        "",
    ]
    if result.note is not None:
        return [*lines, f"Not fitted: {result.note}.", ""]
    lines += [
        f"| group | raw ratio to {result.baseline} | adjusted for length | 95% interval |",
        "|---|---:|---:|---|",
    ]
    for t in result.terms:
        raw = "–" if t.raw_ratio is None else f"{t.raw_ratio:.2f}×"
        adjusted = "–" if t.adjusted_ratio is None else f"{t.adjusted_ratio:.2f}×"
        lines.append(f"| {t.group} | {raw} | {adjusted} | {_ratio_ci(t.adjusted_ci) or '–'} |")
    verdict = (
        "the worst group's gap survives controlling for utterance length (its interval excludes 1)"
        if result.survives
        else "the worst group's gap does not clearly survive controlling for utterance length "
        "(its interval includes 1)"
    )
    length = "–" if result.length_coefficient is None else f"{result.length_coefficient:.2f}"
    rho = result.within_speaker_correlation
    lines += [
        "",
        f"Result: {verdict}. log(length) coefficient {length} {_ratio_ci(result.length_ci)}; "
        f"within-speaker working correlation {'–' if rho is None else f'{rho:.2f}'}.",
        "",
        "Caveats: " + "; ".join(result.caveats) + ".",
        "",
    ]
    return lines


def explanations_section(explanations: Explanations, *, html_diffs: bool = False) -> list[str]:
    """Per group: commonest errors, words missed more than the best group, rate by duration
    and speaking rate, and the worst utterances aligned."""
    title = " × ".join(explanations.attributes)
    lines = [
        f"## {EXPLANATIONS_TITLE}: {explanations.metric} by {title}",
        "",
        f"Descriptive counts from the same alignment as the rates (no intervals). Missed "
        f"words are compared with the best group, **{explanations.best}**. Speaking rate: "
        f"{explanations.speaking_rate_unit}.",
        "",
        *[f"- {note}" for note in explanations.notes],
        "",
    ]
    for g in explanations.groups:
        lines += [f"### {g.group}", ""]
        for unit, pairs in g.top_errors.items():
            shown = ", ".join(_pair_text(p.kind, p.ref, p.hyp, p.count) for p in pairs)
            lines.append(
                f"- Top {'character' if unit == 'char' else 'word'} errors: {shown or 'none'}."
            )
        if g.missed_words:
            words = ", ".join(
                f"“{w.word}” {w.missed}/{w.occurrences}"
                + (f" (best {100 * w.best_miss_rate:.0f}%)" if w.best_miss_rate is not None else "")
                for w in g.missed_words
            )
            lines.append(f"- Most-missed reference words: {words}.")
        for name, bins in (("duration", g.by_duration), ("speaking rate", g.by_speaking_rate)):
            if bins:
                cells = "; ".join(f"{b.bin}: {pct(b.rate)} (n={b.utterances})" for b in bins)
                lines.append(f"- {explanations.metric} by {name}: {cells}.")
        lines.append("")
        for u in g.worst_utterances:
            what = f"{u.id} ({u.errors} errors / {u.units} units)"
            if html_diffs:
                lines.append(html_diff(f"worst: {what}", u.segments))
            else:
                lines.append(f"- Worst: {what}: {_diff_text(u.segments)}")
        lines.append("")
    return lines


def confusion_section(matrix: ConfusionMatrix) -> list[str]:
    """The identification confusion matrix: true group per row, identified per column."""
    accuracy = pct(matrix.accuracy)
    lines = [
        f"## {matrix.attribute} identification: confusion matrix",
        "",
        f"The model identified the {matrix.attribute} itself on {matrix.utterances} "
        f"utterances: {accuracy} right (a count, no interval). Rows: true; columns: identified.",
        "",
        "| true \\ identified | " + " | ".join(matrix.labels) + " |",
        "|---|" + "---:|" * len(matrix.labels),
    ]
    for label, row in zip(matrix.labels, matrix.counts, strict=True):
        lines.append(f"| {label} | " + " | ".join(str(n) for n in row) + " |")
    return [*lines, ""]


def _pair_text(kind: str, ref: str, hyp: str, count: int) -> str:
    if kind == "substitution":
        return f"{ref}→{hyp} ×{count}"
    if kind == "deletion":
        return f"−{ref} ×{count}"
    return f"+{hyp} ×{count}"


def _diff_text(segments: list[dict[str, str]]) -> str:
    """A plain-text diff: [ref→hyp] substitutions, [−ref] deletions, [+hyp] insertions."""
    parts = []
    for seg in segments:
        if seg["type"] == "equal":
            parts.append(seg["ref"])
        elif seg["type"] == "substitute":
            parts.append(f"[{seg['ref']}→{seg['hyp']}]")
        elif seg["type"] == "delete":
            parts.append(f"[−{seg['ref']}]")
        else:
            parts.append(f"[+{seg['hyp']}]")
    return " ".join(parts)


def html_diff(title: str, segments: list[dict[str, str]]) -> str:
    """One line of raw HTML: the aligned reference and hypothesis, substitutions amber,
    deletions red and struck through (reference only), insertions green (hypothesis only)."""
    import html

    ref, hyp = [], []
    for seg in segments:
        r, h, kind = html.escape(seg["ref"]), html.escape(seg["hyp"]), seg["type"]
        if kind == "equal":
            ref.append(r)
            hyp.append(h)
        elif kind == "substitute":
            ref.append(f'<span class="sub">{r}</span>')
            hyp.append(f'<span class="sub">{h}</span>')
        elif kind == "delete":
            ref.append(f'<span class="del">{r}</span>')
        else:
            hyp.append(f'<span class="ins">{h}</span>')
    return (
        f'<div class="diff"><div class="utt">{html.escape(title)}</div>'
        f"<div><b>ref</b> {' '.join(ref)}</div><div><b>hyp</b> {' '.join(hyp)}</div></div>"
    )


def evaluations_markdown(report: EvaluationReport) -> str:
    lines = [f"# Evaluation: {report.system}", ""]
    for extra in report.evaluations:
        lines += evaluation_section(extra)
    return "\n".join(lines).rstrip() + "\n"


def evaluation_section(extra: dict[str, Any]) -> list[str]:
    """Another evaluator's ``to_dict()``, shown generically: its scalars as a list, nested
    values as JSON."""
    lines = [f"## Evaluator: {extra['evaluator']}", ""]
    result = extra.get("result", {})
    if not isinstance(result, dict):
        return [*lines, f"- result: {result}", ""]
    for key, value in result.items():
        if isinstance(value, (dict, list)):
            lines.append(f"- {key}: `{json.dumps(value, ensure_ascii=False, default=str)}`")
        else:
            lines.append(f"- {key}: {value}")
    return [*lines, ""]


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
        f"- Normaliser: `{report.normalizer.get('name', '?')}` — "
        f"{'; '.join(report.normalizer.get('steps', []))}.",
        *[f"- Metric: {text}." for text in report.method.get("metrics", {}).values()],
        f"- Method: {report.method['rate']}; {report.method['n_boot']} bootstrap "
        f"replicates over {report.method['resampling']} (seed {report.method['seed']}); "
        f"{report.method.get('too_few', '')}; multiple testing: "
        f"{report.method['multiple_testing']}; alignment by {report.method['alignment']}.",
        *_audited_lines(report.audited),
        "",
    ]
    first_by_attributes: dict[tuple[str, ...], GroupAnalysis] = {}
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
                f"{pct(g.rate)} {pct_ci(g.ci) if g.ci_note is None else '(' + g.ci_note + ')'} |"
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
    lines = [f"- Audited system: {what or 'described in the JSON report'}."]
    machine = audited.get("machine") or {}
    compute = (audited.get("settings") or {}).get("compute_type_used")
    if machine or compute:
        parts = [
            f"{machine.get('cpu', 'unknown CPU')} ({machine.get('instruction_set', '?')})"
            if machine
            else "",
            f"compute type {compute}" if compute else "",
        ]
        lines.append(
            f"- Computed on: {', '.join(p for p in parts if p)}. Numeric kernels differ by "
            "instruction set, so compare audits made on the same kind of machine."
        )
    return lines
