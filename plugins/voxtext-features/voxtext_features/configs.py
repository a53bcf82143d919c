"""The configurations of every registered component, kept apart from the components so that
registering the plugin imports neither torch, numpy nor librosa (the factories in
``plugin.py`` import the component modules when called).

Also the torch-free helpers the configurations' checks need: Kaldi's frame geometry (window,
shift and FFT sizes; ``kaldi_functional.py`` re-exports it) and the ``(min, max)`` range check
(re-exported by ``batch_checks.py``). The component modules import these names back, so
``voxtext_features.fbank.FbankConfig`` and the other old import paths keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from voxtext.errors import ConfigError

if TYPE_CHECKING:
    import torch

WindowType = Literal["povey", "hamming", "hanning", "rectangular", "blackman", "sine"]
PadMode = Literal["constant", "edge", "reflect", "symmetric", "linear_ramp"]
NoiseType = Literal["white", "pink", "babble"]


def check_range(values: tuple[float, float], name: str, *, low: float | None = None) -> None:
    """A ``(min, max)`` config field: two numbers, ordered, optionally above ``low``."""
    if len(values) != 2 or values[0] > values[1]:
        raise ConfigError(f"{name}={values} must be (min, max) with min <= max")
    if low is not None and values[0] < low:
        raise ConfigError(f"{name}={values} must be >= {low}")


@dataclass(frozen=True)
class FrameGeometry:
    """Samples per window, per shift, and the FFT size (window rounded up to a power of 2)."""

    window_size: int
    window_shift: int
    fft_size: int
    snip_edges: bool

    @classmethod
    def from_ms(
        cls,
        sample_rate: float,
        frame_length_ms: float,
        frame_shift_ms: float,
        round_to_power_of_two: bool,
        snip_edges: bool,
    ) -> FrameGeometry:
        # Same truncation as Kaldi's FrameExtractionOptions::WindowSize()/WindowShift().
        size = int(sample_rate * 0.001 * frame_length_ms)
        shift = int(sample_rate * 0.001 * frame_shift_ms)
        fft_size = 1 << max(0, (size - 1).bit_length()) if round_to_power_of_two else size
        return cls(size, shift, fft_size, snip_edges)

    def num_frames(self, lengths: torch.Tensor) -> torch.Tensor:
        """Frames Kaldi produces for signals of ``lengths`` samples (int64, same shape).

        Only tensor methods, so this module needs no torch import."""
        lengths = lengths.long()
        if self.snip_edges:
            full = 1 + (lengths - self.window_size) // self.window_shift
            return full.masked_fill(lengths < self.window_size, 0)
        # Kaldi rounds length / shift to the nearest integer when edges are not snipped.
        return (lengths + self.window_shift // 2) // self.window_shift

    @property
    def first_sample_offset(self) -> int:
        """Sample index of frame 0's first sample (negative: it starts before the signal)."""
        if self.snip_edges:
            return 0
        return self.window_shift // 2 - self.window_size // 2


@dataclass(frozen=True)
class KaldiFrameConfig:
    """Kaldi's frame-extraction, mel and energy options (``compute-fbank-feats --help``).

    Differences from Kaldi's command-line defaults, on purpose: ``num_mel_bins`` 80 (23 in
    Kaldi) and ``dither`` 0 (1 in Kaldi) so features are deterministic by default.
    ``dither`` is on the int16 scale, like Kaldi's, and draws from torch's global RNG.
    ``high_freq <= 0`` is an offset below Nyquist.
    """

    sample_rate: int = 16000
    waveform_scale: float = 32768.0
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    dither: float = 0.0
    preemphasis_coefficient: float = 0.97
    remove_dc_offset: bool = True
    window_type: WindowType = "povey"
    blackman_coeff: float = 0.42
    round_to_power_of_two: bool = True
    snip_edges: bool = True
    num_mel_bins: int = 80
    low_freq: float = 20.0
    high_freq: float = 0.0
    use_energy: bool = False
    raw_energy: bool = True
    energy_floor: float = 0.0

    def __post_init__(self) -> None:
        problems = _frame_option_problems(self)
        if problems:
            raise ConfigError("; ".join(problems))

    @property
    def geometry(self) -> FrameGeometry:
        return FrameGeometry.from_ms(
            self.sample_rate,
            self.frame_length_ms,
            self.frame_shift_ms,
            self.round_to_power_of_two,
            self.snip_edges,
        )


