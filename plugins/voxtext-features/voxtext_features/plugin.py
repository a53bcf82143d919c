"""voxtext hooks of the speech front end: extractors, normalisers and augmentations.

Only configs and classes are named here; librosa is imported when a librosa extractor runs.
"""

from __future__ import annotations

from voxtext import hookimpl
from voxtext.hookspecs import Register
from voxtext_features.additive_noise import AdditiveNoise, AdditiveNoiseConfig
from voxtext_features.cmvn import CmvnConfig, GlobalCmvn, UtteranceCmvn
from voxtext_features.fbank import Fbank, FbankConfig
from voxtext_features.librosa_features import (
    LibrosaMel,
    LibrosaMelConfig,
    LibrosaMfcc,
    LibrosaMfccConfig,
)
from voxtext_features.mfcc import Mfcc, MfccConfig
from voxtext_features.spec_augment import SpecAugment, SpecAugmentConfig
from voxtext_features.speed_perturb import SpeedPerturb, SpeedPerturbConfig
from voxtext_features.volume import Volume, VolumeConfig


@hookimpl
def register_feature_extractors(register: Register) -> None:
    register(
        "fbank",
        Fbank,
        config=FbankConfig,
        description="Kaldi-compatible log-mel filterbank, batched, CPU/CUDA",
    )
    register(
        "mfcc", Mfcc, config=MfccConfig, description="Kaldi-compatible MFCC, batched, CPU/CUDA"
    )
    register(
        "librosa-mel",
        LibrosaMel,
        config=LibrosaMelConfig,
        description="librosa.feature.melspectrogram (+ log) per utterance",
    )
    register(
        "librosa-mfcc",
        LibrosaMfcc,
        config=LibrosaMfccConfig,
        description="librosa.feature.mfcc per utterance",
    )


@hookimpl
def register_feature_normalizers(register: Register) -> None:
    register(
        "cmvn-utterance",
        UtteranceCmvn,
        config=CmvnConfig,
        description="per-utterance mean/variance normalisation over valid frames",
    )
    register(
        "cmvn-global",
        GlobalCmvn,
        config=CmvnConfig,
        description="global mean/variance fitted with accumulate(), saved in state_dict",
    )


@hookimpl
def register_augmentations(register: Register) -> None:
    register(
        "spec-augment",
        SpecAugment,
        config=SpecAugmentConfig,
        description="SpecAugment time/frequency masks within each utterance",
    )
    register(
        "speed-perturb",
        SpeedPerturb,
        config=SpeedPerturbConfig,
        description="resampling speed perturbation (0.9/1.0/1.1), updates lengths",
    )
    register(
        "additive-noise",
        AdditiveNoise,
        config=AdditiveNoiseConfig,
        description="white, pink or in-batch babble noise at a random SNR",
    )
    register("volume", Volume, config=VolumeConfig, description="random gain in dB per utterance")
