"""``TextModel``: one text encoder shared by one or more heads (one per task), plus the ways a
run changes which weights train: LoRA adapters (peft) and a frozen embedding table.

``model(input_ids, lengths, task="main")`` returns the task head's logits: ``(batch, labels)``
for sequence heads, ``(batch, tokens, labels)`` for token heads; a masked-LM head also takes
``positions`` (bool ``(batch, tokens)``) and then returns logits of those positions only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from voxtext.errors import ConfigError
from voxtext.text.config import LoraConfig

LORA_MARK = "lora_"


class TextModel(nn.Module):
    def __init__(self, encoder: nn.Module, heads: Mapping[str, nn.Module]) -> None:
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict(dict(heads))

    def forward(
        self,
        input_ids: torch.Tensor,
        lengths: torch.Tensor,
        task: str = "main",
        positions: torch.Tensor | None = None,
    ) -> torch.Tensor:
        hidden, lengths = self.encoder(input_ids, lengths)
        head = self.heads[task]
        if positions is not None:
            return head(hidden, lengths, positions=positions)
        return head(hidden, lengths)

    def embeddings(self) -> nn.Embedding:
        """The encoder's token embedding table."""
        embedding: nn.Embedding = self.encoder.input_embeddings()  # type: ignore[operator]
        return embedding


def add_lora(encoder: nn.Module, config: LoraConfig) -> dict[str, Any]:
    """Inject LoRA adapters into ``encoder`` (in place) and freeze everything else of it;
    returns the settings a checkpoint keeps to inject the same adapters again."""
    from peft import LoraConfig as PeftLoraConfig
    from peft import inject_adapter_in_model

    targets = tuple(config.target_modules) or tuple(getattr(encoder, "lora_targets", ()))
    if not targets:
        raise ConfigError(
            "lora.target_modules: this encoder names no default LoRA targets; list the "
            'module-name suffixes to adapt, e.g. target_modules = ["query", "value"]'
        )
    names = [name for name, _ in encoder.named_modules()]
    missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n in names)]
    if missing:
        linear = sorted(
            {n.rsplit(".", 1)[-1] for n, m in encoder.named_modules() if isinstance(m, nn.Linear)}
        )
        raise ConfigError(
            f"lora.target_modules: no module of the encoder is named {missing}; its linear "
            f"layers are named {linear}"
        )
    settings: dict[str, Any] = {
        "r": config.r,
        "lora_alpha": config.alpha,
        "lora_dropout": config.dropout,
        "target_modules": list(targets),
    }
    inject_adapter_in_model(PeftLoraConfig(**settings), encoder)
    for name, parameter in encoder.named_parameters():
        parameter.requires_grad = LORA_MARK in name
    return settings


def restore_lora(encoder: nn.Module, settings: Mapping[str, Any]) -> None:
    """Inject the adapters a checkpoint was trained with, before loading its weights."""
    from peft import LoraConfig as PeftLoraConfig
    from peft import inject_adapter_in_model

    inject_adapter_in_model(PeftLoraConfig(**dict(settings)), encoder)


def freeze_embeddings(model: TextModel) -> None:
    model.embeddings().weight.requires_grad = False


def parameter_counts(model: nn.Module) -> dict[str, int]:
    """Trainable and total parameters (shared tensors counted once)."""
    seen: dict[int, nn.Parameter] = {id(p): p for p in model.parameters()}
    total = sum(p.numel() for p in seen.values())
    trainable = sum(p.numel() for p in seen.values() if p.requires_grad)
    return {"trainable": trainable, "total": total}