def _frame_option_problems(config: KaldiFrameConfig) -> list[str]:
    problems = []
    positive = ("sample_rate", "waveform_scale", "frame_length_ms", "frame_shift_ms")
    for name in positive:
        if not getattr(config, name) > 0:
            problems.append(f"{name}={getattr(config, name)} must be > 0")
    if not problems:
        geometry = config.geometry
        if geometry.window_size < 2 or geometry.window_shift < 1:
            problems.append(
                f"frame_length_ms={config.frame_length_ms} and frame_shift_ms="
                f"{config.frame_shift_ms} give {geometry.window_size} and "
                f"{geometry.window_shift} samples at {config.sample_rate} Hz; need >= 2 and >= 1"
            )
    if config.dither < 0 or config.energy_floor < 0:
        problems.append(
            f"dither={config.dither} and energy_floor={config.energy_floor} must be >= 0"
        )
    if not 0.0 <= config.preemphasis_coefficient <= 1.0:
        problems.append(
            f"preemphasis_coefficient={config.preemphasis_coefficient} must lie in [0, 1]"
        )
    if config.num_mel_bins <= 3:
        problems.append(f"num_mel_bins={config.num_mel_bins} must be > 3")
    nyquist = 0.5 * config.sample_rate
    high = config.high_freq + nyquist if config.high_freq <= 0 else config.high_freq
    if not (0.0 <= config.low_freq < high <= nyquist):
        problems.append(
            f"low_freq={config.low_freq}, high_freq={config.high_freq} (effective {high}) must "
            f"satisfy 0 <= low_freq < high_freq <= Nyquist ({nyquist} Hz); high_freq <= 0 is an "
            "offset below Nyquist"
        )
    return problems


@dataclass(frozen=True)
class FbankConfig(KaldiFrameConfig):
    """Kaldi's ``compute-fbank-feats`` options (see ``KaldiFrameConfig`` for the shared ones).

    Input: float waveforms in [-1, 1] (``waveform_scale`` 32768 maps them to Kaldi's int16
    scale). Output ``(batch, frames, num_mel_bins + use_energy)``; with ``use_energy`` the
    log-energy is column 0, as in Kaldi.
    """

    use_log_fbank: bool = True
    use_power: bool = True


@dataclass(frozen=True)
class MfccConfig(KaldiFrameConfig):
    """Kaldi's ``compute-mfcc-feats`` options, with Kaldi's defaults for MFCC (23 mel bins,
    13 cepstra, lifter 22, log-energy in place of C0). Input scale as for ``fbank``."""

    num_mel_bins: int = 23
    use_energy: bool = True
    num_ceps: int = 13
    cepstral_lifter: float = 22.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.num_ceps <= self.num_mel_bins:
            raise ConfigError(
                f"num_ceps={self.num_ceps} must lie in [1, num_mel_bins={self.num_mel_bins}]"
            )
        if self.cepstral_lifter < 0:
            raise ConfigError(f"cepstral_lifter={self.cepstral_lifter} must be >= 0 (0: none)")


