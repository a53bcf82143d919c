"""The sidecar of a predictions file: ``pred.jsonl`` -> ``pred.meta.json``, saying what was
audited (the recogniser's ``describe()``, where it came from, the manifest).

``predictions.jsonl`` holds one utterance per line and nothing else (reports validate every
line), so this is where a report finds which system produced it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from voxtext.errors import DataError

PREDICTIONS_FORMAT = "voxtext.predictions/1"


def metadata_path(predictions: Path) -> Path:
    """The sidecar of a predictions file: ``pred.jsonl`` -> ``pred.meta.json``."""
    return predictions.with_name(predictions.stem + ".meta.json")


def read_predictions_metadata(predictions: str | Path) -> dict[str, Any] | None:
    """The sidecar's content, or ``None`` when there is none (predictions written by hand)."""
    path = metadata_path(Path(predictions))
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(
            f"{path}: not valid JSON ({exc}); it describes {Path(predictions).name}: "
            "rewrite it with 'voxtext evaluate' or delete it"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != PREDICTIONS_FORMAT:
        raise DataError(
            f"{path}: not a predictions sidecar (expected an object with format "
            f"{PREDICTIONS_FORMAT!r}); rewrite it with 'voxtext evaluate' or delete it"
        )
    return data
