"""Hooks of voxtext-encoders: each encoder registered by name with its frozen config.

Registering is cheap: the configs live in ``configs.py`` (no torch), and each factory imports
its encoder module (torch; transformers for ``pretrained-audio``) only when called, so listing
plugins or writing a report does not pay for importing torch.
"""

from __future__ import annotations

from typing import Any

from voxtext import hookimpl
from voxtext.hookspecs import Register
from voxtext_encoders.configs import (
    ConformerEncoderConfig,
    PretrainedAudioEncoderConfig,
    TransformerEncoderConfig,
)


def _transformer_encoder(config: TransformerEncoderConfig) -> Any:
    from voxtext_encoders.transformer import TransformerEncoder

    return TransformerEncoder(config)


def _conformer_encoder(config: ConformerEncoderConfig) -> Any:
    from voxtext_encoders.conformer import ConformerEncoder

    return ConformerEncoder(config)


def _pretrained_audio_encoder(config: PretrainedAudioEncoderConfig) -> Any:
    from voxtext_encoders.pretrained_audio import PretrainedAudioEncoder

    return PretrainedAudioEncoder(config)


@hookimpl
def register_encoders(register: Register) -> None:
    register(
        "transformer",
        _transformer_encoder,
        config=TransformerEncoderConfig,
        description="Conv2d subsampling + sinusoidal positions + pre-norm self-attention",
    )
    register(
        "conformer",
        _conformer_encoder,
        config=ConformerEncoderConfig,
        description="Conv2d subsampling + Conformer blocks (relative or rotary positions)",
    )
    register(
        "pretrained-audio",
        _pretrained_audio_encoder,
        config=PretrainedAudioEncoderConfig,
        description="local Wav2Vec2/HuBERT/WavLM checkpoint on raw waveforms (takes_waveform)",
    )
