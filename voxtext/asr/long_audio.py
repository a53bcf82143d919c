"""Transcribing audio files of any length in bounded memory.

The file is read in blocks (``voxtext.data.audio.read_audio_blocks``) and cut into
segments of at most ``max_seconds``:

- a file no longer than ``max_seconds`` is one segment, decoded whole (as ``voxtext
  evaluate`` decodes an utterance);
- with a voice activity detector, at silence: each speech region it finds is a segment,
  and silence is never decoded; a region longer than ``max_seconds`` (speech without a
  pause) is cut into fixed windows as below;
- without one, into fixed windows of ``max_seconds`` overlapping by ``overlap_seconds``.

Each segment is decoded and its tokens timed (``voxtext.asr.alignment``). Overlapping
windows are merged by ownership: a window owns the audio up to the middle of its overlap
with the next one, and a token is kept from the window that owns its midpoint, so each
token is taken once, from the window that saw the most context around it. Words are then
formed over the merged tokens, with a word break wherever silence was cut out.

That is the CTC checkpoint's path (:func:`transcribe_long`), which has token times. Any
other ``protocols.Recognizer`` (:func:`transcribe_file`) gets the same segments as
``RecognitionInput`` batches and gives text only; overlapping windows are then merged on
their text: the longest run of words (characters, for text written without spaces) that
the end of one window and the start of the next agree on is kept once (see
:func:`overlap_cut`).

Memory holds one block, the undecided tail of the audio (at most ``max_seconds`` plus the
detector's lookahead) and one batch of segments, whatever the file's length; only the
timed words are kept for the whole file.
"""

from __future__ import annotations

import ctypes
import difflib
import functools
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from voxtext.asr.alignment import TimedTranscript, TimedUnit, align_tokens, group_words
from voxtext.data.audio import audio_info, collate_waveforms, read_audio_blocks
from voxtext.protocols import RecognitionInput

#: Seconds of audio read from the file at a time.
BLOCK_SECONDS = 30.0

#: The voice activity detector that cuts long audio when none is named: the one a plugin
#: registers under this name (voxtext-features registers Silero's); where none does, fixed
#: overlapping windows.
DEFAULT_VAD = "default"


def default_vad() -> Any | None:
    """The :data:`DEFAULT_VAD` detector with its default config, or None when no installed
    plugin registers it."""
    import voxtext

    detectors = voxtext.registry("voice_activity_detectors")
    return detectors.create(DEFAULT_VAD) if DEFAULT_VAD in detectors else None


@dataclass(frozen=True)
class Segment:
    """Audio to decode: ``waveform`` ``(samples,)`` starting ``start`` samples into the
    file; it owns the words whose midpoint lies before sample ``own_end``."""

    start: int
    waveform: torch.Tensor
    own_end: int


