"""Running a trained ``CTCModel`` and a CTC decoder over many utterances, in batches of
similar length (little padding), returning texts in the input order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from voxtext.data.audio import load_audio
from voxtext.speech.decoding import eval_batches


def decode_files(
    model: torch.nn.Module,
    decoder: Any,
    paths: Sequence[Path],
    durations: Sequence[float],
    *,
    sample_rate: int,
    max_batch_seconds: float = 120.0,
    group_ids: Sequence[int] | None = None,
) -> list[str]:
    """Best hypothesis text for each audio file (model in eval mode on its own device);
    ``group_ids`` give each file's group for group-aware models (default: unknown)."""
    return decode_waveforms(
        model,
        decoder,
        lambda i: load_audio(paths[i], sample_rate),
        durations,
        max_batch_seconds=max_batch_seconds,
        group_ids=group_ids,
    )


@torch.no_grad()
def decode_waveforms(
    model: torch.nn.Module,
    decoder: Any,
    waveform: Callable[[int], torch.Tensor],
    durations: Sequence[float],
    *,
    max_batch_seconds: float = 120.0,
    group_ids: Sequence[int] | None = None,
) -> list[str]:
    """:func:`decode_files` over utterances given by ``waveform(i)``: float32 ``(samples,)``
    at the model's rate, read only when its batch runs (so a long list stays out of memory)."""
    texts = [""] * len(durations)
    for batch, waveforms, lengths, device in eval_batches(
        model, waveform, durations, max_batch_seconds
    ):
        ids = _batch_group_ids(group_ids, batch, device)
        log_probs, out_lengths = model(waveforms, lengths, None, ids)
        hypotheses = decoder.decode(log_probs.float().cpu(), out_lengths.cpu())
        for index, best in zip(batch, hypotheses, strict=True):
            texts[index] = best[0].text
    return texts


def identify_groups(
    model: Any,
    paths: Sequence[Path],
    durations: Sequence[float],
    *,
    sample_rate: int,
    max_batch_seconds: float = 120.0,
) -> list[int]:
    """The group id the model identifies for each audio file from the audio alone (see
    ``CTCModel.predict_group_ids``); decoding with these ids is predicted-label inference."""
    return identify_waveform_groups(
        model,
        lambda i: load_audio(paths[i], sample_rate),
        durations,
        max_batch_seconds=max_batch_seconds,
    )


@torch.no_grad()
def identify_waveform_groups(
    model: Any,
    waveform: Callable[[int], torch.Tensor],
    durations: Sequence[float],
    *,
    max_batch_seconds: float = 120.0,
) -> list[int]:
    """:func:`identify_groups` over utterances given by ``waveform(i)`` (as
    :func:`decode_waveforms` takes them)."""
    found = [0] * len(durations)
    for batch, waveforms, lengths, _ in eval_batches(model, waveform, durations, max_batch_seconds):
        ids = model.predict_group_ids(waveforms, lengths)
        for index, group_id in zip(batch, ids.tolist(), strict=True):
            found[index] = int(group_id)
    return found


@torch.no_grad()
def auxiliary_metrics(
    model: torch.nn.Module,
    paths: Sequence[Path],
    durations: Sequence[float],
    group_ids: Sequence[int],
    *,
    sample_rate: int,
    max_batch_seconds: float = 120.0,
) -> dict[str, float]:
    """The group modules' auxiliary metrics (``dialect_id_acc``...) over many files, each a
    ratio of sums over all of them. The model sees no group (all unknown); ``group_ids`` are
    the true groups the metrics are scored against."""
    sums: dict[str, list[float]] = {}
    for batch, waveforms, lengths, device in eval_batches(
        model, lambda i: load_audio(paths[i], sample_rate), durations, max_batch_seconds
    ):
        true_ids = _batch_group_ids(group_ids, batch, device)
        _, _, auxiliary = model(
            waveforms, lengths, None, true_ids, return_auxiliary=True, hide_groups=True
        )
        for name, (numerator, denominator) in (auxiliary.ratios if auxiliary else {}).items():
            total = sums.setdefault(name, [0.0, 0.0])
            total[0] += float(numerator)
            total[1] += float(denominator)
    return {name: n / d if d else float("nan") for name, (n, d) in sums.items()}


def _batch_group_ids(
    group_ids: Sequence[int] | None, batch: list[int], device: torch.device
) -> torch.Tensor | None:
    if group_ids is None:
        return None
    return torch.tensor([group_ids[i] for i in batch], dtype=torch.long, device=device)
