"""Where a tokenizer learns its vocabulary from: a list of texts and/or a speech manifest."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from voxtext.errors import ConfigError


def gather_texts(texts: Sequence[str], manifest: Path | None, *, where: str) -> list[str]:
    """``texts`` plus the ``text`` of every utterance in ``manifest`` (audio is not opened)."""
    gathered = list(texts)
    if manifest is not None:
        from voxtext.data.manifest import read_manifest

        gathered.extend(u.text for u in read_manifest(manifest, check_audio=False))
    if not any(t.strip() for t in gathered):
        raise ConfigError(
            f"{where}: no training text. Give `texts` (a list of sentences) or `manifest` (a "
            "speech manifest whose `text` fields are read), or a fitted vocabulary/model from "
            "the tokenizer's to_dict()."
        )
    return gathered
