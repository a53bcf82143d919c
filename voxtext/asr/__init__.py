"""Speech recognition as a task: a CTC model composed from registry components, its
training on the core trainer, and inference (transcribe, evaluate) from a checkpoint.

    from voxtext.asr import ASRConfig, train, load_recognizer
"""

from __future__ import annotations

from voxtext.asr.config import ASRConfig, DataConfig, load_asr_config
from voxtext.asr.inference import CheckpointRecognizer, Recognizer, load_recognizer
from voxtext.asr.recognition import evaluate_manifest, identification_accuracy, metadata_path
from voxtext.asr.training import train

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
