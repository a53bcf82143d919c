"""Micro-averaged error rates (errors over reference length) overall and per group value,
for dev-set model selection. The full fairness report with confidence intervals is the
fairness evaluators' job (``voxtext report``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import jiwer


def error_rate(references: Sequence[str], hypotheses: Sequence[str], unit: str) -> float:
    """CER (``unit="char"``) or WER (``"word"``) over all pairs, micro-averaged."""
    pairs = [(r, h) for r, h in zip(references, hypotheses, strict=True) if r.strip()]
    if not pairs:
        return float("nan")
    refs, hyps = [p[0] for p in pairs], [p[1] for p in pairs]
    out: jiwer.CharacterOutput | jiwer.WordOutput = (
        jiwer.process_characters(refs, hyps) if unit == "char" else jiwer.process_words(refs, hyps)
    )
    errors = out.substitutions + out.deletions + out.insertions
    return errors / max(1, out.substitutions + out.deletions + out.hits)


def grouped_error_rates(
    references: Sequence[str],
    hypotheses: Sequence[str],
    groups: Sequence[Mapping[str, str]],
    group_by: Sequence[str],
    *,
    unit: str = "char",
    prefix: str = "dev_",
) -> dict[str, float]:
    """``{prefix}cer`` overall, ``{prefix}cer/<attr>=<value>`` per group value and
    ``{prefix}worst_cer`` (the worst group's rate, for selecting on the worst dialect)."""
    name = "cer" if unit == "char" else "wer"
    metrics = {f"{prefix}{name}": error_rate(references, hypotheses, unit)}
    worst = float("nan")
    for attribute in group_by:
        members: dict[str, list[int]] = defaultdict(list)
        for i, g in enumerate(groups):
            if attribute in g:
                members[g[attribute]].append(i)
        for value, index in sorted(members.items()):
            rate = error_rate([references[i] for i in index], [hypotheses[i] for i in index], unit)
            metrics[f"{prefix}{name}/{attribute}={value}"] = rate
            worst = rate if worst != worst else max(worst, rate)  # nan != nan: first value
    if group_by:
        metrics[f"{prefix}worst_{name}"] = worst
    return metrics
