"""``voxtext transcribe MODEL_OR_RECOGNISER AUDIO... [--format text|json|srt|vtt] [--vad NAME]``.

``MODEL_OR_RECOGNISER`` opens the way ``voxtext evaluate`` opens it
(``voxtext.asr.opening``): a CTC or ``whisper-seq2seq`` run or checkpoint folder, a task a
plugin registers, or a registered recogniser configured with ``--recognizer-set``.
Each file, of any length, is read in blocks and cut at silence by a registered voice
activity detector (``--vad``), or into overlapping windows without one, and decoded
segment by segment in bounded memory (``voxtext.asr.long_audio``), with a progress bar on
stderr when it is a terminal and a line about every 30 s when it is not. ``--format json``
adds times and confidences: per word where the model gives them (CTC forced alignment,
``voxtext.asr.alignment``), else per decoded segment; ``srt``/``vtt`` make subtitles of
them; ``text`` prints ``AUDIO<TAB>TEXT`` lines. Output goes to stdout, or with
``--output-dir`` to one file per input (``NAME.txt|json|srt|vtt``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voxtext.asr.opening import Opened

HELP = "transcribe audio files of any length with a trained model or a registered recogniser"

#: ``--format`` choices (``voxtext.asr.subtitles.render`` writes each).
FORMATS = ("text", "json", "srt", "vtt")


def add_decoder_arguments(parser: argparse.ArgumentParser) -> None:
    """``--recognizer-set``, ``--decoder``, ``--decoder-set``, ``--device`` and ``--runtime``
    (shared with ``voxtext evaluate``)."""
    parser.add_argument(
        "--recognizer-set",
        dest="recognizer_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="registered recognisers only: a config value, e.g. beam_size=5 (repeatable)",
    )
    parser.add_argument("--decoder", help="decoder registry name (default: the checkpoint's)")
    parser.add_argument(
        "--decoder-set",
        dest="decoder_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="decoder option, e.g. beam_size=16",
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument(
        "--runtime",
        choices=("torch", "onnx"),
        default="torch",
        help="torch: the checkpoint in PyTorch (default); onnx: a folder `voxtext export` "
        "wrote, run by onnxruntime on CPU",
    )


def add_long_audio_arguments(parser: argparse.ArgumentParser) -> None:
    """``--vad``, ``--vad-set``, ``--max-segment-seconds`` and ``--overlap-seconds`` (shared
    with ``voxtext evaluate``, which cuts utterances longer than one segment the same way)."""
    parser.add_argument(
        "--vad",
        help="voice activity detector registry name (see `voxtext plugins`) that cuts long "
        "audio at pauses and skips silence; default: the one registered as `default` "
        "(Silero VAD, from voxtext-features); none: fixed overlapping windows",
    )
    parser.add_argument(
        "--vad-set",
        dest="vad_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="voice activity detector option, e.g. threshold_db=-35",
    )
    parser.add_argument(
        "--max-segment-seconds",
        type=float,
        default=30.0,
        help="longest segment decoded at once (default 30)",
    )
    parser.add_argument(
        "--overlap-seconds",
        type=float,
        default=2.0,
        help="overlap of fixed windows, where words are merged (default 2)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint",
        metavar="MODEL_OR_RECOGNISER",
        help="run folder or checkpoint folder; or, when no such path exists, the name of a "
        "registered recogniser (see `voxtext plugins`), e.g. whisper-ct2",
    )
    parser.add_argument("audio", type=Path, nargs="+", help="audio files (any soundfile format)")
    parser.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="ATTR=VALUE",
        help="the speakers' group for a group-aware model, e.g. dialect=en-029 "
        "(default: the model's unknown-group path)",
    )
    add_decoder_arguments(parser)
    parser.add_argument(
        "--format",
        dest="output_format",
        choices=FORMATS,
        default="text",
        help="text (AUDIO<TAB>TEXT), json (text, start, end, confidence and timed words, "
        "one object per file and line), or srt/vtt subtitles (default text)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        help="write one file per audio file here instead of printing (needed for srt/vtt "
        "with several audio files)",
    )
    add_long_audio_arguments(parser)


def open_model(args: argparse.Namespace, *, identify_groups: bool = False) -> Opened:
    """The recogniser the arguments name, opened the one way ``voxtext.asr.opening`` does."""
    from voxtext.asr.opening import OpenOptions, open_recognizer

    options = OpenOptions(
        recognizer_options=tuple(args.recognizer_options),
        decoder=args.decoder,
        decoder_options=tuple(args.decoder_options),
        device=args.device,
        runtime=args.runtime,
        identify_groups=identify_groups,
    )
    return open_recognizer(args.checkpoint, options)


def parse_groups(pairs: list[str]) -> dict[str, str]:
    from voxtext.errors import ConfigError

    groups = {}
    for pair in pairs:
        attribute, sep, value = pair.partition("=")
        if not sep or not attribute or not value:
            raise ConfigError(f"--group {pair!r}: expected ATTR=VALUE, e.g. --group dialect=yue")
        groups[attribute] = value
    return groups


def check_layout(args: argparse.Namespace) -> None:
    """Options that cannot work together, before any model is loaded."""
    from voxtext.errors import ConfigError

    if args.output_format in ("srt", "vtt") and len(args.audio) > 1 and not args.output_dir:
        raise ConfigError(
            f"--format {args.output_format} with {len(args.audio)} audio files would print "
            "their subtitles into one stream; give --output-dir DIR for one file each"
        )
    check_segments(args)


def check_segments(args: argparse.Namespace) -> None:
    """``--max-segment-seconds`` and ``--overlap-seconds`` make sense together."""
    from voxtext.errors import ConfigError

    if args.max_segment_seconds <= 0:
        raise ConfigError(f"--max-segment-seconds {args.max_segment_seconds:g} must be > 0")
    if not 0 <= args.overlap_seconds < args.max_segment_seconds / 2:
        raise ConfigError(
            f"--overlap-seconds {args.overlap_seconds:g} must be >= 0 and under half of "
            f"--max-segment-seconds ({args.max_segment_seconds:g})"
        )


def load_vad(args: argparse.Namespace) -> Any | None:
    """The voice activity detector ``--vad`` names (the default one when it names none), or
    None for fixed windows (``--vad none``)."""
    import voxtext
    from voxtext.asr.long_audio import default_vad
    from voxtext.config import parse_overrides
    from voxtext.errors import ConfigError

    if args.vad == "none":
        if args.vad_options:
            raise ConfigError("--vad-set configures a detector, but --vad none uses none")
        return None
    if args.vad is None and not args.vad_options:
        return default_vad()
    name = args.vad
    if name is None:
        from voxtext.asr.long_audio import DEFAULT_VAD

        name = DEFAULT_VAD
    return voxtext.registry("voice_activity_detectors").create(
        name, parse_overrides(args.vad_options)
    )


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from voxtext.asr.long_audio import transcribe_file
    from voxtext.asr.subtitles import render
    from voxtext.data.audio import audio_info
    from voxtext.train.reporting import ProgressLog

    check_layout(args)
    groups = parse_groups(args.group)
    vad = load_vad(args)
    recognizer = open_model(args).recognizer
    console = Console(stderr=True)
    with Progress(console=console, disable=not console.is_terminal, transient=True) as bar:
        for path in args.audio:
            duration = audio_info(path).duration
            task = bar.add_task(f"{path.name}", total=duration)
            log = None if console.is_terminal else ProgressLog(f"transcribe {path.name}", duration)
            timed = transcribe_file(
                recognizer,
                path,
                vad=vad,
                max_seconds=args.max_segment_seconds,
                overlap_seconds=args.overlap_seconds,
                groups=groups,
                progress=_advance(bar, task, log),
            )
            bar.remove_task(task)
            text = render(timed, str(path), args.output_format)
            if args.output_dir is None:
                sys.stdout.write(text)
                sys.stdout.flush()
            else:
                write_output(args.output_dir, path, args.output_format, text)
    return 0


def _advance(bar: Any, task: Any, log: Any | None) -> Callable[[float], None]:
    """The progress callback that moves ``bar``'s ``task`` to the seconds read so far, and
    writes ``log``'s line every ~30 s when the output is no terminal."""

    def advance(seconds: float) -> None:
        bar.update(task, completed=seconds)
        if log is not None:
            log.update(seconds)

    return advance


def write_output(folder: Path, audio: Path, form: str, text: str) -> None:
    """``text`` to ``FOLDER/<audio stem>.<txt|json|srt|vtt>``, written atomically."""
    from voxtext.data.validation import write_atomically

    suffix = {"text": ".txt"}.get(form, f".{form}")
    write_atomically(folder / f"{audio.stem}{suffix}", text)
