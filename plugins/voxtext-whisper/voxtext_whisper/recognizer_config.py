"""The config of the ``whisper-ct2`` recogniser (``voxtext evaluate whisper-ct2 MANIFEST
--recognizer-set key=value``). Checks that need no model happen here; the language is checked
against the loaded model in ``recognizer.py``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voxtext.errors import ConfigError

#: CTranslate2 compute types; which ones a device supports is checked when the model loads.
COMPUTE_TYPES = (
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)


@dataclass(frozen=True)
class RecognizerConfig:
    """How faster-whisper decodes.

    - ``model``: a packaged model name (``tiny.en``, ``base``: shipped in PyPI wheels, offline)
      or a CTranslate2 Whisper folder.
    - ``language``: a Whisper language code (``"en"``, ``"zh"``, ``"yue"``); ``None`` detects
      it per utterance on a multilingual model. An English-only model (``*.en``) always
      decodes English: ``None`` means ``"en"``, another language is an error.
    - ``task``: ``"transcribe"``, or ``"translate"`` into English (multilingual models only).
    - ``beam_size``: 1 is greedy decoding (the default: fast, and what most audits quote).
    - ``compute_type``: ``None`` picks ``"int8"`` on CPU and ``"float16"`` on CUDA; also
      ``"float32"``, ``"bfloat16"`` (CUDA), ``"int8_float16"``… as CTranslate2 supports them
      on the device.
    - ``device``: ``"auto"`` (CUDA when CTranslate2 sees a GPU), ``"cpu"`` or ``"cuda"``;
      ``device_index`` picks the GPU.
    - ``cpu_threads``: threads per decode on CPU (0: CTranslate2's default, OMP_NUM_THREADS or
      4); ``num_workers``: utterances decoded at once (each with its own threads).
    - ``vad_filter``: drop non-speech with Silero VAD first (off: a fairness audit should hear
      everything the people said).
    - ``condition_on_previous_text``: prompt each 30 s window with the previous one's text
      (off: one bad window cannot derail the next).
    - ``temperature``: 0 decodes deterministically with no fallback; a tuple such as
      ``(0.0, 0.2, 0.4)`` re-decodes a window at the next temperature when its output is too
      repetitive or too unlikely (Whisper's fallback; results then vary run to run).
    - ``without_timestamps``: decode text only (no timestamp tokens), as the predictions need.
    """

    model: str = "tiny.en"
    language: str | None = None
    task: Literal["transcribe", "translate"] = "transcribe"
    beam_size: int = 1
    compute_type: str | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    device_index: int = 0
    cpu_threads: int = 0
    num_workers: int = 1
    vad_filter: bool = False
    condition_on_previous_text: bool = False
    temperature: float | tuple[float, ...] = 0.0
    without_timestamps: bool = True

    def __post_init__(self) -> None:
        problems = []
        if self.beam_size < 1:
            problems.append(f"beam_size must be at least 1 (1 = greedy), got {self.beam_size}")
        if self.compute_type is not None and self.compute_type not in COMPUTE_TYPES:
            problems.append(
                f"compute_type {self.compute_type!r} is not a CTranslate2 compute type; use one "
                f"of {', '.join(COMPUTE_TYPES)} (or leave it unset)"
            )
        if self.device_index < 0:
            problems.append(f"device_index must be >= 0, got {self.device_index}")
        if self.cpu_threads < 0:
            problems.append(f"cpu_threads must be >= 0 (0 = default), got {self.cpu_threads}")
        if self.num_workers < 1:
            problems.append(f"num_workers must be at least 1, got {self.num_workers}")
        temperatures = (
            self.temperature if isinstance(self.temperature, tuple) else (self.temperature,)
        )
        if not temperatures or any(t < 0 for t in temperatures):
            problems.append(
                f"temperature must be >= 0 (or a tuple of such), got {self.temperature}"
            )
        if self.language is not None and not self.language.strip():
            problems.append("language must be a Whisper language code such as 'en', or unset")
        if problems:
            raise ConfigError("; ".join(problems))


@dataclass(frozen=True)
class TransformersRecognizerConfig:
    """How ``whisper-transformers`` decodes a transformers Whisper with voxtext's own model
    (``seq2seq_model.WhisperSeq2Seq``: the code that fine-tunes it).

    - ``path``: a transformers Whisper folder (``save_pretrained`` output, hub weights a user
      downloaded, what ``voxtext convert whisper-ct2`` writes) or a packaged name (``tiny.en``,
      ``base``: converted once into the cache).
    - ``language``: the language of a multilingual model (required there); ``None`` or
      ``"en"`` for an English-only one.
    - ``window_seconds``: pad each utterance's log-mel with zeros to this window (30: as
      Whisper and faster-whisper decode); ``None`` encodes the utterance's own frames only.
    - ``max_new_tokens``: the longest transcript of one input, in tokens (Whisper's 448
      positions hold at most 448 less the prefix; the loop guard caps each input by its
      length too); ``max_batch_seconds``: padded audio per batch.
    """

    path: str = "tiny.en"
    language: str | None = None
    window_seconds: float | None = 30.0
    max_new_tokens: int = 448
    max_batch_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.window_seconds is not None and not 0 < self.window_seconds <= 30:
            raise ConfigError(
                f"whisper-transformers.window_seconds must be in (0, 30] (the encoder's "
                f"positions), got {self.window_seconds}"
            )
        if self.max_new_tokens < 1 or self.max_batch_seconds <= 0:
            raise ConfigError(
                "whisper-transformers: max_new_tokens must be >= 1 and max_batch_seconds > 0"
            )