def segment_stream(
    blocks: Iterable[torch.Tensor],
    sample_rate: int,
    vad: Any | None,
    *,
    max_seconds: float,
    overlap_seconds: float,
) -> Iterator[Segment]:
    """Segments of the audio given as consecutive ``blocks`` (see the module docstring);
    ``vad`` is a ``protocols.VoiceActivityDetector`` or None for fixed windows."""
    window = max(1, round(max_seconds * sample_rate))
    overlap = min(round(overlap_seconds * sample_rate), window // 2)
    lookahead = round(vad.lookahead_seconds * sample_rate) if vad is not None else 0
    buffer = torch.zeros(0)
    offset = 0  # the file sample at buffer[0]
    for final, block in _with_last(blocks):
        buffer = torch.cat([buffer, block])
        regions = vad.speech_regions(buffer, sample_rate) if vad else [(0, len(buffer))]
        keep_from = len(buffer) if final else max(0, len(buffer) - lookahead)
        for start, end in regions:
            ends_here = final or (vad is not None and end < len(buffer) - lookahead)
            while end - start > window or (ends_here and end > start):
                stop = min(start + window, end)
                whole = ends_here and stop == end
                own_end = stop if whole else stop - overlap // 2
                yield Segment(offset + start, buffer[start:stop].clone(), offset + own_end)
                start = stop if whole else stop - overlap
            if not ends_here:
                keep_from = min(keep_from, start)
                break
        buffer = buffer[keep_from:]
        offset += keep_from


def _with_last(items: Iterable[torch.Tensor]) -> Iterator[tuple[bool, torch.Tensor]]:
    """``(is_last, item)`` pairs; an empty iterable gives one empty last item."""
    iterator = iter(items)
    current = next(iterator, torch.zeros(0))
    for following in iterator:
        yield False, current
        current = following
    yield True, current


@torch.no_grad()
def transcribe_long(
    recognizer: Any,
    path: Path,
    *,
    vad: Any | None = None,
    max_seconds: float = 30.0,
    overlap_seconds: float = 2.0,
    max_batch_seconds: float = 120.0,
    group_id: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> TimedTranscript:
    """The timed transcript of one audio file of any length with a loaded CTC checkpoint
    (``voxtext.asr.inference.Recognizer``): segments decoded in batches of up to
    ``max_batch_seconds``, merged as the module docstring says. ``group_id`` conditions a
    group-aware model; ``progress(seconds)`` is called with the seconds of the file read so
    far as decoding moves on."""
    bound_heap()
    rate = recognizer.sample_rate
    segments = file_segments(path, rate, vad, max_seconds, overlap_seconds, progress)
    tokens: list[TimedUnit] = []
    breaks: list[int] = []
    owned_until, previous_end = 0.0, 0
    for batch in _batches(segments, round(max_batch_seconds * rate)):
        decoded = _decode_batch(recognizer, batch, group_id)
        release_free_memory()
        for segment, timed in zip(batch, decoded, strict=True):
            if segment.start > previous_end:  # silence was cut out: a word ends here
                breaks.append(len(tokens))
            own_end = segment.own_end / rate
            tokens += [t for t in timed if owned_until <= _middle(t) < own_end]
            owned_until, previous_end = own_end, segment.start + len(segment.waveform)
    return group_words(tokens, recognizer.tokenizer, breaks)


#: glibc's ``mallopt`` parameter number for the mmap threshold (``M_MMAP_THRESHOLD``).
_M_MMAP_THRESHOLD = -3

#: Long-audio decoding fixes glibc's mmap threshold here (see :func:`bound_heap`).
MMAP_THRESHOLD_BYTES = 256 * 1024


@functools.cache
def _glibc() -> Any | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:  # not glibc
        return None


@functools.cache
def bound_heap() -> None:
    """Keep the C heap from growing with the length of the audio (once per process; nothing
    where the C library is not glibc).

    glibc serves an allocation of at least its mmap threshold with pages of its own, handed
    back when freed, and raises that threshold (up to 32 MiB) each time such a block is
    freed; after that, tensors of every size up to 32 MiB come from the heap, and decoding
    batch after batch of changing shapes (Whisper's growing key-value cache) fragments it.
    Fixing the threshold at :data:`MMAP_THRESHOLD_BYTES` stops that. Measured on the
    fine-tuned Whisper (``benchmarks/long_audio.py``): peak RSS 1183 MiB at 10 minutes and
    1341 at 60 with glibc's moving threshold; 1166 at both with it fixed, for 10 % more wall
    time."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def release_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``) after a
    decoded batch, so what one batch freed is not held while the next one runs. Does nothing
    where the C library is not glibc."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def file_segments(
    path: Path,
    rate: int,
    vad: Any | None,
    max_seconds: float,
    overlap_seconds: float,
    progress: Callable[[float], None] | None,
) -> Iterator[Segment]:
    """The segments of the audio file at ``path`` read at ``rate`` (see the module
    docstring): a file no longer than ``max_seconds`` is one segment, decoded whole as
    ``voxtext evaluate`` decodes an utterance; ``progress(seconds)`` reports the seconds
    read."""
    if audio_info(path).duration <= max_seconds:
        vad = None
    return segment_stream(
        _counted(read_audio_blocks(path, rate, BLOCK_SECONDS), rate, progress),
        rate,
        vad,
        max_seconds=max_seconds,
        overlap_seconds=overlap_seconds,
    )


def _middle(unit: TimedUnit) -> float:
    return (unit.start + unit.end) / 2


def _counted(
    blocks: Iterable[torch.Tensor], rate: int, progress: Callable[[float], None] | None
) -> Iterator[torch.Tensor]:
    read = 0
    for block in blocks:
        read += len(block)
        if progress is not None:
            progress(read / rate)
        yield block


def _batches(segments: Iterable[Segment], max_samples: int) -> Iterator[list[Segment]]:
    """Consecutive segments, as many per batch as fit in ``max_samples`` padded samples."""
    batch: list[Segment] = []
    longest = 0
    for segment in segments:
        longest_with = max(longest, len(segment.waveform))
        if batch and longest_with * (len(batch) + 1) > max_samples:
            yield batch
            batch, longest_with = [], len(segment.waveform)
        batch.append(segment)
        longest = longest_with
    if batch:
        yield batch


def _decode_batch(
    recognizer: Any, batch: Sequence[Segment], group_id: int | None
) -> list[list[TimedUnit]]:
    """The timed tokens of each segment of ``batch``."""
    model = recognizer.model
    device = next(model.parameters()).device
    waveforms, lengths = collate_waveforms([s.waveform for s in batch])
    ids = None
    if group_id is not None:
        ids = torch.full((len(batch),), group_id, dtype=torch.long, device=device)
    log_probs, out_lengths = model(waveforms.to(device), lengths.to(device), None, ids)
    log_probs, out_lengths = log_probs.float().cpu(), out_lengths.cpu()
    hypotheses = recognizer.decoder.decode(log_probs, out_lengths)
    rate = recognizer.sample_rate
    timed = []
    for row, (segment, best) in enumerate(zip(batch, hypotheses, strict=True)):
        frames = int(out_lengths[row])
        timed.append(
            align_tokens(
                log_probs[row, :frames],
                best[0].tokens,
                recognizer.tokenizer,
                frame_seconds=len(segment.waveform) / rate / max(frames, 1),
                offset_seconds=segment.start / rate,
            )
        )
    return timed


@runtime_checkable
class FileTranscriber(Protocol):
    """A recogniser with its own long-audio path (a CTC checkpoint: word times from its
    alignment); :func:`transcribe_file` hands it the whole file."""

    def transcribe_file(
        self,
        path: Path,
        *,
        vad: Any | None,
        max_seconds: float,
        overlap_seconds: float,
        groups: Mapping[str, str] | None,
        progress: Callable[[float], None] | None,
    ) -> TimedTranscript: ...


def transcribe_file(
    recognizer: Any,
    path: Path,
    *,
    vad: Any | None = None,
    max_seconds: float = 30.0,
    overlap_seconds: float = 2.0,
    max_batch_seconds: float = 120.0,
    groups: Mapping[str, str] | None = None,
    progress: Callable[[float], None] | None = None,
) -> TimedTranscript:
    """One audio file of any length through any ``protocols.Recognizer`` (see the module
    docstring): its own long-audio path if it has one (:class:`FileTranscriber`), else
    segments decoded in batches of up to ``max_batch_seconds`` through ``transcribe`` and
    joined, with each segment's time span. ``groups``: the speaker's group attributes for a
    recogniser that conditions on them; ``progress(seconds)`` reports the seconds read."""
    if isinstance(recognizer, FileTranscriber):
        return recognizer.transcribe_file(
            path,
            vad=vad,
            max_seconds=max_seconds,
            overlap_seconds=overlap_seconds,
            groups=groups,
            progress=progress,
        )
    bound_heap()
    rate = int(recognizer.sample_rate)
    segments = file_segments(path, rate, vad, max_seconds, overlap_seconds, progress)
    packed = pack_segments(segments, round(max_seconds * rate), round(PACK_GAP_SECONDS * rate))
    # Per segment only its file span and text units are kept: memory holds no audio but the
    # batch being decoded.
    pieces: list[tuple[int, int, list[str], str]] = []  # start, end, units, their joiner
    for batch in _batches(packed, round(max_batch_seconds * rate)):
        items = [
            RecognitionInput(
                f"{path.name}@{s.start / rate:.2f}s", s.waveform.numpy(), rate, dict(groups or {})
            )
            for s in batch
        ]
        transcripts = recognizer.transcribe(items)
        release_free_memory()
        for segment, transcript in zip(batch, transcripts, strict=True):
            units, joiner = text_units(transcript.text)
            start, end = segment.start, _end(segment)
            if pieces and start < pieces[-1][1]:  # overlapping windows
                previous = pieces[-1][2]
                share = (pieces[-1][1] - start) / max(1, end - start)
                keep_previous, skip = overlap_cut(previous, units, share)
                del previous[keep_previous:]
                units = units[skip:]
            pieces.append((start, end, units, joiner))
    timed = [
        TimedUnit(joiner.join(units), start / rate, end / rate, math.nan)
        for start, end, units, joiner in pieces
    ]
    texts = [t.text for t in timed if t.text]
    joiner = pieces[0][3] if pieces else " "
    return TimedTranscript(joiner.join(texts), (), (), tuple(timed))


def _end(segment: Segment) -> int:
    """The file sample where ``segment`` ends (a packed one's waveform is shorter than its
    span: the pauses inside it were shortened)."""
    return max(segment.own_end, segment.start + len(segment.waveform))


#: The longest pause kept between speech regions packed into one segment.
PACK_GAP_SECONDS = 0.5


def pack_segments(segments: Iterable[Segment], max_samples: int, max_gap: int) -> Iterator[Segment]:
    """Consecutive whole segments (speech regions a detector found) joined into segments of
    up to ``max_samples``, each pause between them kept up to ``max_gap`` samples of
    silence. A recogniser that pads every input to a fixed window (Whisper: 30 s) then
    decodes a few full windows instead of one per sentence, and each window still starts and
    ends at a pause. Overlapping windows (speech without a pause) pass through unchanged."""
    pending: list[Segment] = []
    size = 0
    for segment in segments:
        whole = segment.own_end == segment.start + len(segment.waveform)
        gap = min(max_gap, segment.start - _end(pending[-1])) if pending else 0
        if pending and (not whole or size + gap + len(segment.waveform) > max_samples):
            yield _joined(pending, max_gap)
            pending, size, gap = [], 0, 0
        if not whole:
            yield segment
            continue
        pending.append(segment)
        size += gap + len(segment.waveform)
    if pending:
        yield _joined(pending, max_gap)


def _joined(segments: Sequence[Segment], max_gap: int) -> Segment:
    if len(segments) == 1:
        return segments[0]
    parts = [segments[0].waveform]
    for before, after in itertools.pairwise(segments):
        parts += [torch.zeros(min(max_gap, after.start - _end(before))), after.waveform]
    return Segment(segments[0].start, torch.cat(parts), _end(segments[-1]))


#: Characters of scripts written without spaces between words (CJK, kana, Thai...).
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


def text_units(text: str) -> tuple[list[str], str]:
    """``text`` as the units overlapping windows are matched on, and the string that joins
    them back: words and a space, or characters and nothing for a text in a script written
    without spaces."""
    text = text.strip()
    if not text:
        return [], " "
    if not any(c.isspace() for c in text) and _UNSPACED.search(text):
        return list(text), ""
    return text.split(), " "


def _key(unit: str) -> str:
    return "".join(c for c in unit.casefold() if c.isalnum()) or unit


def overlap_cut(previous: Sequence[str], current: Sequence[str], share: float) -> tuple[int, int]:
    """Where two overlapping windows' units join: ``(keep, skip)`` keeps ``previous[:keep]``
    and ``current[skip:]``. The end of ``previous`` and the start of ``current`` hold the
    same audio (``share`` of ``current``); their longest common run of units (case and
    punctuation ignored) is the overlap, kept once. With no common unit the overlap is split
    in its middle by the units' estimated share, since nothing better is known."""
    span = max(2, math.ceil(2 * share * max(len(previous), len(current))) + 2)
    tail_start = max(0, len(previous) - span)
    tail = [_key(u) for u in previous[tail_start:]]
    head = [_key(u) for u in current[:span]]
    match = difflib.SequenceMatcher(None, tail, head, autojunk=False).find_longest_match(
        0, len(tail), 0, len(head)
    )
    if match.size:
        return tail_start + match.a + match.size, match.b + match.size
    half = round(share / 2 * len(current))
    return len(previous) - round(share / 2 * len(previous)), half
