"""Mixed precision: which autocast dtype to use and whether gradients need a ``GradScaler``.

``auto`` means bf16 on CUDA (the range of float32, no loss scaling needed) and fp32 on CPU.
``fp16`` autocasts to float16 and scales the loss with ``torch.amp.GradScaler`` so small
gradients do not underflow. Whatever the precision, parameters, gradients and optimizer state
stay float32; the task computes its loss in float32 (see ``voxtext.train.float32_loss``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from voxtext.errors import ConfigError
from voxtext.train.config import Precision

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class PrecisionPlan:
    """The resolved precision: ``name`` is fp32, bf16 or fp16, never auto."""

    name: str
    device_type: str

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return _DTYPES.get(self.name)

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        """The context the forward pass and loss run in."""
        dtype = self.autocast_dtype
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=dtype)

    def grad_scaler(self) -> torch.amp.GradScaler | None:
        """A loss scaler for fp16, else None (bf16 and fp32 do not underflow)."""
        return torch.amp.GradScaler(self.device_type) if self.name == "fp16" else None


def resolve_precision(precision: Precision, device: torch.device) -> PrecisionPlan:
    """Turn the configured precision into a plan for ``device``, failing clearly if unsupported."""
    name = str(precision)
    if name == "auto":
        name = "bf16" if device.type == "cuda" else "fp32"
    on_gpu = device.type == "cuda" and torch.cuda.is_available()
    if name == "bf16" and on_gpu and not torch.cuda.is_bf16_supported():
        raise ConfigError(
            "train.precision: bf16 is not supported by this GPU; use precision='fp16' or 'fp32'"
        )
    return PrecisionPlan(name=name, device_type=device.type)
