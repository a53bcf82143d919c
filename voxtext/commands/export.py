"""``voxtext export CHECKPOINT --format onnx --out DIR``: a trained CTC model as one ONNX graph.

The graph covers the front end (features and normaliser), the encoder and the CTC log-probs,
with batch and length dynamic; ``DIR`` gets ``model.onnx`` and ``metadata.json``, which is
all that ``voxtext transcribe DIR AUDIO --runtime onnx`` needs (``voxtext.asr.onnx_export``).
The export is checked at once: onnxruntime's log-probs against the eager model's on a
padded batch of three lengths, and the largest difference is printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "export a trained CTC checkpoint to ONNX (front end + encoder + CTC log-probs)"

#: ``--format`` values this command writes.
FORMATS = ("onnx",)
#: The largest log-prob difference an export is expected to stay under.
PARITY_TOLERANCE = 1e-4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="run folder or checkpoint folder")
    parser.add_argument(
        "--format",
        dest="export_format",
        default="onnx",
        help=f"what to write: {', '.join(FORMATS)} (default onnx)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write the export to")
    parser.add_argument(
        "--which",
        choices=("best", "latest", "averaged"),
        default="best",
        help="which checkpoint of a run folder (default best)",
    )
    parser.add_argument("--opset", type=int, help="ONNX opset (default 18)")


def run(args: argparse.Namespace) -> int:
    from voxtext.errors import ConfigError

    if args.export_format not in FORMATS:
        raise ConfigError(
            f"--format {args.export_format!r}: unknown export format; known: {', '.join(FORMATS)}"
        )
    from voxtext.asr.onnx_export import MODEL_FILE, OPSET, export_onnx

    result = export_onnx(args.checkpoint, args.out, which=args.which, opset=args.opset or OPSET)
    print(f"voxtext export: wrote {result.folder / MODEL_FILE} and its metadata.json")
    print(
        "voxtext export: max abs difference of log-probs, onnxruntime vs torch eager: "
        f"{result.max_abs_diff:.3g}"
    )
    if result.max_abs_diff > PARITY_TOLERANCE:
        print(
            f"voxtext export: warning: that is above {PARITY_TOLERANCE:g}; compare transcripts "
            "of both runtimes before deploying this export",
            file=sys.stderr,
        )
    return 0
