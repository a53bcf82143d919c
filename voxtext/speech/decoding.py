"""Running any speech model over many utterances: batches of similar length (little
padding), on the model's device, in eval mode; and a recogniser's inputs as waveforms."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch

from voxtext.data.audio import collate_waveforms
from voxtext.data.batching import length_sorted_batches
from voxtext.protocols import RecognitionInput


def eval_batches(
    model: torch.nn.Module,
    waveform: Callable[[int], torch.Tensor],
    durations: Sequence[float],
    max_batch_seconds: float,
) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor, torch.device]]:
    """(indices, padded waveforms and lengths on the model's device, device) per batch of
    similar length, the model in eval mode meanwhile (its mode restored after). Utterance
    ``i`` is ``waveform(i)``, float32 ``(samples,)``, read only when its batch runs."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        for batch in length_sorted_batches(durations, max_padded=max_batch_seconds):
            waveforms, lengths = collate_waveforms([waveform(i) for i in batch])
            yield batch, waveforms.to(device), lengths.to(device), device
    finally:
        model.train(was_training)


def input_waveforms(items: Sequence[RecognitionInput], sample_rate: int) -> list[torch.Tensor]:
    """Each input's samples as float32 ``(samples,)`` at ``sample_rate`` (resampled with
    torchaudio's band-limited resampler where the input has another rate)."""
    import numpy as np
    import torchaudio.functional

    waveforms = []
    for item in items:
        waveform = torch.from_numpy(np.asarray(item.waveform, dtype=np.float32))
        if item.sample_rate != sample_rate:
            waveform = torchaudio.functional.resample(waveform, item.sample_rate, sample_rate)
        waveforms.append(waveform)
    return waveforms
