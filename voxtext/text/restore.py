"""Rebuilding text models from checkpoints: the encoder (architecture, tokenizer, weights),
the heads and their label sets, and the LoRA adapters they were trained with.

A run folder keeps the encoder's files (model config, tokenizer) in ``<run>/encoder`` and the
checkpoint metadata names them, so a run folder can be moved or copied and still loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from voxtext.components import Provenance, rebuild_component
from voxtext.errors import VoxtextError
from voxtext.text.config import MAIN_TASK
from voxtext.text.dataset import LabelSet
from voxtext.text.model import TextModel, restore_lora
from voxtext.train.checkpoint import load_format_checkpoint

FORMAT_FAMILY = "voxtext.text/"
FORMAT = f"{FORMAT_FAMILY}1"
ENCODER_FILES = "encoder"


def _text_checkpoint(
    path: str | Path, which: str = "best"
) -> tuple[Path, dict[str, torch.Tensor], dict[str, Any]]:
    return load_format_checkpoint(path, FORMAT, "a text-model checkpoint", which=which)  # type: ignore[arg-type]


def legacy_task(metadata: Mapping[str, Any]) -> str:
    """The task of a text checkpoint written before checkpoints named their ``task``: the
    kind of its main head (``text-classification``, ``token-classification``, ``masked-lm``)."""
    return str(metadata["heads"][MAIN_TASK]["kind"])


def _run_folder(checkpoint: Path) -> Path:
    """The run folder of a checkpoint (``checkpoint-N``/``averaged`` live right inside it)."""
    return checkpoint.parent


def build_encoder(meta: Mapping[str, Any], run_folder: Path, *, source: str) -> Any:
    """The encoder ``meta`` (a checkpoint's ``encoder`` entry) describes, without weights."""
    record = Provenance.from_dict(meta["record"])
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
    if metadata.get("lora"):
        raise VoxtextError(
            f"init_from {folder}: that run trained LoRA adapters; start from the run it "
            "adapted (or from a run that trained the encoder itself)"
        )
    encoder = build_encoder(metadata["encoder"], _run_folder(folder), source=f"init_from {folder}")
    return encoder, dict(metadata["encoder"])


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
    metadata: dict[str, Any]


def load_text_model(
    path: str | Path, *, which: str = "best", device: str = "cpu"
) -> LoadedTextModel:
    """From a run folder (its ``best``/``latest``/``averaged`` checkpoint) or a checkpoint
    folder; every component's plugin must still be installed."""
    folder, state, metadata = _text_checkpoint(path, which)
    source = f"checkpoint {folder}"
    encoder = build_encoder(metadata["encoder"], _run_folder(folder), source=source)
    heads, kinds, labels = {}, {}, {}
    tied: set[str] = set()  # saved once, as the encoder's embedding table
    for name, entry in metadata["heads"].items():
        heads[name] = rebuild_component(Provenance.from_dict(entry["record"]), source=source)
        kinds[name] = entry["kind"]
        labels[name] = LabelSet.from_dict(entry["labels"]) if entry.get("labels") else None
        if entry["kind"] == "masked-lm" and hasattr(heads[name], "tie_to"):
            heads[name].tie_to(encoder.input_embeddings())
            tied.update(f"heads.{name}.{p}" for p in heads[name].tied_parameters())
    if metadata.get("lora"):
        restore_lora(encoder, metadata["lora"])
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
