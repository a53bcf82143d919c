"""Mixed precision: which autocast dtype to use and whether gradients need a ``GradScaler``.

``auto`` means bf16 on CUDA (the range of float32, no loss scaling needed). On a CPU it means
bf16 only where the task vouches for it (``cpu_bf16``: its smoke test reaches fp32's accuracy
in bf16) and the CPU computes bf16 natively (AVX512-BF16 or AMX; elsewhere bf16 is emulated
and slower); otherwise fp32. When auto picks bf16 on a CPU, the trainer's dev evaluation still
runs in float32, like inference from the checkpoint: the dev metric that selects a checkpoint
is then the one its reloaded model reproduces (in bf16 a tone-corpus run chose its checkpoint
by a dev CER of 0.520 that fp32 inference from it scored 0.500).
``fp16`` autocasts to float16 and scales the loss with ``torch.amp.GradScaler`` so small
gradients do not underflow. Whatever the precision, parameters, gradients and optimizer state
stay float32; the task computes its loss in float32 (see ``voxtext.train.float32_loss``).
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from voxtext.errors import ConfigError
from voxtext.train.config import Precision

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class PrecisionPlan:
    """The resolved precision: ``name`` is fp32, bf16 or fp16, never auto."""

    name: str
    device_type: str
    # False: evaluation runs in float32, as inference does (auto's bf16 on a CPU: the dev
    # metric that selects a checkpoint must be the one the reloaded model reproduces)
    evaluate_in_training_precision: bool = True

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return _DTYPES.get(self.name)

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        """The context the forward pass and loss run in."""
        dtype = self.autocast_dtype
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=dtype)

    def evaluation_autocast(self) -> contextlib.AbstractContextManager[object]:
        """The context the trainer's dev evaluation runs in."""
        if self.evaluate_in_training_precision:
            return self.autocast()
        return contextlib.nullcontext()

    def grad_scaler(self) -> torch.amp.GradScaler | None:
        """A loss scaler for fp16, else None (bf16 and fp32 do not underflow)."""
        return torch.amp.GradScaler(self.device_type) if self.name == "fp16" else None


def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bf16 instructions (the ``avx512_bf16`` or ``amx_bf16`` flag)."""
    return bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})


def machine_description() -> dict[str, Any]:
    """The machine a result was computed on, for the record beside it: numeric kernels differ
    by instruction set (CTranslate2's int8 and oneDNN's bf16 give other outputs on AVX2 than on
    AVX-512), so two audits compare only with this in hand. ``cpu``: the model name;
    ``instruction_set``: the vector ISA torch dispatches to (``AVX2``, ``AVX512``);
    ``native_bf16``: bf16 instructions present; ``torch_threads``; ``cuda``: the GPU or None."""
    import platform

    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": _cpu_model() or platform.processor() or platform.machine(),
        "instruction_set": torch.backends.cpu.get_cpu_capability(),
        "native_bf16": cpu_has_native_bf16(),
        "torch_threads": torch.get_num_threads(),
        "cuda": cuda,
    }


def _cpu_model() -> str | None:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return None


@functools.cache
def _cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:  # not Linux: no way to tell here, so no bf16 by default
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def resolve_precision(
    precision: Precision, device: torch.device, *, cpu_bf16: bool = False
) -> PrecisionPlan:
    """Turn the configured precision into a plan for ``device``, failing clearly if unsupported.

    ``cpu_bf16``: the task's say that ``auto`` may train in bf16 on a CPU with native bf16.
    """
    name = str(precision)
    cpu_auto_bf16 = False
    if name == "auto":
        if device.type == "cuda":
            name = "bf16"
        else:
            cpu_auto_bf16 = cpu_bf16 and cpu_has_native_bf16()
            name = "bf16" if cpu_auto_bf16 else "fp32"
    on_gpu = device.type == "cuda" and torch.cuda.is_available()
    if name == "bf16" and on_gpu and not torch.cuda.is_bf16_supported():
        raise ConfigError(
            "train.precision: bf16 is not supported by this GPU; use precision='fp16' or 'fp32'"
        )
    return PrecisionPlan(
        name=name, device_type=device.type, evaluate_in_training_precision=not cpu_auto_bf16
    )
