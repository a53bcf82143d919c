"""Training losses of the text tasks, as ``LossFn``s for the core trainer.

Each task's batch is first *prepared* with the trainer's generator (text augmentation
re-encodes the edited texts; masked-LM draws its masks anew every time, RoBERTa's dynamic
masking), then scored: cross-entropy with label smoothing for classes and tags, binary
cross-entropy for multi-label, cross-entropy over masked positions for masked-LM. Losses are
sums with their unit counts (texts, scored tags, masked tokens), so the trainer weighs every
unit alike across batches of different sizes. FGM wraps any of them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from voxtext.protocols import TextTokenizer
from voxtext.text.config import FGMConfig, MLMConfig, TaskKind
from voxtext.text.dataset import IGNORE
from voxtext.train import LossOutput, float32_loss
from voxtext.train.distributed import unwrap_model

Batch = dict[str, Any]


@dataclass(frozen=True)
class TaskLoss:
    """How one task's batches are scored: its kind, label set size and loss weight."""

    kind: TaskKind
    multi_label: bool = False
    weight: float = 1.0


class TextLoss:
    """``loss_fn(model, batch, generator)`` for every task a model trains (``batch["task"]``)."""

    def __init__(
        self,
        tasks: Mapping[str, TaskLoss],
        tokenizer: TextTokenizer,
        *,
        label_smoothing: float = 0.0,
        augmentations: Sequence[Callable[[str, random.Random], str]] = (),
        mlm: MLMConfig | None = None,
        fgm: FGMConfig | None = None,
    ) -> None:
        self.tasks, self.tokenizer = dict(tasks), tokenizer
        self.label_smoothing, self.augmentations = label_smoothing, list(augmentations)
        self.mlm, self.fgm = mlm or MLMConfig(), fgm

    def __call__(self, model: nn.Module, batch: Batch, generator: torch.Generator) -> LossOutput:
        task = self.tasks[batch["task"]]
        batch = self.prepare(batch, task, generator)
        if self.fgm is None:
            return self.score(model, batch, task)
        return self._with_fgm(model, batch, task)

    # -- preparing a batch ------------------------------------------------------------------
    def prepare(self, batch: Batch, task: TaskLoss, generator: torch.Generator) -> Batch:
        if self.augmentations and task.kind == "text-classification":
            batch = self._augmented(batch, generator)
        if task.kind == "masked-lm":
            batch = mask_tokens(batch, self.tokenizer, self.mlm, generator)
        return batch

    def _augmented(self, batch: Batch, generator: torch.Generator) -> Batch:
        """The batch with its texts edited by the augmentations and encoded again."""
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        rng = random.Random(seed)
        texts = []
        for text in batch["texts"]:
            for augment in self.augmentations:
                text = augment(text, rng)
            texts.append(text)
        ids = self.tokenizer.encode_batch(texts)
        lengths = torch.tensor([len(i) for i in ids], dtype=torch.long)
        input_ids = torch.full((len(ids), int(lengths.max())), self.tokenizer.pad_id)
        for row, row_ids in enumerate(ids):
            input_ids[row, : len(row_ids)] = torch.tensor(row_ids)
        device = batch["input_ids"].device
        return {
            **batch,
            "input_ids": input_ids.to(device),
            "lengths": lengths.to(device),
            "texts": texts,
        }

    # -- scoring ----------------------------------------------------------------------------
    def score(self, model: nn.Module, batch: Batch, task: TaskLoss) -> LossOutput:
        if task.kind == "masked-lm":
            positions = batch["mlm_labels"] != IGNORE
            logits = model(batch["input_ids"], batch["lengths"], batch["task"], positions=positions)
            targets = batch["mlm_labels"][positions]
            output = _cross_entropy(logits, targets, 0.0)
        else:
            logits = model(batch["input_ids"], batch["lengths"], batch["task"])
            if task.multi_label:
                output = _binary_cross_entropy(logits, batch["labels"], self.label_smoothing)
            elif task.kind == "token-classification":
                scored = batch["labels"] != IGNORE
                output = _cross_entropy(
                    logits[scored], batch["labels"][scored], self.label_smoothing
                )
            else:
                output = _cross_entropy(logits, batch["labels"], self.label_smoothing)
        if task.weight != 1.0:
            output = LossOutput(output.loss_sum * task.weight, output.units, output.stats)
        return output

    def _with_fgm(self, model: nn.Module, batch: Batch, task: TaskLoss) -> LossOutput:
        """FGM: the clean loss plus the loss with the embedding outputs moved by
        ``epsilon * g / ||g||`` (``g`` the clean loss's gradient there, per text)."""
        assert self.fgm is not None
        embedding = unwrap_model(model).embeddings()  # type: ignore[operator]
        captured: list[torch.Tensor] = []

        def capture(_module: nn.Module, _inputs: Any, out: torch.Tensor) -> torch.Tensor:
            if not out.requires_grad:  # a frozen table (freeze_embeddings, LoRA): track it here
                out = out.detach().requires_grad_()
            captured.append(out)
            return out

        hook = embedding.register_forward_hook(capture)
        try:
            clean = self.score(model, batch, task)
        finally:
            hook.remove()
        (grad,) = torch.autograd.grad(clean.loss_sum, captured[0], retain_graph=True)
        norm = grad.float().flatten(1).norm(dim=1).clamp_min(1e-12)
        delta = (self.fgm.epsilon * grad.float() / norm.view(-1, *[1] * (grad.dim() - 1))).detach()
        hook = embedding.register_forward_hook(lambda _m, _i, out: out + delta.to(out.dtype))
        try:
            adversarial = self.score(model, batch, task)
        finally:
            hook.remove()
        stats = {
            **clean.stats,
            "adv_loss": float(adversarial.loss_sum.detach()) / clean.units_as_float(),
        }
        return LossOutput(clean.loss_sum + adversarial.loss_sum, clean.units, stats)


