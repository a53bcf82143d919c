"""Utterances to padded training batches: audio loaded with soundfile (resampled, mono),
transcripts tokenised, groups and speakers carried along for per-group evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from voxtext.asr.groups import UNKNOWN_ID, GroupVocabulary
from voxtext.data.audio import collate_waveforms, load_audio
from voxtext.data.manifest import Utterance
from voxtext.errors import DataError


@dataclass(frozen=True)
class Item:
    """One loaded utterance."""

    utterance: Utterance
    waveform: torch.Tensor
    targets: list[int]
    group_id: int = 0


class UtteranceDataset:
    """Indexable utterances; ``dataset[i]`` loads audio and encodes the transcript.

    Transcripts that encode to no tokens cannot be learnt with CTC: they are rejected up front
    with every offending line listed (clean the manifest with ``voxtext.data.cleaning``).
    With a group ``vocabulary`` each item carries its group id (0, unknown, without one).
    """

    def __init__(
        self,
        utterances: Sequence[Utterance],
        tokenizer: Any,
        sample_rate: int,
        vocabulary: GroupVocabulary | None = None,
    ) -> None:
        self.utterances = list(utterances)
        self.tokenizer = tokenizer
        self.sample_rate = sample_rate
        self.group_ids = (
            vocabulary.ids_of([u.groups for u in self.utterances])
            if vocabulary is not None
            else [UNKNOWN_ID] * len(self.utterances)
        )
        self.targets = [list(tokenizer.encode(u.text)) for u in self.utterances]
        empty = [
            f"{u.source}:{u.line}: utterance '{u.id}': text {u.text!r} has no tokens"
            for u, t in zip(self.utterances, self.targets, strict=True)
            if not t
        ]
        if empty:
            raise DataError(
                "transcripts with no tokens cannot be trained with CTC; drop them (e.g. with "
                "voxtext.data.clean_manifest's empty-text step)",
                empty,
            )

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, index: int) -> Item:
        utterance = self.utterances[index]
        waveform = load_audio(utterance.audio, self.sample_rate)
        return Item(utterance, waveform, self.targets[index], self.group_ids[index])


def collate(items: list[Item]) -> dict[str, Any]:
    """Padded waveforms ``(B, S)``, lengths, concatenated CTC targets and their lengths, and
    ``group_ids`` ``(B,)`` (0 = unknown group)."""
    waveforms, lengths = collate_waveforms([item.waveform for item in items])
    targets = torch.tensor([t for item in items for t in item.targets], dtype=torch.long)
    target_lengths = torch.tensor([len(item.targets) for item in items], dtype=torch.long)
    return {
        "waveforms": waveforms,
        "lengths": lengths,
        "targets": targets,
        "target_lengths": target_lengths,
        "group_ids": torch.tensor([item.group_id for item in items], dtype=torch.long),
        "ids": [item.utterance.id for item in items],
    }
