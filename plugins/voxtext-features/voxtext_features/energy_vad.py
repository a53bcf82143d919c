"""Energy voice activity detection (``protocols.VoiceActivityDetector``): frame RMS level
against a fixed threshold, then pauses bridged, clicks dropped and regions padded. A fixed
level in dBFS (not one relative to the loudest frame) gives the same answer whichever block
of a long file the detector sees, which block-by-block transcription relies on."""

from __future__ import annotations

import torch

from voxtext_features.configs import EnergyVadConfig

FRAME_SECONDS = 0.025
HOP_SECONDS = 0.010


def frame_levels_db(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """RMS level in dBFS of 25 ms frames every 10 ms of ``(samples,)``: ``(frames,)``; a
    waveform shorter than one frame is one (zero-padded) frame."""
    frame = max(1, round(FRAME_SECONDS * sample_rate))
    hop = max(1, round(HOP_SECONDS * sample_rate))
    x = waveform.float()
    if x.numel() < frame:
        x = torch.nn.functional.pad(x, (0, frame - x.numel()))
    power = x.unfold(0, frame, hop).pow(2).mean(dim=1)
    return 10.0 * torch.log10(power.clamp_min(1e-12))


def speech_runs(active: list[bool], bridge: int, shortest: int) -> list[tuple[int, int]]:
    """``(first, end)`` frame runs of ``active`` after bridging gaps of at most ``bridge``
    frames and dropping runs shorter than ``shortest`` frames."""
    runs: list[tuple[int, int]] = []
    start = None
    for index, value in enumerate([*active, False]):
        if value and start is None:
            start = index
        elif not value and start is not None:
            if runs and start - runs[-1][1] <= bridge:
                runs[-1] = (runs[-1][0], index)
            else:
                runs.append((start, index))
            start = None
    return [(a, b) for a, b in runs if b - a >= shortest]


class EnergyVad:
    """See the module docstring; ``config`` is an :class:`EnergyVadConfig`."""

    def __init__(self, config: EnergyVadConfig) -> None:
        self.config = config
        # A region's end is final once a pause it could still bridge has passed, padding too.
        self.lookahead_seconds = (
            config.min_silence_seconds + config.padding_seconds + FRAME_SECONDS + HOP_SECONDS
        )

    def speech_regions(self, waveform: torch.Tensor, sample_rate: int) -> list[tuple[int, int]]:
        if waveform.dim() != 1:
            raise ValueError(f"waveform has shape {tuple(waveform.shape)}; expected (samples,)")
        if waveform.numel() == 0:
            return []
        hop = max(1, round(HOP_SECONDS * sample_rate))
        frame = max(1, round(FRAME_SECONDS * sample_rate))
        active = (frame_levels_db(waveform, sample_rate) > self.config.threshold_db).tolist()
        runs = speech_runs(
            active,
            bridge=round(self.config.min_silence_seconds / HOP_SECONDS),
            shortest=max(1, round(self.config.min_speech_seconds / HOP_SECONDS)),
        )
        pad = round(self.config.padding_seconds * sample_rate)
        total = waveform.numel()
        regions: list[tuple[int, int]] = []
        for first, end in runs:
            start = max(0, first * hop - pad)
            stop = min(total, (end - 1) * hop + frame + pad)
            if regions and start <= regions[-1][1]:
                regions[-1] = (regions[-1][0], stop)
            else:
                regions.append((start, stop))
        return regions
