"""Hooks of voxtext-whisper. Registering is cheap: each factory imports torch, transformers or
faster-whisper only when called."""

from __future__ import annotations

from typing import Any

from voxtext import hookimpl
from voxtext.hookspecs import Register
from voxtext_whisper.configs import WhisperEncoderConfig, WhisperLogMelConfig


def _whisper_log_mel(config: WhisperLogMelConfig) -> Any:
    from voxtext_whisper.features import WhisperLogMel

    return WhisperLogMel(config)


def _whisper_encoder(config: WhisperEncoderConfig) -> Any:
    from voxtext_whisper.encoder import WhisperAudioEncoder

    return WhisperAudioEncoder(config)


def _convert_command() -> Any:
    from voxtext_whisper.command import ConvertCommand

    return ConvertCommand()


@hookimpl
def register_feature_extractors(register: Register) -> None:
    register(
        "whisper-log-mel",
        _whisper_log_mel,
        config=WhisperLogMelConfig,
        description="Whisper's log-mel front end (80/128 mels) on variable-length batches",
    )


@hookimpl
def register_encoders(register: Register) -> None:
    register(
        "whisper",
        _whisper_encoder,
        config=WhisperEncoderConfig,
        description="Whisper encoder (transformers folder, e.g. from 'voxtext convert "
        "whisper-ct2') on whisper-log-mel features of any length up to 30 s",
    )


@hookimpl
def register_commands(register: Any) -> None:
    register(
        "convert",
        _convert_command,
        description="model format conversions: whisper-ct2 (CTranslate2 Whisper -> transformers)",
    )


@hookimpl
def register_recognizers(register: Register) -> None:
    from voxtext_whisper.recognizer_config import RecognizerConfig

    register(
        "whisper-ct2",
        _whisper_ct2,
        config=RecognizerConfig,
        description="Whisper through faster-whisper/CTranslate2 (packaged tiny.en, base, or "
        "a CT2 folder); greedy, no fallback by default",
    )


def _whisper_ct2(config: Any) -> Any:
    from voxtext_whisper.recognizer import WhisperCT2Recognizer

    return WhisperCT2Recognizer(config)
