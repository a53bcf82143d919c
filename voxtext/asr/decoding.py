"""Running a trained ``CTCModel`` and a CTC decoder over many utterances, in batches of
similar length (little padding), returning texts in the input order."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from voxtext.data.audio import collate_waveforms, load_audio


def length_sorted_batches(durations: Sequence[float], max_batch_seconds: float) -> list[list[int]]:
    """Indices grouped into batches whose padded duration stays under the limit."""
    order = sorted(range(len(durations)), key=lambda i: durations[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        if current and (len(current) + 1) * durations[index] > max_batch_seconds:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


@torch.no_grad()
def decode_files(
    model: torch.nn.Module,
    decoder: Any,
    paths: Sequence[Path],
    durations: Sequence[float],
    *,
    sample_rate: int,
    max_batch_seconds: float = 120.0,
) -> list[str]:
    """Best hypothesis text for each audio file (model in eval mode on its own device)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    texts = [""] * len(paths)
    try:
        for batch in length_sorted_batches(durations, max_batch_seconds):
            waveforms, lengths = collate_waveforms(
                [load_audio(paths[i], sample_rate) for i in batch]
            )
            log_probs, out_lengths = model(waveforms.to(device), lengths.to(device))
            hypotheses = decoder.decode(log_probs.float().cpu(), out_lengths.cpu())
            for index, best in zip(batch, hypotheses, strict=True):
                texts[index] = best[0].text
    finally:
        model.train(was_training)
    return texts
