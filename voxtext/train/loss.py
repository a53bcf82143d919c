"""What a task hands the trainer: a loss function returning ``LossOutput`` for one micro-batch.

The trainer never looks inside a batch except to move its tensors to the device
(``move_to_device``) and to read the item ids it logs when a step is skipped (``batch_ids``).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

Batch = Any
"""Whatever the task's collate function returns: a mapping, dataclass, tuple or tensor."""


@dataclass(frozen=True)
class LossOutput:
    """The loss of one micro-batch, as a sum and the count it is normalised by.

    ``loss_sum``: float32 scalar, the SUM of per-unit losses over the micro-batch (CTC loss
    summed over utterances, cross-entropy summed over target tokens, ...).
    ``units``: what the sum counts (utterances, frames, target tokens). The optimizer step uses
    (sum of ``loss_sum`` over the accumulated micro-batches of every rank) / (sum of ``units``),
    so variable-length batches and gradient accumulation weigh every unit equally.
    ``stats``: extra floats to average over the logging window and write to ``metrics.jsonl``
    (weighted by ``units``).
    """

    loss_sum: torch.Tensor
    units: torch.Tensor | int | float
    stats: Mapping[str, float] = field(default_factory=dict)

    def units_as_float(self) -> float:
        units = self.units
        value = float(units.detach().item()) if isinstance(units, torch.Tensor) else float(units)
        if not value > 0:
            raise ValueError(
                f"LossOutput.units must be > 0 (the count loss_sum is divided by), got {value}; "
                "make the loss function skip empty batches or count at least one unit"
            )
        return value


LossFn = Callable[[nn.Module, Batch, torch.Generator], LossOutput]
"""``loss_fn(model, batch, generator) -> LossOutput``.

``model`` is the module to call (wrapped in DistributedDataParallel on several processes: call
``model(...)`` once per micro-batch, not its submodules, so the gradients are synchronised);
``batch`` is already on the training device; ``generator`` is a CPU ``torch.Generator`` owned
by the trainer for the task's own randomness (augmentation), saved in checkpoints so a resumed
run draws the same numbers.
"""


@contextlib.contextmanager
def float32_loss() -> Iterator[None]:
    """Turn autocast off, so a loss is computed in float32 under bf16/fp16 training.

    CTC in particular must run in float32 (its log-sum-exp recursions lose whole words in
    half precision)::

        with float32_loss():
            loss = F.ctc_loss(log_probs.float(), targets, in_lens, tgt_lens, reduction="sum")

    Tensors made under autocast keep their dtype: cast the loss inputs with ``.float()``.
    """
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.autocast("cpu", enabled=False))
        if torch.cuda.is_available():
            stack.enter_context(torch.autocast("cuda", enabled=False))
        yield


def batch_ids(batch: Batch) -> list[str]:
    """The item ids a batch carries (``batch["ids"]`` or ``batch.ids``), else ``[]``."""
    ids = batch.get("ids") if isinstance(batch, Mapping) else getattr(batch, "ids", None)
    if ids is None or isinstance(ids, (str, bytes)):
        return [] if ids is None else [str(ids)]
    try:
        return [str(item) for item in ids]
    except TypeError:
        return []


def move_to_device(batch: Batch, device: torch.device, non_blocking: bool = False) -> Batch:
    """``batch`` with every tensor inside mappings, lists, tuples and dataclasses on ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return type(batch)(
            {k: move_to_device(v, device, non_blocking) for k, v in batch.items()}  # type: ignore[call-arg]
        )
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(move_to_device(v, device, non_blocking) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to_device(v, device, non_blocking) for v in batch)
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        changes = {
            f.name: move_to_device(getattr(batch, f.name), device, non_blocking)
            for f in dataclasses.fields(batch)
            if f.init
        }
        return dataclasses.replace(batch, **changes)
    return batch
