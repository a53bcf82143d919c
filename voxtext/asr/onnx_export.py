"""Exporting a CTC checkpoint to ONNX: front end + normaliser + encoder + CTC log-probs.

The exported folder holds ``model.onnx`` and ``metadata.json``. The graph takes
``waveforms`` float32 ``(batch, samples)`` at the model's sample rate, zero-padded, and
``lengths`` int64 ``(batch,)``; it gives ``log_probs`` float32 ``(batch, frames, vocab)`` and
``out_lengths`` int64 ``(batch,)``, batch and samples dynamic. The metadata holds what decoding
needs without the torch model (tokenizer, decoder, sample rate), the graph's inputs and
outputs, the exporter and its versions, and the parity measured at export time.

The checkpoint's own metadata (``voxtext.train.metadata``: the task and every component's
provenance) goes in whole, under ``checkpoint_metadata``; exports of
:data:`LEGACY_EXPORT_FORMAT` kept its entries at the top level and are read too.

The feature extractor goes into the graph through ``traceable()``
(``protocols.TraceableFeatureExtractor``): the eager extractors are tuned with in-place
writes and loops that no exporter follows. The exporter is torch.onnx's dynamo exporter
(``torch.export`` then onnxscript), the one torch develops; the legacy TorchScript exporter
is deprecated.
"""

from __future__ import annotations

import importlib.metadata as md
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from voxtext.asr.model import CTCModel
from voxtext.errors import VoxtextError
from voxtext.train.checkpoint import Which
from voxtext.train.metadata import CheckpointMetadata

#: ``format`` of an exported folder's ``metadata.json``.
EXPORT_FORMAT = "voxtext.asr-onnx/2"
#: the format of exports written before checkpoints had one metadata schema
LEGACY_EXPORT_FORMAT = "voxtext.asr-onnx/1"
MODEL_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
INPUT_NAMES = ("waveforms", "lengths")
OUTPUT_NAMES = ("log_probs", "out_lengths")
#: the default opset: the newest onnxruntime 1.18 (the extra's floor) runs fully
OPSET = 18
#: export-time parity check: a batch of this many utterances of these seconds
CHECK_SECONDS = (1.6, 1.0, 0.45)


class ExportError(VoxtextError):
    """The checkpoint cannot be exported, or the export failed."""


