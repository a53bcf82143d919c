"""Silero VAD as a ``protocols.VoiceActivityDetector``.

The model (a small recurrent network over 32 ms windows) ships inside the PyPI ``silero-vad``
wheel, so it loads offline; its own ``get_speech_timestamps`` turns the per-window speech
probabilities into regions. The network reads 16 kHz (or 8 kHz) audio; other rates are
resampled for it and the regions mapped back. It is causal, so a region that ended well
before the end of the audio seen so far does not change when more audio arrives, which is what
block-by-block transcription relies on (``lookahead_seconds``).
"""

from __future__ import annotations

import warnings

import torch

from voxtext_features.configs import SileroVadConfig

#: the rates the network reads
MODEL_RATES = (16000, 8000)
#: one window of the network at 16 kHz
WINDOW_SECONDS = 0.032


class SileroVad:
    """See the module docstring; ``config`` is a :class:`SileroVadConfig`."""

    def __init__(self, config: SileroVadConfig) -> None:
        # silero_vad's model module calls torch.set_num_threads(1) when first imported, which
        # would leave the whole process (the recogniser decoding after it) on one thread
        threads = torch.get_num_threads()
        try:
            import silero_vad
        finally:
            torch.set_num_threads(threads)

        self.config = config
        # torch 2.14 deprecates torch.jit.load and importlib.resources.path, which it uses
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            self.model = silero_vad.load_silero_vad()
        self.lookahead_seconds = (
            config.min_silence_seconds + config.padding_seconds + 2 * WINDOW_SECONDS
        )

    def speech_regions(self, waveform: torch.Tensor, sample_rate: int) -> list[tuple[int, int]]:
        import torchaudio.functional

        if waveform.dim() != 1:
            raise ValueError(f"waveform has shape {tuple(waveform.shape)}; expected (samples,)")
        if waveform.numel() == 0:
            return []
        rate = sample_rate if sample_rate in MODEL_RATES else MODEL_RATES[0]
        audio = waveform.float()
        if rate != sample_rate:
            audio = torchaudio.functional.resample(audio, sample_rate, rate)
        # The network is stepped one 32 ms window at a time: more than one thread only adds
        # synchronisation (10 minutes of audio through the CTC path took 2.5x as long on two
        # threads). It runs on one, as Silero intends; the recogniser keeps the process's.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            found = self._timestamps(audio, rate)
        finally:
            torch.set_num_threads(threads)
        total = waveform.numel()
        regions: list[tuple[int, int]] = []
        for region in found:
            start = min(total, round(region["start"] * sample_rate / rate))
            end = min(total, round(region["end"] * sample_rate / rate))
            if regions and start <= regions[-1][1]:
                regions[-1] = (regions[-1][0], max(end, regions[-1][1]))
            elif end > start:
                regions.append((start, end))
        return regions

    def _timestamps(self, audio: torch.Tensor, rate: int) -> list[dict[str, int]]:
        import silero_vad

        c = self.config
        with torch.inference_mode():
            found = silero_vad.get_speech_timestamps(
                audio,
                self.model,
                threshold=c.threshold,
                sampling_rate=rate,
                min_speech_duration_ms=round(c.min_speech_seconds * 1000),
                min_silence_duration_ms=round(c.min_silence_seconds * 1000),
                speech_pad_ms=round(c.padding_seconds * 1000),
            )
        return list(found)
