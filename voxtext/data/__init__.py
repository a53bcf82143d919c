"""The data layer: speech manifests, audio I/O, text and token datasets, cleaning and summaries.

Readers validate every line and raise one DataError listing all problems with file, line and
field; cleaning steps report every item they drop.
"""

from __future__ import annotations

from voxtext.data.audio import AudioInfo, audio_info, collate_waveforms, load_audio, write_audio
from voxtext.data.cleaning import (
    DEFAULT_MANIFEST_STEPS,
    DEFAULT_TEXT_STEPS,
    CleaningResult,
    Dropped,
    clean_manifest,
    clean_text_dataset,
    drop_conflicting_labels,
    drop_duplicate_audio,
    drop_duplicate_ids,
    drop_duplicate_text,
    drop_duration_outliers,
    drop_empty_text,
    drop_non_printable_text,
)
from voxtext.data.manifest import Utterance, read_manifest, write_manifest
from voxtext.data.summary import GroupSummary, ManifestSummary, summarise
from voxtext.data.text import Label, TextExample, read_text_dataset
from voxtext.data.tokens import TokenExample, read_token_dataset

__all__ = [
    "DEFAULT_MANIFEST_STEPS",
    "DEFAULT_TEXT_STEPS",
    "AudioInfo",
    "CleaningResult",
    "Dropped",
    "GroupSummary",
    "Label",
    "ManifestSummary",
    "TextExample",
    "TokenExample",
    "Utterance",
    "audio_info",
    "clean_manifest",
    "clean_text_dataset",
    "collate_waveforms",
    "drop_conflicting_labels",
    "drop_duplicate_audio",
    "drop_duplicate_ids",
    "drop_duplicate_text",
    "drop_duration_outliers",
    "drop_empty_text",
    "drop_non_printable_text",
    "load_audio",
    "read_manifest",
    "read_text_dataset",
    "read_token_dataset",
    "summarise",
    "write_audio",
    "write_manifest",
]
