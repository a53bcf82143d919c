"""Dev evaluation for any speech task: the error rates that select a checkpoint, overall and
per group, scored by the one scorer (:mod:`voxtext.speech.scoring`) from whatever function
the task transcribes with."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from voxtext.data.manifest import Utterance, read_manifest
from voxtext.speech.config import GroupedRun
from voxtext.speech.scoring import grouped_error_rates, text_normalizer

#: ``transcribe(model, utterances)``: the model's hypothesis text for each utterance.
Transcribe = Callable[[torch.nn.Module, Sequence[Utterance]], list[str]]
#: ``more(model, utterances)``: further dev metrics (names without the ``dev_`` prefix).
MoreMetrics = Callable[[torch.nn.Module, Sequence[Utterance]], dict[str, float]]


def dev_evaluator(
    config: GroupedRun, transcribe: Transcribe, more: MoreMetrics | None = None
) -> Callable[[torch.nn.Module], dict[str, float]] | None:
    """The trainer's ``evaluate(model)`` for a run with a dev manifest (None without one):
    ``dev_cer`` overall and per group (``data.group_by`` plus the
    ``group_attribute``, whose worst group is ``dev_worst_cer``), references and hypotheses
    normalised by the run's ``text_normalizer``; plus ``more``'s metrics, prefixed ``dev_``."""
    if config.data.dev is None:
        return None
    dev = read_manifest(config.data.dev)
    normalise = text_normalizer(config.text_normalizer)
    references = [normalise(u.text) for u in dev]

    def evaluate(model: torch.nn.Module) -> dict[str, float]:
        metrics = grouped_error_rates(
            references,
            [normalise(h) for h in transcribe(model, dev)],
            [u.groups for u in dev],
            config.evaluation_groups(),
            worst_of=config.group_attribute,
        )
        if more is not None:
            metrics.update({f"dev_{name}": value for name, value in more(model, dev).items()})
        return metrics

    return evaluate
