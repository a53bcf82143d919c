"""Micro-averaged error rates (errors over reference length) overall and per group value,
for dev-set model selection. The full fairness report with confidence intervals is the
fairness evaluators' job (``voxtext report``)."""

from __future__ import annotations

import math
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
    worst_of: str | None = None,
) -> dict[str, float]:
    """``{prefix}cer`` overall, ``{prefix}cer/<attr>=<value>`` per group value,
    ``{prefix}worst_cer/<attr>`` per attribute and ``{prefix}worst_cer``: the worst group of
    attribute ``worst_of`` (of every attribute when ``None``), for selecting on the worst
    dialect. Only groups present in the data with a non-empty reference count: a group absent
    from dev (or a value unseen there) neither fails nor hides the others."""
    if worst_of is not None and worst_of not in group_by:
        raise ValueError(f"worst_of={worst_of!r} is not among group_by {list(group_by)}")
    name = "cer" if unit == "char" else "wer"
    metrics = {f"{prefix}{name}": error_rate(references, hypotheses, unit)}
    worst_per_attribute: dict[str, float] = {}
    for attribute in group_by:
        members: dict[str, list[int]] = defaultdict(list)
        for i, g in enumerate(groups):
            if attribute in g:
                members[g[attribute]].append(i)
        rates = []
        for value, index in sorted(members.items()):
            rate = error_rate([references[i] for i in index], [hypotheses[i] for i in index], unit)
            metrics[f"{prefix}{name}/{attribute}={value}"] = rate
            if not math.isnan(rate):  # nan: the group has only empty references
                rates.append(rate)
        worst_per_attribute[attribute] = max(rates, default=float("nan"))
        if len(group_by) > 1:
            metrics[f"{prefix}worst_{name}/{attribute}"] = worst_per_attribute[attribute]
    if group_by:
        considered = [worst_per_attribute[worst_of]] if worst_of else worst_per_attribute.values()
        finite = [rate for rate in considered if not math.isnan(rate)]
        metrics[f"{prefix}worst_{name}"] = max(finite, default=float("nan"))
    return metrics
