"""The ``asr`` task: the core's CTC recogniser (``voxtext.asr``) behind ``protocols.Task``,
so ``voxtext train`` and the recipes reach it by name like any other task.

The components a config may leave out are named here, not in the core: filterbank features
with global CMVN, a character tokenizer, a Conformer and greedy CTC decoding.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: The component tables of an ``asr`` config that names none (from the first-party plugins).
DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "features": {"name": "fbank"},
    "normalizer": {"name": "cmvn-global"},
    "tokenizer": {"name": "char"},
    "encoder": {"name": "conformer"},
    "decoder": {"name": "ctc-greedy"},
}


class CTCTask:
    """Features -> encoder -> linear CTC head, trained by ``voxtext.asr.train``."""

    def load_config(self, values: Mapping[str, Any], where: str) -> Any:
        from voxtext.asr import load_asr_config

        return load_asr_config({**DEFAULTS, **values}, where=where)

    def train(self, config: Any, *, resume: bool = False) -> Any:
        from voxtext.asr import train

        return train(config, resume=resume)

    def recognizer(self, path: Path, *, identify_groups: bool = False) -> Any:
        from voxtext.asr import load_recognizer

        return load_recognizer(path).as_recognizer(identify_groups=identify_groups)

    def upgrade_metadata(self, saved: Mapping[str, Any], source: str) -> Any:
        """Checkpoints of the CTC format before the one schema
        (``voxtext.train.metadata.LegacyMetadata``)."""
        from voxtext.asr.inference import upgrade_metadata

        return upgrade_metadata(saved, source)
