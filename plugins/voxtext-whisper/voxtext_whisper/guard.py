"""Decoding Whisper with faster-whisper's guards against loops and hallucinations.

A fine-tuned Whisper can loop on a voice it has not heard ("... the lighthouse house house
house ..."), and a greedy decoder follows it to its token limit. Three guards, as
faster-whisper (and OpenAI's ``transcribe``) apply them:

- **a token cap from the audio's length**: at most ``TOKENS_PER_SECOND`` tokens per second
  plus ``TOKEN_MARGIN`` (read English speech is ~3-4 Whisper tokens a second; the cap is
  well above any real speech rate), never more than the model's ``max_new_tokens``;
- **a quality check**: a hypothesis fails when its text compresses better than
  ``COMPRESSION_RATIO_THRESHOLD`` with zlib (repeated text compresses well), when its
  average token log-probability is under ``LOG_PROB_THRESHOLD``, or when it reached its
  cap without an end of text;
- **temperature fallback**: a failed utterance is decoded again by sampling at each of
  ``TEMPERATURES`` in turn (seeded, so the result is reproducible) until one passes; when
  none does, the best by average log-probability among those that ended and did not loop is
  kept (any, failing that).

Each result records the temperature it was decoded at and its scores, so the predictions
file shows how many loops were stopped.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

#: faster-whisper's defaults
COMPRESSION_RATIO_THRESHOLD = 2.4
LOG_PROB_THRESHOLD = -1.0
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
TOKENS_PER_SECOND = 10.0
TOKEN_MARGIN = 10


def compression_ratio(text: str) -> float:
    """Bytes of ``text`` over bytes of its zlib compression (0.0 for no text)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def token_limit(seconds: float, max_new_tokens: int) -> int:
    """The most tokens an utterance of ``seconds`` may get (see the module docstring)."""
    return max(1, min(max_new_tokens, math.ceil(seconds * TOKENS_PER_SECOND) + TOKEN_MARGIN))


@dataclass(frozen=True)
class Decoded:
    """One utterance's hypothesis: ``text``, the ``temperature`` it was decoded at, its
    ``compression_ratio`` and ``avg_logprob``, and ``capped`` (it hit its token limit)."""

    text: str
    temperature: float
    compression_ratio: float
    avg_logprob: float
    capped: bool

    @property
    def loops(self) -> bool:
        return self.capped or self.compression_ratio > COMPRESSION_RATIO_THRESHOLD

    @property
    def failed(self) -> bool:
        return self.loops or self.avg_logprob < LOG_PROB_THRESHOLD

    def info(self) -> dict[str, Any]:
        """What the predictions file keeps under ``extra``."""
        return {
            "temperature": self.temperature,
            "compression_ratio": round(self.compression_ratio, 3),
            "avg_logprob": round(self.avg_logprob, 4),
            "capped": self.capped,
        }


def decode_guarded(
    model: Any,
    targets: Any,
    waveforms: torch.Tensor,
    lengths: torch.Tensor,
    *,
    max_new_tokens: int,
    window: int | None = None,
    guard: bool = True,
    seed: int = 0,
) -> list[Decoded]:
    """Hypotheses of a padded batch ``waveforms (B, S)`` with ``lengths (B,)`` (16 kHz
    samples) by ``model`` (a ``WhisperSeq2Seq``) and ``targets`` (its ``WhisperTargets``).
    ``guard=False``: plain greedy decoding up to ``max_new_tokens`` (for comparison)."""
    seconds = lengths.double() / 16000
    limits = [token_limit(float(s), max_new_tokens) if guard else max_new_tokens for s in seconds]
    candidates: list[list[Decoded]] = [[] for _ in range(len(lengths))]
    pending = list(range(len(lengths)))
    for temperature in TEMPERATURES if guard else (0.0,):
        rows = torch.tensor(pending, dtype=torch.long)
        generator = None
        if temperature > 0:
            generator = torch.Generator(device=waveforms.device).manual_seed(seed)
        generated = model.generate(
            waveforms[rows],
            lengths[rows],
            targets.prefix,
            targets.end,
            max_new_tokens=[limits[i] for i in pending],
            window=window,
            temperature=temperature,
            generator=generator,
        )
        for index, row in zip(pending, generated, strict=True):
            text = targets.decode(row.ids)
            candidates[index].append(
                Decoded(text, temperature, compression_ratio(text), row.avg_logprob, not row.ended)
            )
        pending = [i for i in pending if candidates[i][-1].failed]
        if not pending:
            break
    return [_choose(tried) for tried in candidates]


def _choose(tried: Sequence[Decoded]) -> Decoded:
    """The first hypothesis that passed, else the most probable one that does not loop."""
    for decoded in tried:
        if not decoded.failed:
            return decoded
    settled = [d for d in tried if not d.loops] or list(tried)
    return max(settled, key=lambda d: d.avg_logprob)
