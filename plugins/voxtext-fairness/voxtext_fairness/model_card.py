"""A Hugging Face-style model card (``README.md`` with YAML front matter) written next to a
checkpoint: what the model is for, what it was trained on per group (from the checkpoint's
metadata), how it did per group with intervals, its known gaps and why, and its limits.

The evaluation part is the report's own model-card section (:func:`model_card_section`), so
the card and the report never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voxtext_fairness.markdown import model_card_section, pct, pt, pt_ci

if TYPE_CHECKING:
    from voxtext.train.metadata import CheckpointMetadata
    from voxtext_fairness.report import AsrFairnessReport, Explanations

INTENDED_USE = (
    "Research on dialect- and accent-aware speech recognition, and auditing how error rates "
    "differ between groups of speakers before a recogniser is used more widely."
)
OUT_OF_SCOPE = [
    "decisions about individual people (hiring, policing, credit, health) from transcripts",
    "production use on real speakers before it is evaluated on real speech of those groups",
    "languages, dialects and recording conditions absent from the training data below",
    "inferring a speaker's dialect, gender or other group as a fact about them",
]


def write_model_card(
    report: AsrFairnessReport, checkpoint: str | Path, *, name: str | None = None
) -> Path:
    """Write ``README.md`` into the checkpoint folder (a run folder means its best checkpoint)
    and return its path."""
    from voxtext.train.checkpoint import read_metadata, resolve_checkpoint

    folder = resolve_checkpoint(Path(checkpoint), "best")
    metadata = read_metadata(folder)
    path = folder / "README.md"
    path.write_text(model_card(report, metadata, name or folder.parent.name), encoding="utf-8")
    return path


def model_card(report: AsrFairnessReport, metadata: Mapping[str, Any], name: str) -> str:
    """The card's text from a report and a checkpoint's ``metadata.json`` (its task's
    entry read in the one schema, ``voxtext.train.metadata``, an older format converted)."""
    from voxtext.train.metadata import task_metadata

    task = task_metadata(metadata.get("metadata", {}), source=name)
    lines = [
        *_front_matter(report, name),
        f"# Model card: {name}",
        "",
        "## Model details",
        "",
        *_details(metadata, task),
        "",
        "## Intended use",
        "",
        INTENDED_USE,
        "",
        "## Out-of-scope use",
        "",
        *[f"- {item}" for item in OUT_OF_SCOPE],
        "",
        "## Training data",
        "",
        *_training_data(task, report),
        "",
        *model_card_section(report),
        "## Known gaps and why",
        "",
        *_gaps(report),
        "",
        "## Limitations",
        "",
        *_limitations(report),
        "",
        "## Normaliser and metric",
        "",
        f"- Normaliser: `{report.normalizer.get('name', '?')}` "
        f"({'; '.join(report.normalizer.get('steps', []))}).",
        *[f"- {text}." for text in report.method.get("metrics", {}).values()],
        f"- Full normaliser settings: `{json.dumps(report.normalizer, ensure_ascii=False)}`.",
        "",
    ]
    return "\n".join(lines).rstrip() + "\n"


def _front_matter(report: AsrFairnessReport, name: str) -> list[str]:
    metrics = []
    for analysis in report.analyses:
        if len(analysis.attributes) == 1 and analysis.overall_rate is not None:
            metrics += [
                f"      - type: {analysis.metric.lower()}",
                f"        value: {100 * analysis.overall_rate:.2f}",
                f"        name: test {analysis.metric} (%), all groups",
            ]
            break
    return [
        "---",
        "library_name: voxtext",
        "pipeline_tag: automatic-speech-recognition",
        "tags: [voxtext, fairness, automatic-speech-recognition]",
        "model-index:",
        f"  - name: {json.dumps(name)}",
        "    results:",
        "      - task: {type: automatic-speech-recognition}",
        f"        dataset: {{name: {json.dumps(report.system)}, type: custom}}",
        "        metrics:",
        *[f"  {line}" for line in metrics],
        "---",
        "",
    ]


def _details(metadata: Mapping[str, Any], task: CheckpointMetadata) -> list[str]:
    lines = [
        f"- Checkpoint: step {metadata.get('step', '?')}, saved {metadata.get('saved_at', '?')}"
    ]
    lines.append(f"- voxtext {metadata.get('voxtext_version', '?')}")
    lines.append(f"- Task: {task.task}")
    for role, record in task.components.items():
        if isinstance(record, Mapping):
            lines.append(
                f"- {role}: `{record.get('name', '?')}` from {record.get('plugin', '?')} "
                f"{record.get('version', '')}".rstrip()
            )
    return lines


def _training_data(task: CheckpointMetadata, report: AsrFairnessReport) -> list[str]:
    """Per group: utterances, hours, speakers — from the checkpoint's record, or, for a
    checkpoint that predates it, from its training manifest when that is still there."""
    rows = task.task_state.get("training_data")
    source = "the checkpoint's metadata"
    if not rows:
        train = task.task_state.get("config", {}).get("data", {}).get("train")
        if not train or not Path(train).is_file():
            return [
                "Not recorded in this checkpoint, and its training manifest "
                f"({train or 'unknown'}) is not there to summarise."
            ]
        rows, source = _summarise_manifest(Path(train), report), f"its training manifest {train}"
    lines = [
        f"From {source}.",
        "",
        "| group | value | utterances | hours | speakers |",
        "|---|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['group']} | {row['value']} | {row['utterances']} | "
            f"{row['hours']:.2f} | {row['speakers']} |"
        )
    return lines


def _summarise_manifest(path: Path, report: AsrFairnessReport) -> list[dict[str, Any]]:
    import dataclasses

    from voxtext.data.manifest import read_manifest
    from voxtext.data.summary import summarise

    utterances = read_manifest(path)
    found = {name for u in utterances for name in u.groups}
    attributes = [a.attributes[0] for a in report.analyses if len(a.attributes) == 1]
    rows = summarise(utterances, [a for a in attributes if a in found]).rows
    return [dataclasses.asdict(row) for row in rows]


def _gaps(report: AsrFairnessReport) -> list[str]:
    lines = []
    explained = {tuple(e.attributes): e for e in report.explanations}
    adjusted = {tuple(m.attributes): m for m in report.length_adjusted}
    for analysis in report.analyses:
        gap = analysis.gap
        if gap is None or len(analysis.attributes) != 1:
            continue
        interval = pt_ci(gap.gap_ci) if gap.note is None else f"(no interval: {gap.note})"
        lines.append(
            f"- {analysis.metric} by {analysis.title}: **{gap.worst}** "
            f"({pct(_rate(analysis, gap.worst))}) vs **{gap.best}** "
            f"({pct(_rate(analysis, gap.best))}), gap {pt(gap.gap)} {interval}."
        )
        explanation = explained.get(tuple(analysis.attributes))
        if explanation is not None:
            lines += _worst_group_lines(explanation, gap.worst)
        model = adjusted.get(tuple(analysis.attributes))
        if model is not None:
            verdict = (
                model.note
                if model.note is not None
                else "survives controlling for utterance length"
                if model.survives
                else "does not clearly survive controlling for utterance length"
            )
            lines.append(f"  - length-adjusted model: {verdict}")
    return lines or ["- No per-group gap could be computed."]


def _worst_group_lines(explanation: Explanations, worst: str) -> list[str]:
    group = next((g for g in explanation.groups if g.group == worst), None)
    if group is None:
        return []
    lines = []
    for unit, pairs in group.top_errors.items():
        shown = ", ".join(f"{p.ref or '∅'}→{p.hyp or '∅'} ×{p.count}" for p in pairs[:5])
        lines.append(f"  - commonest {unit} errors of {worst}: {shown or 'none'}")
    if group.missed_words:
        words = ", ".join(f"“{w.word}”" for w in group.missed_words[:5])
        lines.append(f"  - words {worst} misses more than {explanation.best}: {words}")
    return lines


def _rate(analysis: Any, group: str) -> float | None:
    return next((g.rate for g in analysis.groups if g.group == group), None)


def _limitations(report: AsrFairnessReport) -> list[str]:
    lines = []
    if report.data.synthetic:
        lines.append(
            f"- **Synthetic data.** {report.data.synthetic_utterances} of "
            f"{report.data.utterances} test utterances are generated speech: these numbers "
            "describe the synthetic set, not real speakers of these groups."
        )
    lines += [f"- {w}" for w in report.warnings]
    lines += [f"- {w}" for a in report.analyses for w in a.warnings]
    lines.append(
        "- Error rates depend on the text normaliser; compare only reports made with the same "
        "normaliser and metric (below)."
    )
    return lines
