"""voxtext hooks of the speech front end: extractors, normalisers, augmentations and voice
activity detectors (Silero's model, and an energy threshold without a model).

Registering is cheap: the configs live in ``configs.py`` (no torch, numpy or librosa), and each
factory imports its component module (torch; numpy for the librosa extractors, which import
librosa only when they run) when called, so listing plugins or writing a report does not pay
for importing torch.
"""

from __future__ import annotations

from typing import Any

from voxtext import hookimpl
from voxtext.hookspecs import Register
from voxtext_features.configs import (
    AdditiveNoiseConfig,
    CmvnConfig,
    EnergyVadConfig,
    FbankConfig,
    LibrosaMelConfig,
    LibrosaMfccConfig,
    MfccConfig,
    SileroVadConfig,
    SpecAugmentConfig,
    SpeedPerturbConfig,
    VolumeConfig,
)


def _fbank(config: FbankConfig) -> Any:
    from voxtext_features.fbank import Fbank

    return Fbank(config)


def _mfcc(config: MfccConfig) -> Any:
    from voxtext_features.mfcc import Mfcc

    return Mfcc(config)


def _librosa_mel(config: LibrosaMelConfig) -> Any:
    from voxtext_features.librosa_features import LibrosaMel

    return LibrosaMel(config)


def _librosa_mfcc(config: LibrosaMfccConfig) -> Any:
    from voxtext_features.librosa_features import LibrosaMfcc

    return LibrosaMfcc(config)


def _utterance_cmvn(config: CmvnConfig) -> Any:
    from voxtext_features.cmvn import UtteranceCmvn

    return UtteranceCmvn(config)


def _global_cmvn(config: CmvnConfig) -> Any:
    from voxtext_features.cmvn import GlobalCmvn

    return GlobalCmvn(config)


def _spec_augment(config: SpecAugmentConfig) -> Any:
    from voxtext_features.spec_augment import SpecAugment

    return SpecAugment(config)


def _speed_perturb(config: SpeedPerturbConfig) -> Any:
    from voxtext_features.speed_perturb import SpeedPerturb

    return SpeedPerturb(config)


def _additive_noise(config: AdditiveNoiseConfig) -> Any:
    from voxtext_features.additive_noise import AdditiveNoise

    return AdditiveNoise(config)


def _volume(config: VolumeConfig) -> Any:
    from voxtext_features.volume import Volume

    return Volume(config)


def _energy_vad(config: EnergyVadConfig) -> Any:
    from voxtext_features.energy_vad import EnergyVad

    return EnergyVad(config)


def _silero_vad(config: SileroVadConfig) -> Any:
    from voxtext_features.silero_vad import SileroVad

    return SileroVad(config)


@hookimpl
def register_feature_extractors(register: Register) -> None:
    register(
        "fbank",
        _fbank,
        config=FbankConfig,
        description="Kaldi-compatible log-mel filterbank, batched, CPU/CUDA",
    )
    register(
        "mfcc", _mfcc, config=MfccConfig, description="Kaldi-compatible MFCC, batched, CPU/CUDA"
    )
    register(
        "librosa-mel",
        _librosa_mel,
        config=LibrosaMelConfig,
        description="librosa.feature.melspectrogram (+ log) per utterance",
    )
    register(
        "librosa-mfcc",
        _librosa_mfcc,
        config=LibrosaMfccConfig,
        description="librosa.feature.mfcc per utterance",
    )


@hookimpl
def register_feature_normalizers(register: Register) -> None:
    register(
        "cmvn-utterance",
        _utterance_cmvn,
        config=CmvnConfig,
        description="per-utterance mean/variance normalisation over valid frames",
    )
    register(
        "cmvn-global",
        _global_cmvn,
        config=CmvnConfig,
        description="global mean/variance fitted with accumulate(), saved in state_dict",
    )


@hookimpl
def register_augmentations(register: Register) -> None:
    register(
        "spec-augment",
        _spec_augment,
        config=SpecAugmentConfig,
        description="SpecAugment time/frequency masks within each utterance",
    )
    register(
        "speed-perturb",
        _speed_perturb,
        config=SpeedPerturbConfig,
        description="resampling speed perturbation (0.9/1.0/1.1), updates lengths",
    )
    register(
        "additive-noise",
        _additive_noise,
        config=AdditiveNoiseConfig,
        description="white, pink or in-batch babble noise at a random SNR",
    )
    register("volume", _volume, config=VolumeConfig, description="random gain in dB per utterance")


@hookimpl
def register_voice_activity_detectors(register: Register) -> None:
    register(
        "energy",
        _energy_vad,
        config=EnergyVadConfig,
        description="frame RMS level above a dBFS threshold, pauses bridged, regions padded",
    )
    register(
        "silero",
        _silero_vad,
        config=SileroVadConfig,
        description="Silero VAD's speech probability (model from PyPI silero-vad, offline)",
    )
    # The detector `voxtext transcribe` and long utterances in `voxtext evaluate` use when
    # none is named: the core asks for the one registered as "default".
    register(
        "default",
        _silero_vad,
        config=SileroVadConfig,
        description="the detector used when none is named: silero",
    )
