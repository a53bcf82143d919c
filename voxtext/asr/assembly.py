"""Building a ``CTCModel`` from registry components, for training (from an ``ASRConfig``) and
for inference (from the provenance records a checkpoint keeps)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from voxtext.asr.model import CTCModel
from voxtext.components import ComponentSpec, Provenance, build_component, rebuild_component
from voxtext.plugins import registry


@dataclass
class Assembled:
    """A model and the provenance of each part, keyed by role (``encoder``, ``features``…)."""

    model: CTCModel
    records: dict[str, Provenance]


def with_defaults(spec: ComponentSpec, **defaults: Any) -> ComponentSpec:
    """``spec`` with ``defaults`` filled in where the user gave no value."""
    return ComponentSpec(spec.name, {**defaults, **spec.options})


def config_fields(kind: str, name: str) -> set[str]:
    """The config field names of a registered component (empty if unknown or config-less:
    building it then reports the problem)."""
    reg = registry(kind)
    config = reg.get(name).config if name in reg else None
    return {f.name for f in dataclasses.fields(config)} if config is not None else set()


def decoder_for(spec: ComponentSpec, tokenizer: Any, *, where: str) -> tuple[Any, Provenance]:
    """A CTC decoder reading ``tokenizer``'s symbols (the decoders' ``symbols``/``blank_id``
    config fields, see ``protocols.CTCDecoder``)."""
    filled = with_defaults(spec, symbols=tuple(tokenizer.symbols), blank_id=int(tokenizer.blank_id))
    decoder, record = build_component("decoders", filled, where=where)
    options = {k: v for k, v in record.config.items() if k not in ("symbols", "blank_id")}
    return decoder, Provenance(record.kind, record.name, record.plugin, record.version, options)


def assemble(
    *,
    features: ComponentSpec,
    normalizer: ComponentSpec | None,
    encoder: ComponentSpec,
    augmentations: list[ComponentSpec],
    vocab_size: int,
    dropout: float,
) -> Assembled:
    """Build every part; the encoder's ``input_dim`` defaults to the features' dimension."""
    records: dict[str, Provenance] = {}
    front, records["features"] = build_component("feature_extractors", features, where="features")
    norm = None
    if normalizer is not None:
        norm, records["normalizer"] = build_component(
            "feature_normalizers", normalizer, where="normalizer"
        )
    if "input_dim" in config_fields("encoders", encoder.name):
        encoder = with_defaults(encoder, input_dim=int(front.feature_dim))
    enc, records["encoder"] = build_component("encoders", encoder, where="encoder")
    augs = []
    for i, spec in enumerate(augmentations):
        aug, records[f"augmentation{i}"] = build_component(
            "augmentations", spec, where=f"augmentations[{i}]"
        )
        augs.append(aug)
    model = CTCModel(
        features=front,
        normalizer=norm,
        encoder=enc,
        vocab_size=vocab_size,
        augmentations=augs,
        dropout=dropout,
    )
    return Assembled(model, records)


def reassemble(records: Mapping[str, Provenance], vocab_size: int, *, source: str) -> CTCModel:
    """The inference model a checkpoint describes (no augmentations; weights not loaded)."""
    parts = {
        role: rebuild_component(record, source=source)
        for role, record in records.items()
        if role in ("features", "normalizer", "encoder")
    }
    return CTCModel(
        features=parts["features"],
        normalizer=parts.get("normalizer"),
        encoder=parts["encoder"],
        vocab_size=vocab_size,
    )
