"""``voxtext transcribe CHECKPOINT AUDIO... [--decoder NAME] [--set key=value]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voxtext.asr.inference import Recognizer

HELP = "transcribe audio files with a trained checkpoint"


def add_decoder_arguments(parser: argparse.ArgumentParser) -> None:
    """``--decoder`` and ``--decoder-set`` (shared with ``voxtext evaluate``)."""
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="run folder or checkpoint folder")
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


def load(args: argparse.Namespace) -> Recognizer:
    """The recogniser, with the decoder the arguments ask for."""
    from voxtext.asr import load_recognizer
    from voxtext.components import ComponentSpec
    from voxtext.config import parse_overrides

    recognizer = load_recognizer(args.checkpoint, device=args.device)
    if args.decoder or args.decoder_options:
        name = args.decoder or recognizer.metadata["decoder"]["name"]
        recognizer = recognizer.with_decoder(
            ComponentSpec(name, parse_overrides(args.decoder_options))
        )
    return recognizer


def parse_groups(pairs: list[str]) -> dict[str, str]:
    from voxtext.errors import ConfigError

    groups = {}
    for pair in pairs:
        attribute, sep, value = pair.partition("=")
        if not sep or not attribute or not value:
            raise ConfigError(f"--group {pair!r}: expected ATTR=VALUE, e.g. --group dialect=yue")
        groups[attribute] = value
    return groups


def run(args: argparse.Namespace) -> int:
    recognizer = load(args)
    groups = parse_groups(args.group)
    texts = recognizer.transcribe(args.audio, groups=[groups] * len(args.audio))
    for path, text in zip(args.audio, texts, strict=True):
        print(f"{path}\t{text}")
    return 0
