"""``voxtext convert``: model format conversions.

    voxtext convert whisper-ct2 tiny.en ./whisper-tiny.en      # a packaged model
    voxtext convert whisper-ct2 ./faster-whisper-small ./small --force

``whisper-ct2`` turns a CTranslate2 Whisper folder (or a packaged name: tiny.en, base) into a
transformers folder that ``WhisperForConditionalGeneration.from_pretrained`` and the
``whisper`` encoder load.
"""

from __future__ import annotations

import argparse
from pathlib import Path


class ConvertCommand:
    help = "convert models between formats (whisper-ct2: CTranslate2 Whisper -> transformers)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        formats = parser.add_subparsers(dest="format", metavar="FORMAT", required=True)
        whisper = formats.add_parser(
            "whisper-ct2", help="CTranslate2 Whisper folder or packaged name -> transformers"
        )
        whisper.add_argument("src", metavar="SRC", help="CTranslate2 folder, or tiny.en / base")
        whisper.add_argument("dst", type=Path, metavar="DST", help="transformers folder to write")
        whisper.add_argument(
            "--force", action="store_true", help="write into DST even if it is not empty"
        )

    def run(self, args: argparse.Namespace) -> int:
        from voxtext_whisper.convert import convert_ct2_to_transformers

        # A ConfigError (bad SRC, non-empty DST) is reported by the CLI with exit code 2.
        target = convert_ct2_to_transformers(args.src, args.dst, force=args.force)
        tokenizer = "" if (target / "tokenizer.json").is_file() else " (no tokenizer.json in SRC)"
        print(f"wrote a transformers Whisper model to {target}{tokenizer}")
        return 0
