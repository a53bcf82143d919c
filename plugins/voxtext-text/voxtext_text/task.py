"""The text tasks ``text-classification``, ``token-classification`` and ``masked-lm``: the
core's text library (``voxtext.text``) behind ``protocols.Task``, so ``voxtext train`` and
``voxtext evaluate`` reach them by name like any other task.

The defaults a text config may leave out live here, not in the core: each task's head, and
the fairness evaluator of the per-group report (``load_text_config`` asks the registered
task of each kind for them).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from voxtext.errors import ConfigError
from voxtext.protocols import EvaluationRequest, EvaluationResult

#: The head of each task kind when its table names none (the heads of this plugin).
DEFAULT_HEADS: Mapping[str, str] = {
    "text-classification": "sequence-classification",
    "token-classification": "token-classification",
    "masked-lm": "masked-lm",
}
#: The per-group report of ``group_by``: voxtext-fairness's classification evaluator.
DEFAULT_EVALUATOR = "classification-fairness"
#: Where ``voxtext evaluate`` writes when not told (``--out``).
DEFAULT_OUT = Path("evaluation")
#: The scores ``voxtext evaluate`` prints, in this order, when the evaluation has them.
HEADLINE = ("accuracy", "macro_f1", "micro_f1", "weighted_f1", "f1")


class TextTask:
    """One text task kind, trained by ``voxtext.text.train`` and evaluated on a labelled text
    or token dataset by ``voxtext.text.evaluate_file``. ``default_head`` and
    ``default_evaluator`` are what ``voxtext.text.load_text_config`` fills in for a config
    that names no head or evaluator."""

    default_evaluator = DEFAULT_EVALUATOR

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.default_head = DEFAULT_HEADS[kind]

    def load_config(self, values: Mapping[str, Any], where: str) -> Any:
        from voxtext.text import load_text_config

        return load_text_config({"task": self.kind, **values}, where=where)

    def train(self, config: Any, *, resume: bool = False) -> Any:
        from voxtext.text import train

        return train(config, resume=resume)

    def evaluate(self, request: EvaluationRequest) -> EvaluationResult:
        from voxtext.text import TextPredictor, evaluate_file

        paths = [request.checkpoint, *request.ensemble]
        predictor = TextPredictor.load(paths, device=request.device)
        recorded = predictor.members[0].metadata.task_state.get("config", {}).get("evaluator")
        out = request.out or DEFAULT_OUT
        if out.suffix in (".jsonl", ".json", ".csv"):
            raise ConfigError(
                f"--out {out}: a text model's evaluation writes a folder (predictions.jsonl, "
                "metrics.json, report.md); give a folder, e.g. --out evaluation/"
            )
        result = evaluate_file(
            predictor,
            request.data,
            out,
            task=request.head,
            group_by=request.group_by,
            evaluator=recorded or DEFAULT_EVALUATOR,
        )
        scores = result["scores"]
        metrics = {name: float(scores[name]) for name in HEADLINE if scores.get(name) is not None}
        return EvaluationResult(
            metrics, f"report in {out}/report.md, predictions in {out}/predictions.jsonl"
        )

    def upgrade_metadata(self, saved: Mapping[str, Any], source: str) -> Any:
        """Text checkpoints of the format before the one schema
        (``voxtext.train.metadata.LegacyMetadata``)."""
        from voxtext.text.restore import upgrade_metadata

        return upgrade_metadata(saved, source)
