"""Using trained text models: classify texts, tag words, ensemble several runs, and evaluate a
labelled file into predictions, scores, a per-class report and per-group fairness.

    from voxtext.text import TextPredictor
    predictor = TextPredictor.load(["exp/text/run1", "exp/text/run2"])   # 2 runs: an ensemble
    predictor.classify(["这个手机很好用", "太差了"])  # [ClassPrediction(label="pos", ...), ...]

An ensemble averages the members' probabilities (same task kinds and label sets required).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from voxtext.errors import ConfigError, VoxtextError
from voxtext.text.config import TextDataConfig
from voxtext.text.dataset import (
    IGNORE,
    EncodedText,
    LabelSet,
    TaskExample,
    check_known_labels,
    encode_examples,
    read_task_examples,
)
from voxtext.text.evaluation import (
    ClassPrediction,
    classification_scores,
    decide_classes,
    decide_tags,
    predict_probabilities,
    tagging_scores,
)
from voxtext.text.metrics import ClassificationMetrics, EntityMetrics
from voxtext.text.restore import LoadedTextModel, load_text_model
from voxtext.train.checkpoint import Which


class TextPredictor:
    """One text model or an ensemble of them (probabilities averaged)."""

    def __init__(self, members: Sequence[LoadedTextModel], *, batch_size: int = 128) -> None:
        if not members:
            raise ValueError("TextPredictor needs at least one model")
        first = members[0]
        for other in members[1:]:
            if other.kinds != first.kinds or other.labels != first.labels:
                raise ConfigError(
                    f"cannot ensemble {other.checkpoint} with {first.checkpoint}: their tasks or "
                    "label sets differ"
                )
            if _vocabulary(other) != _vocabulary(first):
                raise ConfigError(
                    f"cannot ensemble {other.checkpoint} with {first.checkpoint}: their "
                    "tokenizers differ (members must share one tokenizer)"
                )
        self.members, self.batch_size = list(members), batch_size

    @classmethod
    def load(
        cls,
        paths: str | Path | Sequence[str | Path],
        *,
        which: Which = "best",
        device: str = "cpu",
    ) -> TextPredictor:
        """One run/checkpoint folder, or several for an ensemble."""
        listed = [paths] if isinstance(paths, str | Path) else list(paths)
        return cls([load_text_model(p, which=which, device=device) for p in listed])

    @property
    def kinds(self) -> dict[str, str]:
        return self.members[0].kinds

    def labels(self, task: str = "main") -> LabelSet:
        labels = self.members[0].labels.get(task)
        if labels is None:
            raise VoxtextError(f"task '{task}' has no labels (known tasks: {sorted(self.kinds)})")
        return labels

    def probabilities(self, items: Sequence[EncodedText], task: str = "main") -> list[torch.Tensor]:
        """Per item the members' mean probabilities (see ``predict_probabilities``)."""
        if task not in self.kinds:
            raise VoxtextError(f"no task '{task}' in this model; tasks: {sorted(self.kinds)}")
        labels = self.labels(task)
        runs = [
            predict_probabilities(
                m.model,
                items,
                task=task,
                multi_label=labels.multi_label,
                pad_id=m.tokenizer.pad_id,
                batch_size=self.batch_size,
            )
            for m in self.members
        ]
        return [torch.stack(column).mean(dim=0) for column in zip(*runs, strict=True)]

    def encode(self, examples: Sequence[TaskExample], task: str = "main") -> list[EncodedText]:
        """Encoded with the first member's tokenizer (ensemble members must share it)."""
        tokenizer = self.members[0].tokenizer
        kind = self.kinds[task]
        if kind == "token-classification":
            out = []
            for e in examples:
                ids, words = tokenizer.encode_words(e.words or ())
                first = [
                    IGNORE if w is None or w == p else 0
                    for w, p in zip(words, [None, *words[:-1]], strict=True)
                ]
                out.append(EncodedText(e.id, e.text, ids, first))
            return out
        return encode_examples(examples, tokenizer, "masked-lm", None)

    def _check_kind(self, task: str, wanted: str, method: str) -> None:
        kind = self.kinds.get(task)
        if kind is None:
            raise VoxtextError(f"no task '{task}' in this model; tasks: {sorted(self.kinds)}")
        if kind != wanted:
            other = "tag" if kind == "token-classification" else "classify"
            raise VoxtextError(
                f"task '{task}' is {kind}; {method}() is for {wanted} — use {other}() instead"
            )

    def classify(self, texts: Sequence[str], task: str = "main") -> list[ClassPrediction]:
        self._check_kind(task, "text-classification", "classify")
        examples = [TaskExample(str(i), t) for i, t in enumerate(texts)]
        return decide_classes(
            self.probabilities(self.encode(examples, task), task), self.labels(task)
        )

    def tag(self, sentences: Sequence[Sequence[str]], task: str = "main") -> list[list[str]]:
        """BIO tags of pre-split words (one tag per word)."""
        self._check_kind(task, "token-classification", "tag")
        examples = [
            TaskExample(str(i), " ".join(w), words=tuple(w)) for i, w in enumerate(sentences)
        ]
        items = self.encode(examples, task)
        tags = decide_tags(self.probabilities(items, task), items, self.labels(task))
        return [t + ["O"] * (len(s) - len(t)) for t, s in zip(tags, sentences, strict=True)]


