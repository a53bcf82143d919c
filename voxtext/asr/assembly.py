"""Building a ``CTCModel`` from registry components, for training (from an ``ASRConfig``) and
for inference (from the provenance records a checkpoint keeps)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from voxtext.asr.model import CTCModel
from voxtext.components import ComponentSpec, Provenance, build_component, rebuild_component
from voxtext.errors import ConfigError
from voxtext.plugins import registry
from voxtext.protocols import GroupContext
from voxtext.speech.groups import (
    GroupVocabulary,
    Strategy,
    build_group_modules,
    group_context,
    rebuild_group_modules,
)

#: The augmentation domains a CTC model applies (``protocols.Augmentation``); a text
#: augmentation (``protocols.TextAugmentation``) is refused rather than silently unused.
AUDIO_DOMAINS = ("waveform", "features")


@dataclass
class Assembled:
    """A model and the provenance of each part, keyed by role (``encoder``, ``features``…)."""

    model: CTCModel
    records: dict[str, Provenance]
    group_module_roles: list[str] = dataclasses.field(default_factory=list)
    group_context: GroupContext | None = None


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
    groups: GroupVocabulary | None = None,
    strategies: list[Strategy] | None = None,
) -> Assembled:
    """Build every part; the encoder's ``input_dim`` defaults to the features' dimension.
    With ``groups``, each strategy that extends the model adds its group module."""
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
        domain = getattr(aug, "domain", None)
        if domain not in AUDIO_DOMAINS:
            raise ConfigError(
                f"augmentations[{i}]: '{spec.name}' works on {domain} data, not on audio; ASR "
                "takes waveform or feature augmentations (`voxtext plugins` lists them under "
                "augmentations); drop it from this config"
            )
        augs.append(aug)
    modules: list[Any] = []
    roles: list[str] = []
    context = None
    if groups is not None:
        context = group_context(groups, enc, _encoder_input_dim(enc, front))
        modules, roles = build_group_modules(strategies or [], context)
        records.update({s.role: s.record for s in strategies or []})
    model = CTCModel(
        features=front,
        normalizer=norm,
        encoder=enc,
        vocab_size=vocab_size,
        augmentations=augs,
        dropout=dropout,
        group_modules=modules,
    )
    return Assembled(model, records, roles, context)


def _encoder_input_dim(encoder: Any, front: Any) -> int | None:
    """The feature dimension the encoder reads (``None`` when it takes waveforms)."""
    if getattr(encoder, "takes_waveform", False):
        return None
    return int(getattr(encoder, "input_dim", front.feature_dim))


def reassemble(
    records: Mapping[str, Provenance],
    vocab_size: int,
    *,
    source: str,
    groups: Mapping[str, Any] | None = None,
) -> CTCModel:
    """The inference model a checkpoint describes (no augmentations; weights not loaded).
    ``groups`` is the checkpoint's ``groups`` metadata (vocabulary and group module roles)."""
    parts = {
        role: rebuild_component(record, source=source)
        for role, record in records.items()
        if role in ("features", "normalizer", "encoder")
    }
    modules: list[Any] = []
    if groups is not None and groups.get("module_roles"):
        vocabulary = GroupVocabulary.from_dict(groups)
        context = group_context(
            vocabulary, parts["encoder"], _encoder_input_dim(parts["encoder"], parts["features"])
        )
        modules = list(
            rebuild_group_modules(records, groups["module_roles"], context, source=source)
        )
    return CTCModel(
        features=parts["features"],
        normalizer=parts.get("normalizer"),
        encoder=parts["encoder"],
        vocab_size=vocab_size,
        group_modules=modules,
    )
