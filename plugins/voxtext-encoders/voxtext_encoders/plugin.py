"""Hooks of voxtext-encoders: each encoder registered by name with its frozen config.

Importing the encoder modules is cheap (torch is already loaded by the core); the one heavy
dependency, transformers, is imported only when ``pretrained-audio`` is built.
"""

from __future__ import annotations

from voxtext import hookimpl
from voxtext.hookspecs import Register
from voxtext_encoders.conformer import ConformerEncoder, ConformerEncoderConfig
from voxtext_encoders.pretrained_audio import (
    PretrainedAudioEncoder,
    PretrainedAudioEncoderConfig,
)
from voxtext_encoders.transformer import TransformerEncoder, TransformerEncoderConfig


@hookimpl
def register_encoders(register: Register) -> None:
    register(
        "transformer",
        TransformerEncoder,
        config=TransformerEncoderConfig,
        description="Conv2d subsampling + sinusoidal positions + pre-norm self-attention",
    )
    register(
        "conformer",
        ConformerEncoder,
        config=ConformerEncoderConfig,
        description="Conv2d subsampling + Conformer blocks (relative or rotary positions)",
    )
    register(
        "pretrained-audio",
        PretrainedAudioEncoder,
        config=PretrainedAudioEncoderConfig,
        description="local Wav2Vec2/HuBERT/WavLM checkpoint on raw waveforms (takes_waveform)",
    )
