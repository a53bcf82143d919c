"""Hooks of the example plugin: an augmentation registered by name with its config, and a
task (``task.py``) that ``voxtext train``, ``evaluate`` and ``transcribe`` reach by name."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from voxtext import hookimpl


@dataclass(frozen=True)
class PeakNormaliseConfig:
    """Scale each utterance so its loudest sample reaches ``peak``."""

    peak: float = 0.9


class PeakNormalise:
    domain = "waveform"

    def __init__(self, config: PeakNormaliseConfig) -> None:
        self.config = config

    def __call__(
        self, x: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        peaks = x.abs().amax(dim=1, keepdim=True).clamp_min(1e-9)
        return x * (self.config.peak / peaks), lengths


@hookimpl
def register_augmentations(register):
    register(
        "peak-normalise",
        PeakNormalise,
        config=PeakNormaliseConfig,
        description="scale each utterance to a fixed peak",
    )


@hookimpl
def register_tasks(register):
    from voxtext_myplugin.task import LetterCountTask

    register(
        "letter-count",
        LetterCountTask,
        description="how many letters an utterance holds, from its duration (an example task)",
    )