@dataclass(frozen=True)
class LibrosaMelConfig:
    """``librosa.feature.melspectrogram`` arguments, then an optional log.

    ``log``: ``"none"`` (mel power as is), ``"log"`` (``ln(S + log_offset)``) or ``"db"``
    (``librosa.power_to_db(S, ref=1.0, amin=amin, top_db=top_db)``; ``top_db`` is relative to
    each utterance's maximum, as in librosa). ``win_length`` 0 means ``n_fft``; ``fmax`` 0
    means Nyquist; ``mel_norm`` "none" means no area normalisation.
    """

    sample_rate: int = 16000
    n_fft: int = 400
    hop_length: int = 160
    win_length: int = 0
    window: str = "hann"
    center: bool = True
    pad_mode: PadMode = "constant"
    power: float = 2.0
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 0.0
    htk: bool = False
    mel_norm: Literal["slaney", "none"] = "slaney"
    log: Literal["none", "log", "db"] = "log"
    log_offset: float = 1e-6
    amin: float = 1e-10
    top_db: float | None = 80.0

    def __post_init__(self) -> None:
        _check_stft_options(self)


@dataclass(frozen=True)
class LibrosaMfccConfig:
    """``librosa.feature.mfcc`` arguments (which takes ``power_to_db`` of the mel spectrogram
    with top_db 80 internally), with the same mel/STFT fields as ``librosa-mel``."""

    sample_rate: int = 16000
    n_mfcc: int = 13
    dct_type: Literal[1, 2, 3] = 2
    dct_norm: Literal["ortho", "none"] = "ortho"
    lifter: float = 0.0
    n_fft: int = 400
    hop_length: int = 160
    win_length: int = 0
    window: str = "hann"
    center: bool = True
    pad_mode: PadMode = "constant"
    power: float = 2.0
    n_mels: int = 40
    fmin: float = 0.0
    fmax: float = 0.0
    htk: bool = False
    mel_norm: Literal["slaney", "none"] = "slaney"

    def __post_init__(self) -> None:
        _check_stft_options(self)
        if not 1 <= self.n_mfcc <= self.n_mels:
            raise ConfigError(f"n_mfcc={self.n_mfcc} must lie in [1, n_mels={self.n_mels}]")
        if self.lifter < 0:
            raise ConfigError(f"lifter={self.lifter} must be >= 0")


def _check_stft_options(config: LibrosaMelConfig | LibrosaMfccConfig) -> None:
    problems = [
        f"{name}={getattr(config, name)} must be > 0"
        for name in ("sample_rate", "n_fft", "hop_length", "n_mels", "power")
        if not getattr(config, name) > 0
    ]
    if not 0 <= config.win_length <= config.n_fft:
        problems.append(
            f"win_length={config.win_length} must lie in [0, n_fft={config.n_fft}] (0: n_fft)"
        )
    if not 0 <= config.fmin < (config.fmax or config.sample_rate / 2) <= config.sample_rate / 2:
        problems.append(
            f"fmin={config.fmin}, fmax={config.fmax} must satisfy 0 <= fmin < fmax "
            f"<= {config.sample_rate / 2} (fmax 0: Nyquist)"
        )
    if problems:
        raise ConfigError("; ".join(problems))


@dataclass(frozen=True)
class CmvnConfig:
    """``normalize_variance``: also divide by the standard deviation (else only subtract the
    mean). ``variance_floor`` keeps near-constant dimensions from blowing up."""

    normalize_variance: bool = True
    variance_floor: float = 1e-10

    def __post_init__(self) -> None:
        if not self.variance_floor > 0:
            raise ConfigError(f"variance_floor={self.variance_floor} must be > 0")


@dataclass(frozen=True)
class SpecAugmentConfig:
    """Mask counts and maximum widths; a mask's width is uniform in ``[0, max]``."""

    num_freq_masks: int = 2
    max_freq_width: int = 27
    num_time_masks: int = 2
    max_time_width: int = 40
    max_time_ratio: float = 0.2
    mask_value: float = 0.0

    def __post_init__(self) -> None:
        counts = ("num_freq_masks", "max_freq_width", "num_time_masks", "max_time_width")
        negative = [f"{name}={getattr(self, name)}" for name in counts if getattr(self, name) < 0]
        if negative:
            raise ConfigError(f"{', '.join(negative)}: must be >= 0")
        if not 0.0 <= self.max_time_ratio <= 1.0:
            raise ConfigError(f"max_time_ratio={self.max_time_ratio} must lie in [0, 1]")