class LogProbGraph(nn.Module):
    """What is exported: ``(waveforms, lengths)`` -> ``(log_probs, out_lengths)`` through the
    model's front end (``features``, the traceable twin of its extractor; ``None`` for an
    encoder that takes waveforms), normaliser, encoder and CTC head, as ``CTCModel`` runs
    them in eval mode with no group given."""

    def __init__(self, model: CTCModel, features: Any | None) -> None:
        super().__init__()
        self.model = model
        self.features = features

    def forward(
        self, waveforms: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        model = self.model
        x, x_lengths = waveforms, lengths
        if self.features is not None:
            x, x_lengths = self.features(waveforms, lengths)
            if model.normalizer is not None:
                x = model.normalizer(x, x_lengths)
        unknown = torch.zeros_like(x_lengths)
        encoded, out_lengths = model._encode(x, x_lengths, unknown)
        return model.head(encoded).float().log_softmax(dim=-1), out_lengths


@dataclass(frozen=True)
class ExportResult:
    """The exported folder and the parity measured on the export-time check batch."""

    folder: Path
    max_abs_diff: float
    metadata: dict[str, Any]


def export_onnx(
    checkpoint: Path, out: Path, *, which: Which = "best", opset: int = OPSET
) -> ExportResult:
    """Export ``checkpoint`` (a run or checkpoint folder of a CTC model) into ``out``; check
    the graph with onnxruntime against the eager model before writing the metadata."""
    from voxtext.asr.inference import load_recognizer
    from voxtext.train import resolve_checkpoint
    from voxtext.train.metadata import checkpoint_task_name

    folder = resolve_checkpoint(checkpoint, which)
    refuse_unexportable(folder, checkpoint_task_name(folder))
    recognizer = load_recognizer(checkpoint, which=which)
    model = recognizer.model
    assert isinstance(model, CTCModel)  # load_recognizer restores the torch model
    if model.group_modules:
        raise ExportError(
            f"{folder}: this model has group modules (dialect conditioning, adapters or a "
            "dialect-id head); export covers plain CTC models only"
        )
    graph = LogProbGraph(model, None if model.takes_waveform else traceable(model)).eval()
    waveforms, lengths = check_batch(recognizer.sample_rate)
    # The eager run comes first: it is the reference, and it fills the components' lazy
    # caches (a fitted normaliser's statistics) with real tensors before tracing sees them.
    with torch.no_grad():
        expected = graph.model(waveforms, lengths)
    out.mkdir(parents=True, exist_ok=True)
    path = out / MODEL_FILE
    run_exporter(graph, waveforms, lengths, path, opset)
    diff = parity(expected, path, waveforms, lengths)
    metadata = export_metadata(recognizer.metadata, folder, opset, diff)
    (out / METADATA_FILE).write_text(
        json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return ExportResult(out, diff, metadata)


def refuse_unexportable(folder: Path, task: str) -> None:
    """A clear error for a checkpoint of a task the export does not cover."""
    from voxtext.tasks import DEFAULT_TASK

    if task != DEFAULT_TASK:
        raise ExportError(
            f"{folder}: a checkpoint of task '{task}' cannot be exported to ONNX; export covers "
            f"CTC speech recognisers (task '{DEFAULT_TASK}') only"
        )


def traceable(model: CTCModel) -> Any:
    """The traceable twin of the model's feature extractor, or a clear error."""
    from voxtext.protocols import TraceableFeatureExtractor

    features = model.features
    if not isinstance(features, TraceableFeatureExtractor):
        raise ExportError(
            f"the feature extractor {type(features).__name__} has no traceable() front end, so "
            "it cannot go into an exported graph; export a model trained with an extractor "
            "that has one (protocols.TraceableFeatureExtractor)"
        )
    return features.traceable()


def check_batch(sample_rate: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A padded batch of noise of :data:`CHECK_SECONDS`: the export example and parity input."""
    generator = torch.Generator().manual_seed(0)
    counts = [round(s * sample_rate) for s in CHECK_SECONDS]
    waveforms = torch.zeros(len(counts), max(counts))
    for row, count in enumerate(counts):
        waveforms[row, :count] = 0.1 * torch.randn(count, generator=generator)
    return waveforms, torch.tensor(counts, dtype=torch.int64)


def run_exporter(
    graph: LogProbGraph, waveforms: torch.Tensor, lengths: torch.Tensor, path: Path, opset: int
) -> None:
    """torch.onnx's dynamo exporter with batch and samples dynamic, weights inside the file."""
    import logging
    import warnings

    batch, samples = torch.export.Dim("batch"), torch.export.Dim("samples")
    # The exporter logs a warning per torchvision op it cannot register; none are used here.
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                graph,
                (waveforms, lengths),
                dynamo=True,
                input_names=list(INPUT_NAMES),
                output_names=list(OUTPUT_NAMES),
                dynamic_shapes=({0: batch, 1: samples}, {0: batch}),
                opset_version=opset,
                external_data=False,
                verbose=False,
            )
    except ImportError as exc:
        raise ExportError(
            f"ONNX export needs onnx and onnxscript ({exc}); install voxtext[onnx]"
        ) from exc
    except Exception as exc:
        raise ExportError(f"torch.onnx.export failed: {type(exc).__name__}: {exc}") from exc
    finally:
        exporter_log.setLevel(level)
    assert program is not None
    program.save(str(path), external_data=False)


def parity(
    expected_output: tuple[torch.Tensor, torch.Tensor],
    path: Path,
    waveforms: torch.Tensor,
    lengths: torch.Tensor,
) -> float:
    """Max abs difference of the valid frames' log-probs, onnxruntime on the graph at
    ``path`` against the eager model's ``expected_output`` on the same batch."""
    from voxtext.asr.onnx_runtime import OnnxCTCModel

    expected, expected_lengths = expected_output
    got, got_lengths = OnnxCTCModel(path)(waveforms, lengths)
    if not torch.equal(got_lengths, expected_lengths):
        raise ExportError(
            f"the exported graph gives output lengths {got_lengths.tolist()}, the eager model "
            f"{expected_lengths.tolist()}"
        )
    return valid_max_abs_diff(expected, got, expected_lengths)


def valid_max_abs_diff(a: torch.Tensor, b: torch.Tensor, lengths: torch.Tensor) -> float:
    """Max abs difference of ``(B, T, V)`` ``a`` and ``b`` over each row's first ``lengths``
    frames (padding frames are nobody's output; the graph may hold more of them)."""
    frames = min(a.shape[1], b.shape[1])
    valid = torch.arange(frames) < lengths.unsqueeze(1)
    diff = (a[:, :frames] - b[:, :frames]).abs().amax(dim=-1)
    return float(diff.masked_fill(~valid, 0.0).max()) if valid.any() else 0.0


def export_metadata(
    checkpoint_metadata: CheckpointMetadata, folder: Path, opset: int, diff: float
) -> dict[str, Any]:
    """``metadata.json`` of an exported folder (see the module docstring)."""
    return {
        "format": EXPORT_FORMAT,
        "checkpoint": str(folder),
        "checkpoint_metadata": checkpoint_metadata.to_dict(),
        "model_file": MODEL_FILE,
        "inputs": [
            {"name": "waveforms", "dtype": "float32", "shape": ["batch", "samples"]},
            {"name": "lengths", "dtype": "int64", "shape": ["batch"]},
        ],
        "outputs": [
            {"name": "log_probs", "dtype": "float32", "shape": ["batch", "frames", "vocab"]},
            {"name": "out_lengths", "dtype": "int64", "shape": ["batch"]},
        ],
        "exporter": {
            "name": "torch.onnx.export(dynamo=True)",
            "opset": opset,
            "versions": {name: _version(name) for name in ("torch", "onnx", "onnxscript")},
        },
        "parity": {
            "runtime": f"onnxruntime {_version('onnxruntime')}",
            "seconds": list(CHECK_SECONDS),
            "max_abs_diff_log_probs": diff,
        },
    }


def _version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None
