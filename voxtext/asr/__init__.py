"""Speech recognition as a task: a CTC model composed from registry components, its
training on the core trainer, and inference (transcribe, evaluate) from a checkpoint.

    from voxtext.asr import ASRConfig, train, load_recognizer

It builds on the task-agnostic speech kit (``voxtext.speech``: data, group plans, dev
scoring). The names load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voxtext.asr.config import ASRConfig, DataConfig, load_asr_config
    from voxtext.asr.inference import CheckpointRecognizer, Recognizer, load_recognizer
    from voxtext.asr.recognition import (
        evaluate_manifest,
        identification_accuracy,
        metadata_path,
    )
    from voxtext.asr.training import train

_HOME = {
    "ASRConfig": "config",
    "DataConfig": "config",
    "load_asr_config": "config",
    "CheckpointRecognizer": "inference",
    "Recognizer": "inference",
    "load_recognizer": "inference",
    "evaluate_manifest": "recognition",
    "identification_accuracy": "recognition",
    "metadata_path": "recognition",
    "train": "training",
}

__all__ = [
    "ASRConfig",
    "CheckpointRecognizer",
    "DataConfig",
    "Recognizer",
    "evaluate_manifest",
    "identification_accuracy",
    "load_asr_config",
    "load_recognizer",
    "metadata_path",
    "train",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'voxtext.asr' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"voxtext.asr.{_HOME[name]}"), name)
    globals()[name] = value
    return value
