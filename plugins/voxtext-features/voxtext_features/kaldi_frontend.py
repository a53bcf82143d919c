"""The batched front end Kaldi's fbank and MFCC share (their shared options,
``KaldiFrameConfig``, live in ``configs.py`` so registering the plugin needs no torch).

Waveform scale: Kaldi reads int16 samples and applies all its constants (``dither``,
``energy_floor``, the ``FLT_EPSILON`` log floor) on that scale. voxtext passes audio around as
float in [-1, 1], so these extractors multiply by ``waveform_scale`` (default 32768) before
Kaldi's maths: float audio in [-1, 1] gives the same numbers as Kaldi (or kaldi-native-fbank)
gives on the int16 samples. Set ``waveform_scale=1`` if your tensors already hold int16-scale
values. The scale is folded into the mel bank, so it costs nothing.
"""

from __future__ import annotations

import math

import torch

from voxtext.errors import ConfigError
from voxtext_features.batch_checks import check_padded_batch, valid_mask
from voxtext_features.configs import KaldiFrameConfig
from voxtext_features.configs import WindowType as WindowType  # re-exported
from voxtext_features.kaldi_functional import (
    CPU_CHUNK_FRAMES,
    GPU_CHUNK_FRAMES,
    FramePlan,
    banded_blocks,
    frame_rows,
    kaldi_mel_bank,
    kaldi_window,
    log_mel_frames,
    parseval_weights,
)

# Dense blocks the banded mel matmul is split into. 2 measured fastest for 80 bins on CPU and,
# unlike 1, 3 or 4, stayed fast on 2 threads of a loaded machine (MKL's threading choice
# for other shapes cost up to 15x there); 1 block is the plain dense matmul.
MEL_MATMUL_BLOCKS = 2


class KaldiFrontEnd:
    """Batched Kaldi log-mel filterbank (plus log-energy column 0 when ``use_energy``).

    ``__call__(waveforms (B, S), lengths (B,))`` returns ``(features (B, T, 1 + bins or bins),
    frame_lengths (B,))`` on the input's device, float32, frames past a row's length zero.
    """

    def __init__(
        self, config: KaldiFrameConfig, *, use_log_fbank: bool, use_power: bool, who: str
    ) -> None:
        self.config = config
        self.geometry = config.geometry
        self.use_log_fbank = use_log_fbank
        self.use_power = use_power
        self.who = who
        try:
            self._bank = kaldi_mel_bank(
                config.num_mel_bins,
                self.geometry.fft_size,
                config.sample_rate,
                config.low_freq,
                config.high_freq,
            )
        except ValueError as exc:
            raise ConfigError(f"{who}: {exc}") from exc
        self._window = kaldi_window(
            config.window_type, self.geometry.window_size, config.blackman_coeff
        )
        self._plans: dict[torch.device, FramePlan] = {}
        self.output_dim = config.num_mel_bins + int(config.use_energy)

    def __call__(
        self, waveforms: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        waveforms, lengths = check_padded_batch(
            waveforms, lengths, who=self.who, ndim=2, axis_name="samples"
        )
        with torch.no_grad():
            waveforms = waveforms.detach().to(torch.float32)
            frame_lengths = self.geometry.num_frames(lengths)
            max_frames = int(frame_lengths.max()) if frame_lengths.numel() else 0
            batch = waveforms.shape[0]
            if max_frames == 0:
                return waveforms.new_zeros(batch, 0, self.output_dim), frame_lengths
            rows = frame_rows(waveforms, lengths, self.geometry, max_frames)
            if self.config.dither > 0:
                # Dither is on the int16 scale (Kaldi's); rows hold unscaled samples. Not in
                # place: with snip_edges the rows are the caller's tensor.
                noise = torch.randn_like(rows)
                rows = rows.add(noise, alpha=self.config.dither / self.config.waveform_scale)
            plan = self._plan(waveforms.device)
            features = log_mel_frames(rows, max_frames, self.geometry, plan)
            if bool((frame_lengths == max_frames).all()):  # no padding frames to clear
                return features, frame_lengths
            padding = ~valid_mask(frame_lengths, max_frames)
            return features.masked_fill_(padding.unsqueeze(2), 0.0), frame_lengths

    def _plan(self, device: torch.device) -> FramePlan:
        """Window and mel matrices for ``device``, built once (float32)."""
        if device not in self._plans:
            self._plans[device] = self._build_plan(device)
        return self._plans[device]

    def _build_plan(self, device: torch.device) -> FramePlan:
        config = self.config
        scale = config.waveform_scale
        # Power scales with scale**2 and magnitude with scale: fold it into the mel bank.
        bank = self._bank.t() * (scale**2 if self.use_power else scale)
        energy_weights = parseval_weights(self.geometry.fft_size)
        blocks = [
            (r0, r1, block.to(device=device, dtype=torch.float32))
            for r0, r1, block in banded_blocks(bank, MEL_MATMUL_BLOCKS)
        ]
        energy = None if not config.use_energy else ("raw" if config.raw_energy else "windowed")
        return FramePlan(
            window=self._window.to(device=device, dtype=torch.float32),
            window_first=float(self._window[0]),
            mel_blocks=blocks,
            energy_weights=(energy_weights * scale**2).to(device=device, dtype=torch.float32),
            preemphasis=config.preemphasis_coefficient,
            remove_dc_offset=config.remove_dc_offset,
            energy=energy,
            raw_energy_gain=scale**2,
            log_energy_floor=math.log(config.energy_floor) if config.energy_floor > 0 else None,
            use_log_fbank=self.use_log_fbank,
            use_power=self.use_power,
            chunk_frames=CPU_CHUNK_FRAMES if device.type == "cpu" else GPU_CHUNK_FRAMES,
        )
