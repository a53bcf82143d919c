"""A speech run's training utterances (the train manifest less those outside the duration
limits, :func:`training_utterances`) and their padded batches: audio loaded with soundfile
(resampled, mono), transcripts encoded by the task's tokenizer, groups carried along."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from voxtext.data.audio import collate_waveforms, load_audio
from voxtext.data.manifest import Utterance, read_manifest
from voxtext.data.summary import summarise
from voxtext.errors import DataError
from voxtext.speech.config import GroupedRun
from voxtext.speech.groups import UNKNOWN_ID, GroupVocabulary
from voxtext.train import filter_by_length
from voxtext.train.distributed import current_rank_and_world


def training_utterances(config: GroupedRun) -> list[Utterance]:
    """The train manifest minus utterances outside the duration limits, written to
    ``dropped.jsonl`` (and counted on stderr) so nothing disappears silently."""
    utterances = read_manifest(config.data.train)
    result = filter_by_length(
        [u.duration for u in utterances],
        config.data.min_duration,
        config.data.max_duration,
        ids=[u.id for u in utterances],
    )
    rank, _ = current_rank_and_world()
    if result.dropped and rank == 0:
        config.out_dir.mkdir(parents=True, exist_ok=True)
        with (config.out_dir / "dropped.jsonl").open("w", encoding="utf-8") as f:
            for item in result.dropped:
                f.write(
                    json.dumps({"id": item.item_id, "reason": item.reason, "detail": item.detail})
                    + "\n"
                )
        print(
            f"voxtext train: left out {len(result.dropped)} of {len(utterances)} training "
            f"utterances by duration {result.summary()}; see {config.out_dir}/dropped.jsonl"
        )
    return [utterances[i] for i in result.kept]


def training_composition(
    utterances: Sequence[Utterance], attributes: Sequence[str]
) -> list[dict[str, Any]]:
    """Utterances, hours and speakers per value of each group attribute the training data
    has: what a checkpoint's model card shows as its training data."""
    present = [a for a in attributes if any(a in u.groups for u in utterances)]
    return [dataclasses.asdict(row) for row in summarise(utterances, present).rows]


@dataclass(frozen=True)
class Item:
    """One loaded utterance."""

    utterance: Utterance
    waveform: torch.Tensor
    targets: list[int]
    group_id: int = 0


class UtteranceDataset:
    """Indexable utterances; ``dataset[i]`` loads audio and encodes the transcript.

    Transcripts that encode to no tokens cannot be learnt: they are rejected up front
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
                "transcripts with no tokens cannot be trained; drop them (e.g. with "
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
    """Padded waveforms ``(B, S)``, lengths, the concatenated target tokens and their lengths, and
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