def evaluate_file(
    predictor: TextPredictor,
    path: Path,
    out_dir: Path,
    *,
    task: str = "main",
    group_by: Sequence[str] = (),
    group_columns: Sequence[str] = (),
    n_boot: int = 1000,
    evaluator: str | None = None,
) -> dict[str, Any]:
    """Predict every example of a labelled file and write under ``out_dir``:
    ``predictions.jsonl`` (id, label, pred, score, groups), ``metrics.json`` and
    ``report.md`` (per-class report, confusion matrix), and for classification with
    ``group_by`` the per-group fairness report (``fairness.json``/``fairness.md``) from the
    fairness evaluator named ``evaluator`` (registry name; required with ``group_by``).
    Returns the metrics."""
    kind = predictor.kinds.get(task)
    if kind not in ("text-classification", "token-classification"):
        raise VoxtextError(f"task '{task}' ({kind}) is not a classification or tagging task")
    labels = predictor.labels(task)
    if group_by and (kind != "text-classification" or labels.multi_label):
        raise VoxtextError(
            f"group_by {list(group_by)}: per-group fairness reports cover single-label "
            f"classification; task '{task}' is "
            f"{'multi-label ' if labels.multi_label else ''}{kind}. Drop group_by, or split "
            "the data by group and evaluate each part"
        )
    data = TextDataConfig(
        train=path, group_columns=tuple(group_columns), multi_label=labels.multi_label
    )
    examples = read_task_examples(path, kind, data)  # type: ignore[arg-type]
    check_known_labels(examples, labels, path)
    _check_groups(examples, group_by, path)
    if group_by and not evaluator:
        raise VoxtextError(
            f"group_by {list(group_by)}: name the fairness evaluator of the per-group report "
            "(a registry name; `voxtext plugins` lists them under fairness evaluators)"
        )
    items = predictor.encode(examples, task)
    probs = predictor.probabilities(items, task)
    out_dir.mkdir(parents=True, exist_ok=True)
    scores: ClassificationMetrics | EntityMetrics
    if kind == "token-classification":
        tags = decide_tags(probs, items, labels)
        scores = tagging_scores([list(e.tags or ()) for e in examples], tags)
        records = [
            {
                "id": e.id,
                "tokens": list(e.words or ()),
                "tags": list(e.tags or ()),
                "pred": t + ["O"] * (len(e.tags or ()) - len(t)),
                "groups": e.groups,
            }
            for e, t in zip(examples, tags, strict=True)
        ]
    else:
        predictions = decide_classes(probs, labels)
        scores = classification_scores([e.label for e in examples], predictions, labels)
        records = [_record(e, p, labels) for e, p in zip(examples, predictions, strict=True)]
    _write_jsonl(out_dir / "predictions.jsonl", records)
    result = {"task": task, "kind": kind, "file": str(path), "scores": scores.to_dict()}
    report = scores.to_markdown()
    if group_by:
        assert evaluator is not None  # checked above, before predicting
        fairness = _fairness(records, group_by, labels, n_boot, evaluator)
        (out_dir / "fairness.json").write_text(
            json.dumps(fairness.to_dict(), indent=2, default=str), encoding="utf-8"
        )
        (out_dir / "fairness.md").write_text(fairness.to_markdown(), encoding="utf-8")
        result["fairness"] = str(out_dir / "fairness.json")
        report += "\n" + fairness.to_markdown()
    (out_dir / "metrics.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    (out_dir / "report.md").write_text(report, encoding="utf-8")
    return result


def _record(example: TaskExample, prediction: ClassPrediction, labels: LabelSet) -> dict[str, Any]:
    label: Any = list(example.label) if isinstance(example.label, tuple) else example.label
    pred: Any = list(prediction.label) if isinstance(prediction.label, tuple) else prediction.label
    record = {
        "id": example.id,
        "label": label,
        "pred": pred,
        "score": prediction.score,
        "groups": example.groups,
    }
    if not labels.multi_label and len(labels.values) == 2:
        record["score"] = prediction.probabilities[1]  # probability of the second (positive) class
    return record


def _check_groups(examples: Sequence[TaskExample], group_by: Sequence[str], path: Path) -> None:
    for attribute in group_by:
        lacking = [e.id for e in examples if attribute not in e.groups]
        if lacking:
            raise VoxtextError(
                f"{path}: {len(lacking)} examples lack group '{attribute}' (e.g. {lacking[0]}); "
                "give every example that group or drop it from group_by"
            )


def _vocabulary(member: LoadedTextModel) -> Any:
    """What makes two members' tokenizers equal: the encoder's rebuild options, less paths."""
    options = dict(member.metadata.components["encoder"]["options"])
    options.pop("path", None)
    return options


def _fairness(
    records: list[dict[str, Any]],
    group_by: Sequence[str],
    labels: LabelSet,
    n_boot: int,
    name: str,
) -> Any:
    """The per-group report of the evaluator ``name``, given the settings its config has."""
    import dataclasses

    from voxtext.plugins import registry

    evaluators = registry("fairness_evaluators")
    if name not in evaluators:
        raise VoxtextError(
            f"per-group evaluation needs the fairness evaluator '{name}', which no installed "
            f"plugin registers (known: {', '.join(evaluators.names()) or 'none installed'}); "
            "install the plugin that provides it, name another evaluator, or drop group_by"
        )
    binary = len(labels.values) == 2
    settings = {
        "n_boot": n_boot,
        "pos_label": labels.values[1] if binary else None,
        "score_meaning": "positive" if binary else "confidence",
    }
    entry = evaluators.get(name)
    fields = {f.name for f in dataclasses.fields(entry.config)} if entry.config else set()
    evaluator = entry.create({k: v for k, v in settings.items() if k in fields})
    return evaluator.evaluate(records, list(group_by))


def _write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
