"""``voxtext manifest check``: validate a speech manifest and summarise it per group."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "check speech manifests and summarise them per group"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="manifest_action", metavar="ACTION", required=True)
    check_help = (
        "validate every line of a JSONL manifest (fields, types, ids, audio files and their "
        "durations) and print utterances, hours and speakers overall and per group"
    )
    check = actions.add_parser("check", help=check_help, description=check_help)
    check.add_argument("path", type=Path, metavar="PATH", help="the manifest (.jsonl)")
    check.add_argument(
        "--group",
        action="append",
        dest="groups",
        metavar="ATTRIBUTE",
        help="summarise by this group attribute (repeatable; default: every one found)",
    )
    check.add_argument(
        "--no-audio-check",
        action="store_true",
        help="check only the manifest text, not that the audio files exist and match",
    )


def run(args: argparse.Namespace) -> int:
    # Imported here so that `voxtext --help` does not load the data layer's dependencies.
    from voxtext.data import read_manifest, summarise
    from voxtext.errors import DataError

    try:
        utterances = read_manifest(args.path, check_audio=not args.no_audio_check)
        summary = summarise(utterances, args.groups)
    except DataError as error:
        print(f"voxtext manifest check: {error}", file=sys.stderr)
        return 2
    audio = "audio not checked" if args.no_audio_check else "audio files checked"
    print(f"{args.path}: OK, {len(utterances)} utterances ({audio})")
    print(summary.format_table())
    return 0