def _cross_entropy(logits: torch.Tensor, targets: torch.Tensor, smoothing: float) -> LossOutput:
    with float32_loss():
        loss = F.cross_entropy(logits.float(), targets, reduction="sum", label_smoothing=smoothing)
    count = max(int(targets.numel()), 1)
    correct = float((logits.detach().argmax(-1) == targets).sum())
    return LossOutput(loss, count, {"train_accuracy": correct / count})


def _binary_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, smoothing: float
) -> LossOutput:
    """Per-text mean over the labels, summed over texts; smoothing pulls targets to 0.5."""
    smoothed = targets * (1.0 - smoothing) + 0.5 * smoothing
    with float32_loss():
        per_label = F.binary_cross_entropy_with_logits(logits.float(), smoothed, reduction="none")
    exact = float(((logits.detach() > 0).float() == targets).all(dim=1).float().mean())
    return LossOutput(per_label.mean(dim=1).sum(), len(targets), {"train_exact_match": exact})


def mask_tokens(
    batch: Batch, tokenizer: TextTokenizer, config: MLMConfig, generator: torch.Generator
) -> Batch:
    """BERT masking of the non-special, non-padding tokens: ``mlm_labels`` holds the original
    id where a token was chosen and -100 elsewhere; every text gets at least one."""
    if tokenizer.mask_id is None:
        raise ValueError("the encoder's tokenizer has no mask token; it cannot pretrain as MLM")
    input_ids = batch["input_ids"].cpu()
    width = input_ids.shape[1]
    valid = torch.arange(width)[None, :] < batch["lengths"].cpu()[:, None]
    special = torch.tensor(sorted(tokenizer.special_ids), dtype=torch.long)
    candidates = valid & ~torch.isin(input_ids, special)
    draw = torch.rand(input_ids.shape, generator=generator)
    chosen = candidates & (draw < config.mask_probability)
    # guarantee one masked token per text that has any candidate (short texts)
    fallback = torch.where(candidates, draw, torch.full_like(draw, 2.0)).argmin(dim=1)
    none = ~chosen.any(dim=1) & candidates.any(dim=1)
    chosen[none, fallback[none]] = True
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE))
    action = torch.rand(input_ids.shape, generator=generator)
    to_mask = chosen & (action < config.replace_with_mask)
    to_random = chosen & ~to_mask & (action < config.replace_with_mask + config.replace_with_random)
    random_ids = torch.randint(0, tokenizer.vocab_size, input_ids.shape, generator=generator)
    masked = torch.where(to_mask, torch.full_like(input_ids, tokenizer.mask_id), input_ids)
    masked = torch.where(to_random, random_ids, masked)
    device = batch["input_ids"].device
    return {**batch, "input_ids": masked.to(device), "mlm_labels": labels.to(device)}
