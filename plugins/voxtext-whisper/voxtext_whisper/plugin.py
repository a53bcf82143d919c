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
    from voxtext_whisper.recognizer_config import RecognizerConfig, TransformersRecognizerConfig

    register(
        "whisper-ct2",
        _whisper_ct2,
        config=RecognizerConfig,
        description="Whisper through faster-whisper/CTranslate2 (packaged tiny.en, base, or "
        "a CT2 folder); greedy, no fallback by default",
    )
    register(
        "whisper-transformers",
        _whisper_transformers,
        config=TransformersRecognizerConfig,
        description="a transformers Whisper folder (or packaged name) decoded greedily by "
        "voxtext's own Whisper, 30 s windows by default",
    )


def _whisper_transformers(config: Any) -> Any:
    from voxtext_whisper.seq2seq_task import pretrained_recognizer

    return pretrained_recognizer(config)


def _whisper_ct2(config: Any) -> Any:
    from voxtext_whisper.recognizer import WhisperCT2Recognizer

    return WhisperCT2Recognizer(config)


def _seq2seq_task() -> Any:
    from voxtext_whisper.seq2seq_task import WhisperSeq2SeqTask

    return WhisperSeq2SeqTask()


@hookimpl
def register_tasks(register: Register) -> None:
    register(
        "whisper-seq2seq",
        _seq2seq_task,
        description="fine-tune a whole pretrained Whisper (encoder + text decoder, "
        "cross-entropy) on variable-length audio, with sampling/loss group strategies",
    )
