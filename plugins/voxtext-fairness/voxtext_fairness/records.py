"""Prediction records, read from JSON Lines or given in code, with every line validated.

ASR predictions, one JSON object per line::

    {"id": "spk1-0001", "ref": "你好", "hyp": "你号", "speaker": "spk1",
     "groups": {"dialect": "wuu", "gender": "f"}, "duration": 2.3, "synthetic": false}

``id``, ``ref`` and ``hyp`` are required (``hyp`` may be empty: the recogniser said
nothing). ``speaker`` makes confidence intervals resample speakers rather than utterances;
``duration`` (seconds) gives hours per group; ``synthetic`` marks generated data, which the
report says; ``extra.predicted_groups`` (what a group-aware model identified itself, as
``voxtext evaluate`` writes it) gives the identification confusion matrix. Classification
predictions use ``label`` and ``pred`` (string, integer or boolean) and an optional
``score`` in [0, 1] instead of ``ref``/``hyp``. Every problem in a file is reported at once
as ``file:line: field 'x': what — what to do``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxtext.data.validation import (
    FieldReader,
    Problems,
    check_unique_id,
    duration_field,
    json_type,
    read_json_lines,
    report_unknown_fields,
)

ASR_FIELDS = ("id", "ref", "hyp", "speaker", "groups", "duration", "synthetic", "extra")
CLASSIFICATION_FIELDS = ("id", "label", "pred", "score", "speaker", "groups", "synthetic", "extra")
Label = str | int | bool


@dataclass(frozen=True)
class Prediction:
    """One recognised utterance: reference and hypothesis text, speaker and groups."""

    id: str
    ref: str
    hyp: str
    speaker: str | None = None
    groups: Mapping[str, str] = field(default_factory=dict)
    duration: float | None = None
    synthetic: bool = False
    line: int = field(default=0, compare=False)
    #: groups the model identified itself (``extra.predicted_groups``), where it did
    predicted_groups: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClassifiedItem:
    """One classified item: true label, predicted label, optional score, groups."""

    id: str
    label: Label
    pred: Label
    score: float | None = None
    speaker: str | None = None
    groups: Mapping[str, str] = field(default_factory=dict)
    synthetic: bool = False
    line: int = field(default=0, compare=False)


def read_predictions(path: str | Path, group_by: Sequence[str] = ()) -> list[Prediction]:
    """Read an ASR predictions file; every line must carry each attribute in ``group_by``."""
    problems = Problems(path)
    rows = read_json_lines(Path(path), problems, "predictions file")
    return _parse_all(rows, problems, group_by, _parse_prediction, "predictions file")


def validate_predictions(
    records: Sequence[Mapping[str, Any] | Prediction], group_by: Sequence[str] = ()
) -> list[Prediction]:
    """Check in-memory ASR records; problems name ``records:<1-based position>``."""
    return _validate(records, group_by, Prediction, _parse_prediction)


def read_classified(path: str | Path, group_by: Sequence[str] = ()) -> list[ClassifiedItem]:
    """Read a classification predictions file (``label``, ``pred``, optional ``score``)."""
    problems = Problems(path)
    rows = read_json_lines(Path(path), problems, "predictions file")
    return _parse_all(rows, problems, group_by, _parse_classified, "predictions file")


def validate_classified(
    records: Sequence[Mapping[str, Any] | ClassifiedItem], group_by: Sequence[str] = ()
) -> list[ClassifiedItem]:
    """Check in-memory classification records; problems name ``records:<position>``."""
    return _validate(records, group_by, ClassifiedItem, _parse_classified)


def _validate(records: Sequence[Any], group_by: Sequence[str], kind: type, parse: Any) -> Any:
    problems = Problems("records")
    rows: list[tuple[int, Any]] = []
    for position, record in enumerate(records, start=1):
        if isinstance(record, kind):
            record = _as_record(record)
        if not isinstance(record, Mapping):
            problems.add(
                position,
                f"is {type(record).__name__}, not a mapping",
                'give each record as a dict, e.g. {"id": "a1", ...}',
            )
            continue
        rows.append((position, record))
    return _parse_all(rows, problems, group_by, parse, "list of records")


def _as_record(item: Prediction | ClassifiedItem) -> dict[str, Any]:
    """A parsed item back in the shape of a predictions-file line."""
    record = {k: v for k, v in item.__dict__.items() if k not in ("line", "predicted_groups")}
    if isinstance(item, Prediction) and item.predicted_groups:
        record["extra"] = {"predicted_groups": dict(item.predicted_groups)}
    return record


def _parse_all(
    rows: Any, problems: Problems, group_by: Sequence[str], parse: Any, kind: str
) -> list[Any]:
    first_line: dict[str, int] = {}
    parsed = []
    for line, obj in rows:
        before = len(problems)
        item = parse(FieldReader(obj, line, problems))
        _check_groups(obj, line, group_by, problems)
        check_unique_id(obj.get("id"), line, first_line, problems, "prediction")
        if item is not None and len(problems) == before:
            parsed.append(item)
    if not rows and not len(problems):
        problems.add(None, "holds no records", "give at least one prediction")
    problems.raise_if_any(kind)
    return parsed


def _parse_prediction(fields: FieldReader) -> Prediction | None:
    report_unknown_fields(fields.obj, ASR_FIELDS, fields.line, fields.problems)
    utterance_id = fields.string("id", '"id": "spk1-0001"', non_empty=True)
    ref = fields.string("ref", '"ref": "the reference transcript"')
    hyp = fields.string("hyp", '"hyp": "what the recogniser wrote" ("" if nothing)')
    speaker = fields.string("speaker", '"speaker": "spk1"', required=False, non_empty=True)
    groups = fields.string_mapping("groups", '"groups": {"dialect": "yue"}')
    duration = duration_field(
        fields,
        required=False,
        example='"duration": 2.35 (seconds)',
        fix='write "duration": 2.35 (seconds), or leave the field out',
    )
    synthetic = _flag(fields, "synthetic")
    if utterance_id is None or ref is None or hyp is None:
        return None
    return Prediction(
        utterance_id,
        ref,
        hyp,
        speaker,
        groups,
        duration,
        synthetic,
        fields.line,
        _predicted_groups(fields),
    )


def _predicted_groups(fields: FieldReader) -> dict[str, str]:
    """``extra.predicted_groups`` when it maps attributes to strings; ``extra`` is free-form
    otherwise, so anything else there is left alone."""
    extra = fields.obj.get("extra")
    predicted = extra.get("predicted_groups") if isinstance(extra, Mapping) else None
    if not isinstance(predicted, Mapping):
        return {}
    return {str(k): v for k, v in predicted.items() if isinstance(v, str)}


def _parse_classified(fields: FieldReader) -> ClassifiedItem | None:
    report_unknown_fields(fields.obj, CLASSIFICATION_FIELDS, fields.line, fields.problems)
    item_id = fields.string("id", '"id": "item-0001"', non_empty=True)
    label = _label(fields, "label")
    pred = _label(fields, "pred")
    score = _score(fields)
    speaker = fields.string("speaker", '"speaker": "spk1"', required=False, non_empty=True)
    groups = fields.string_mapping("groups", '"groups": {"dialect": "yue"}')
    synthetic = _flag(fields, "synthetic")
    if item_id is None or label is None or pred is None:
        return None
    return ClassifiedItem(item_id, label, pred, score, speaker, groups, synthetic, fields.line)


def _label(fields: FieldReader, name: str) -> Label | None:
    example = f'"{name}": "positive" (a string, integer or true/false)'
    if name not in fields.obj:
        fields.problem(name, "missing required field", f"add {example}")
        return None
    value = fields.obj[name]
    if not isinstance(value, str | int | bool):
        fields.problem(name, f"is {json_type(value)}, expected a class label", f"write {example}")
        return None
    return value


def _score(fields: FieldReader) -> float | None:
    value = fields.obj.get("score")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        fields.problem(
            "score",
            f"is {json_type(value)}, expected a number",
            'write "score": 0.83 (the model\'s probability)',
        )
        return None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        fields.problem(
            "score",
            f"is {value}, outside [0, 1]",
            "give a probability; apply a sigmoid or softmax to raw logits first",
        )
        return None
    return float(value)


def _flag(fields: FieldReader, name: str) -> bool:
    value = fields.obj.get(name, False)
    if not isinstance(value, bool):
        fields.problem(
            name,
            f"is {json_type(value)}, expected true or false",
            f'write "{name}": true (no quotes)',
        )
        return False
    return value


def _check_groups(
    obj: Mapping[str, Any], line: int, group_by: Sequence[str], problems: Problems
) -> None:
    groups = obj.get("groups")
    if groups is not None and not isinstance(groups, Mapping):
        return  # reported by the field reader
    for attribute in group_by:
        if attribute not in (groups or {}):
            problems.add(
                line,
                f"has no value for '{attribute}', which the report splits by",
                f'add "groups": {{"{attribute}": "..."}} (write "unknown" if it is not known)',
                f"groups.{attribute}",
            )
