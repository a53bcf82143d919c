"""Timestamps and confidence for a CTC hypothesis.

The hypothesis' tokens are aligned to the model's frames with
``torchaudio.functional.forced_align`` (the best-scoring CTC path that spells exactly
those tokens; for a greedy hypothesis that is the greedy path itself), and each token gets
the frames of its span (``torchaudio.functional.merge_tokens``).

- A token's time is ``[first frame, last frame + 1)`` of its span times the frame length.
  CTC posteriors are peaky: a token's span is often one or two frames at its onset, so a
  word's end is where its last character fires, which is earlier than the acoustic end.
- **Confidence** is the mean, over a unit's frames, of the posterior of the token aligned
  to each frame (for a greedy hypothesis: the frame's max posterior). A word's frames are
  its tokens' frames (blank frames between them are not counted); an utterance's confidence
  is the same mean over all its words' frames, so long words weigh more than short ones.
- Words are split at the word-boundary symbol ``▁``: a token that is ``▁`` separates words,
  and a token that starts with it (a SentencePiece piece) starts a new one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

WORD_BOUNDARY = "▁"


@dataclass(frozen=True)
class TimedUnit:
    """A word or a token (a character, a piece): its text, ``start``/``end`` in seconds from
    the start of the file, and its confidence in [0, 1] (see the module docstring)."""

    text: str
    start: float
    end: float
    confidence: float
    #: frames it spans (the weight of its confidence in a longer unit's mean)
    frames: int = 1
    #: its token ids
    ids: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "confidence": _rounded(self.confidence),
        }


def _rounded(confidence: float) -> float | None:
    """A confidence for JSON: ``None`` (null) where it was not measured (NaN)."""
    return None if math.isnan(confidence) else round(confidence, 4)


@dataclass(frozen=True)
class TimedTranscript:
    """A transcript with its words and tokens timed; ``start``/``end`` span its words and
    ``confidence`` is the frame-weighted mean of theirs (0.0 when nothing was recognised).

    A recogniser that gives no word times (a registered engine, Whisper) leaves ``words``
    and ``tokens`` empty and times its ``segments`` instead: the stretches of audio decoded
    one at a time, each with the text it contributed (``confidence`` NaN: not measured)."""

    text: str
    words: tuple[TimedUnit, ...]
    tokens: tuple[TimedUnit, ...]
    segments: tuple[TimedUnit, ...] = ()

    @property
    def start(self) -> float:
        spans = self.words or self.segments
        return spans[0].start if spans else 0.0

    @property
    def end(self) -> float:
        spans = self.words or self.segments
        return spans[-1].end if spans else 0.0

    @property
    def confidence(self) -> float:
        return weighted_confidence(self.words) if self.words or not self.segments else math.nan

    def to_dict(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "text": self.text,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "confidence": _rounded(self.confidence),
            "words": [w.to_dict() for w in self.words],
            "tokens": [t.to_dict() for t in self.tokens],
        }
        if self.segments:
            fields["segments"] = [s.to_dict() for s in self.segments]
        return fields

    @classmethod
    def of_words(cls, words: Sequence[TimedUnit], tokens: Sequence[TimedUnit]) -> TimedTranscript:
        return cls(" ".join(w.text for w in words), tuple(words), tuple(tokens))


def weighted_confidence(units: Sequence[TimedUnit]) -> float:
    """The frame-weighted mean confidence of ``units`` (0.0 for none)."""
    frames = sum(u.frames for u in units)
    return sum(u.confidence * u.frames for u in units) / frames if frames else 0.0


def align_tokens(
    log_probs: torch.Tensor,
    tokens: Sequence[int],
    tokenizer: Any,
    *,
    frame_seconds: float,
    offset_seconds: float = 0.0,
) -> list[TimedUnit]:
    """Each token of one hypothesis, timed and scored (word boundaries included: see
    :func:`group_words`). ``log_probs`` float ``(frames, vocab)`` (log-softmax, this
    utterance's valid frames only); ``tokens`` the hypothesis' ids (no blanks);
    ``tokenizer`` gives ``blank_id`` and ``symbols``; times are ``offset_seconds`` plus
    frames times ``frame_seconds``."""
    import torchaudio.functional

    if not tokens:
        return []
    blank = tokenizer.blank_id
    if blank is None:
        raise ValueError("CTC alignment needs a tokenizer with a blank symbol")
    targets = torch.tensor([list(tokens)], dtype=torch.int32)
    path, scores = torchaudio.functional.forced_align(
        log_probs.float().unsqueeze(0), targets, blank=blank
    )
    spans = torchaudio.functional.merge_tokens(path[0], scores[0].exp())
    return [
        TimedUnit(
            tokenizer.symbols[span.token],
            offset_seconds + span.start * frame_seconds,
            offset_seconds + span.end * frame_seconds,
            float(span.score),
            span.end - span.start,
            (int(span.token),),
        )
        for span in spans
    ]


def group_words(
    tokens: Sequence[TimedUnit], tokenizer: Any, breaks: Iterable[int] = ()
) -> TimedTranscript:
    """Words of timed ``tokens`` (from :func:`align_tokens`, possibly several segments'
    joined): a new word starts at a word-boundary token, at a token starting with one, and
    at each index in ``breaks`` (where silence was cut out between segments). Boundary
    tokens belong to no word and are left out of the transcript's tokens."""
    starts = set(breaks)
    groups: list[list[TimedUnit]] = []
    current: list[TimedUnit] = []
    for index, token in enumerate(tokens):
        if current and (token.text.startswith(WORD_BOUNDARY) or index in starts):
            groups.append(current)
            current = []
        if token.text != WORD_BOUNDARY:
            current.append(token)
    if current:
        groups.append(current)
    words = [_word(tokenizer, group) for group in groups]
    return TimedTranscript.of_words(words, [t for t in tokens if t.text != WORD_BOUNDARY])


def _word(tokenizer: Any, units: list[TimedUnit]) -> TimedUnit:
    ids = tuple(i for unit in units for i in unit.ids)
    return TimedUnit(
        tokenizer.decode(list(ids)).strip(),
        units[0].start,
        units[-1].end,
        weighted_confidence(units),
        sum(u.frames for u in units),
        ids,
    )