@dataclass(frozen=True)
class SpeedPerturbConfig:
    """``factors`` are drawn uniformly per utterance; ``sample_rate`` is the audio's rate."""

    factors: tuple[float, ...] = (0.9, 1.0, 1.1)
    sample_rate: int = 16000

    def __post_init__(self) -> None:
        if not self.factors or any(not f > 0 for f in self.factors):
            raise ConfigError(f"factors={self.factors} must be a non-empty list of numbers > 0")
        if self.sample_rate <= 0:
            raise ConfigError(f"sample_rate={self.sample_rate} must be > 0")


@dataclass(frozen=True)
class AdditiveNoiseConfig:
    """SNR in dB uniform in ``snr_db_range``; the noise type uniform over ``noise_types``;
    each row is noised with probability ``probability``."""

    snr_db_range: tuple[float, float] = (5.0, 25.0)
    noise_types: tuple[NoiseType, ...] = ("white", "pink", "babble")
    babble_speakers: int = 3
    probability: float = 1.0

    def __post_init__(self) -> None:
        check_range(self.snr_db_range, "snr_db_range")
        unknown = [t for t in self.noise_types if t not in ("white", "pink", "babble")]
        if not self.noise_types or unknown:
            raise ConfigError(
                f"noise_types={self.noise_types} must be a non-empty list of "
                "'white', 'pink', 'babble'"
            )
        if self.babble_speakers < 1:
            raise ConfigError(f"babble_speakers={self.babble_speakers} must be >= 1")
        if not 0.0 <= self.probability <= 1.0:
            raise ConfigError(f"probability={self.probability} must lie in [0, 1]")


@dataclass(frozen=True)
class VolumeConfig:
    """Gain in dB drawn per utterance from ``gain_db_range``. No clipping: float audio may
    exceed [-1, 1] after a positive gain, which the feature extractors handle fine."""

    gain_db_range: tuple[float, float] = (-6.0, 6.0)

    def __post_init__(self) -> None:
        check_range(self.gain_db_range, "gain_db_range")


@dataclass(frozen=True)
class EnergyVadConfig:
    """Energy voice activity detection: a 25 ms frame every 10 ms is speech when its RMS
    level is above ``threshold_db`` (dB relative to full scale). Pauses shorter than
    ``min_silence_seconds`` are bridged, runs shorter than ``min_speech_seconds`` dropped
    (clicks), and each region is padded by ``padding_seconds`` on both sides so that soft
    onsets and word ends are kept."""

    threshold_db: float = -40.0
    min_silence_seconds: float = 0.3
    min_speech_seconds: float = 0.1
    padding_seconds: float = 0.1

    def __post_init__(self) -> None:
        if self.threshold_db >= 0:
            raise ConfigError(
                f"threshold_db={self.threshold_db} must be below 0 dB (full scale), e.g. -40"
            )
        for name in ("min_silence_seconds", "min_speech_seconds", "padding_seconds"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}={getattr(self, name)} must be >= 0 seconds")


@dataclass(frozen=True)
class SileroVadConfig:
    """Silero VAD (the model that ships in PyPI ``silero-vad``): a 32 ms window is speech when
    the model's speech probability is above ``threshold``. Pauses shorter than
    ``min_silence_seconds`` are bridged, regions shorter than ``min_speech_seconds``
    dropped, and each region is padded by ``padding_seconds`` on both sides."""

    threshold: float = 0.5
    min_silence_seconds: float = 0.3
    min_speech_seconds: float = 0.25
    padding_seconds: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"threshold={self.threshold} must be a probability in (0, 1)")
        for name in ("min_silence_seconds", "min_speech_seconds", "padding_seconds"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}={getattr(self, name)} must be >= 0 seconds")
