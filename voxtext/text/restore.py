"""Rebuilding text models from checkpoints: the encoder (architecture, tokenizer, weights),
the heads and their label sets, and the LoRA adapters they were trained with.

A run folder keeps the encoder's files (model config, tokenizer) in ``<run>/encoder`` and the
checkpoint metadata names them, so a run folder can be moved or copied and still loads.

The metadata (``voxtext.train.metadata``): ``components`` hold the ``encoder`` (its record,
the ``options`` it is rebuilt with and the ``files`` folder) and each head as ``head.<name>``;
``task_state`` holds the ``config``, each head's ``kind`` and ``labels`` under ``heads``, the
``lora`` settings and the parameter counts. Checkpoints of :data:`LEGACY_FORMAT` kept these
entries in a layout of their own; :func:`upgrade_metadata` reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from voxtext.components import Provenance, rebuild_component
from voxtext.errors import VoxtextError
from voxtext.text.config import MAIN_TASK, TASK_KINDS
from voxtext.text.dataset import LabelSet
from voxtext.text.model import TextModel, restore_lora
from voxtext.train.checkpoint import Which
from voxtext.train.metadata import CheckpointMetadata, load_task_checkpoint

#: The format of text checkpoints written before the one checkpoint schema.
LEGACY_FORMAT = "voxtext.text/1"
ENCODER_FILES = "encoder"
HEAD_ROLE = "head.{}"


def _text_checkpoint(
    path: str | Path, which: Which = "best"
) -> tuple[Path, dict[str, torch.Tensor], CheckpointMetadata]:
    return load_task_checkpoint(path, TASK_KINDS, which=which)


def text_metadata(
    task: str,
    config: Mapping[str, Any],
    encoder: Mapping[str, Any],
    heads: Mapping[str, Mapping[str, Any]],
    *,
    lora: Mapping[str, Any] | None,
    parameters: Mapping[str, int],
) -> CheckpointMetadata:
    """A text checkpoint's metadata (see the module docstring) from the ``encoder`` entry
    and each head's ``{"record", "kind", "labels"}``."""
    components = {"encoder": dict(encoder)}
    components.update({HEAD_ROLE.format(name): head["record"] for name, head in heads.items()})
    kinds = {name: {"kind": h["kind"], "labels": h.get("labels")} for name, h in heads.items()}
    task_state = {"config": config, "heads": kinds, "lora": lora, "parameters": parameters}
    return CheckpointMetadata(task, components, task_state)


def upgrade_metadata(saved: Mapping[str, Any], source: str) -> CheckpointMetadata | None:
    """A text checkpoint's metadata of the :data:`LEGACY_FORMAT` in the one schema (its task:
    the one it names, or for the oldest, which name none, its main head's kind); None for
    another format."""
    if saved.get("format") != LEGACY_FORMAT:
        return None
    encoder = saved["encoder"]
    return text_metadata(
        str(saved.get("task") or saved["heads"][MAIN_TASK]["kind"]),
        saved.get("config", {}),
        {**encoder["record"], "options": encoder["options"], "files": encoder.get("files")},
        saved["heads"],
        lora=saved.get("lora"),
        parameters=saved.get("parameters", {}),
    )


def _run_folder(checkpoint: Path) -> Path:
    """The run folder of a checkpoint (``checkpoint-N``/``averaged`` live right inside it)."""
    return checkpoint.parent


def build_encoder(meta: Mapping[str, Any], run_folder: Path, *, source: str) -> Any:
    """The encoder ``meta`` (a checkpoint's ``encoder`` component) describes, without
    weights."""
    record = Provenance.from_dict(meta)
    options = dict(meta["options"])
    if meta.get("files"):
        folder = run_folder / str(meta["files"])
        if not folder.is_dir():
            raise VoxtextError(
                f"{source}: the encoder files {folder} are missing; copy the whole run folder, "
                "not only the checkpoint"
            )
        options["path"] = str(folder)
    return rebuild_component(record, source=source, config=options)


def encoder_from_checkpoint(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """The encoder of a text run (``init_from``), without weights, and its metadata entry."""
    folder, _, metadata = _text_checkpoint(path)
    if metadata.task_state.get("lora"):
        raise VoxtextError(
            f"init_from {folder}: that run trained LoRA adapters; start from the run it "
            "adapted (or from a run that trained the encoder itself)"
        )
    entry = metadata.components["encoder"]
    encoder = build_encoder(entry, _run_folder(folder), source=f"init_from {folder}")
    return encoder, dict(entry)


def encoder_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The encoder's weights of a text checkpoint (keys without the ``encoder.`` prefix)."""
    _, state, _ = _text_checkpoint(path)
    prefix = "encoder."
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


@dataclass
class LoadedTextModel:
    """A text model ready for inference, and what its checkpoint says about each head."""

    model: TextModel
    tokenizer: Any
    kinds: dict[str, str]
    labels: dict[str, LabelSet | None]
    checkpoint: Path
    metadata: CheckpointMetadata


def load_text_model(
    path: str | Path, *, which: Which = "best", device: str = "cpu"
) -> LoadedTextModel:
    """From a run folder (its ``best``/``latest``/``averaged`` checkpoint) or a checkpoint
    folder; every component's plugin must still be installed."""
    folder, state, metadata = _text_checkpoint(path, which)
    source = f"checkpoint {folder}"
    encoder = build_encoder(metadata.components["encoder"], _run_folder(folder), source=source)
    heads, kinds, labels = {}, {}, {}
    tied: set[str] = set()  # saved once, as the encoder's embedding table
    for name, entry in metadata.task_state["heads"].items():
        record = metadata.record(HEAD_ROLE.format(name), source=source)
        heads[name] = rebuild_component(record, source=source)
        kinds[name] = entry["kind"]
        labels[name] = LabelSet.from_dict(entry["labels"]) if entry.get("labels") else None
        if entry["kind"] == "masked-lm" and hasattr(heads[name], "tie_to"):
            heads[name].tie_to(encoder.input_embeddings())
            tied.update(f"heads.{name}.{p}" for p in heads[name].tied_parameters())
    if metadata.task_state.get("lora"):
        restore_lora(encoder, metadata.task_state["lora"])
    model = TextModel(encoder, heads)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if k not in tied]
    if missing or unexpected:
        raise VoxtextError(
            f"{source}: weights do not fit the model (missing {missing[:5]}, "
            f"unexpected {unexpected[:5]})"
        )
    model.to(device).eval()
    return LoadedTextModel(model, encoder.tokenizer, kinds, labels, folder, metadata)
