"""Running an exported CTC model (``voxtext export --format onnx``) through onnxruntime.

:class:`OnnxCTCModel` stands in for ``CTCModel`` at inference: called with ``(waveforms,
lengths)`` it returns ``(log_probs, out_lengths)`` as torch tensors, so the decoding code
(batches, long audio, timestamps) is the same for both runtimes. :func:`load_onnx_recognizer`
builds a ``Recognizer`` from the exported folder alone: the tokenizer and decoder are rebuilt
from its ``metadata.json``, and no torch model or checkpoint is read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from voxtext.asr.inference import Recognizer
from voxtext.errors import VoxtextError
from voxtext.train.metadata import CheckpointMetadata


class OnnxCTCModel(nn.Module):
    """An ONNX log-prob graph behind ``CTCModel``'s inference call (CPU, onnxruntime);
    ``threads`` sets onnxruntime's intra-op threads (``None``: its default)."""

    #: an exported graph has no group-identification head (group models are not exported)
    identifies_groups = False

    def __init__(self, path: Path, threads: int | None = None) -> None:
        super().__init__()
        try:
            import onnxruntime
        except ImportError as exc:
            raise VoxtextError(
                f"--runtime onnx needs onnxruntime ({exc}); install voxtext[onnx]"
            ) from exc
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        # onnxruntime reads and writes host memory: this empty parameter is what tells the
        # decoding code, which finds a model's device from its parameters, to batch on CPU.
        self.device_anchor = nn.Parameter(torch.zeros(0), requires_grad=False)

    def forward(
        self,
        waveforms: torch.Tensor,
        lengths: torch.Tensor,
        generator: torch.Generator | None = None,
        group_ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, S)`` float waveforms and int64 ``(B,)`` lengths -> float32 log-probs
        ``(B, T', V)`` and int64 ``(B,)`` output lengths (``generator`` and ``group_ids`` are
        ``CTCModel``'s; an exported graph takes no group)."""
        if group_ids is not None:
            raise VoxtextError(
                "an exported ONNX model takes no group: only plain CTC models are exported"
            )
        feeds = {
            "waveforms": waveforms.detach().float().cpu().contiguous().numpy(),
            "lengths": lengths.detach().long().cpu().numpy(),
        }
        log_probs, out_lengths = self.session.run(None, feeds)
        return torch.from_numpy(log_probs), torch.from_numpy(out_lengths)


def read_export_metadata(folder: Path) -> dict[str, Any]:
    """An exported folder's ``metadata.json``, or a clear error saying how to make one."""
    from voxtext.asr.onnx_export import EXPORT_FORMAT, LEGACY_EXPORT_FORMAT, METADATA_FILE

    path = folder / METADATA_FILE
    try:
        metadata: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VoxtextError(
            f"{folder} is not a folder `voxtext export` wrote ({path}: {exc}); export a "
            "checkpoint with `voxtext export CHECKPOINT --format onnx --out DIR` and pass DIR, "
            "or run a checkpoint in PyTorch with --runtime torch"
        ) from None
    if metadata.get("format") not in (EXPORT_FORMAT, LEGACY_EXPORT_FORMAT):
        raise VoxtextError(
            f"{path}: format {metadata.get('format')!r} is not an ONNX export "
            f"({EXPORT_FORMAT}); `voxtext export` writes those"
        )
    return metadata


def load_onnx_recognizer(
    folder: str | Path, *, device: str = "cpu", threads: int | None = None
) -> Recognizer:
    """The recogniser of an exported folder, running its graph through onnxruntime (on CPU:
    another ``device`` is a clear error)."""
    from voxtext.asr.assembly import decoder_for
    from voxtext.components import ComponentSpec, rebuild_component
    from voxtext.errors import ConfigError

    if device != "cpu":
        raise ConfigError(
            f"--device {device}: --runtime onnx runs on CPU (onnxruntime's CPU provider); "
            "use --runtime torch for other devices"
        )
    folder = Path(folder)
    export = read_export_metadata(folder)
    source = f"exported model {folder}"
    metadata = _checkpoint_metadata(export, source)
    tokenizer = rebuild_component(metadata.record("tokenizer", source=source), source=source)
    decoder_record = metadata.record("decoder", source=source)
    decoder, _ = decoder_for(
        ComponentSpec(decoder_record.name, decoder_record.config),
        tokenizer,
        where=f"{source}: decoder",
    )
    model = OnnxCTCModel(folder / export["model_file"], threads)
    rate = int(metadata.task_state["sample_rate"])
    return Recognizer(model, tokenizer, decoder, rate, folder, metadata)


def _checkpoint_metadata(export: dict[str, Any], source: str) -> CheckpointMetadata:
    """The exported checkpoint's metadata: kept whole, or (a legacy export) as the CTC
    checkpoint entries of its time at the top level."""
    from voxtext.asr.inference import LEGACY_FORMAT, upgrade_metadata
    from voxtext.asr.onnx_export import LEGACY_EXPORT_FORMAT

    if export["format"] != LEGACY_EXPORT_FORMAT:
        return CheckpointMetadata.from_dict(export["checkpoint_metadata"], source=source)
    upgraded = upgrade_metadata({**export, "format": LEGACY_FORMAT}, source)
    assert upgraded is not None  # the format is the one it reads
    return upgraded
