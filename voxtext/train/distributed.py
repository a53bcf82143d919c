"""Several processes through ``torchrun``: process group, DDP wrapping and collectives.

``torchrun --nproc_per_node N script.py`` sets RANK, WORLD_SIZE and LOCAL_RANK; when
WORLD_SIZE > 1 ``init_distributed`` joins the process group (nccl on CUDA, gloo on CPU) and
pins each process to GPU ``LOCAL_RANK``. Every helper here is a no-op in a single process, so
the trainer calls them unconditionally. Only rank 0 writes checkpoints and logs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from voxtext.errors import ConfigError


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands: its rank, the number of processes, and its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def current_rank_and_world() -> tuple[int, int]:
    """(rank, world size) of the running process group, or from torchrun's env, else (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def resolve_device(device: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> this process's GPU when CUDA is present, else the CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                "train.device: 'cuda' was asked for but torch sees no GPU; use device='cpu'"
            )
        return torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
    if device != "cpu":
        raise ConfigError(f"train.device: {device!r} is not one of 'auto', 'cpu', 'cuda'")
    return torch.device("cpu")


def init_distributed(device: str = "auto") -> DistributedContext:
    """Join the process group torchrun describes (idempotent) and choose this rank's device."""
    rank, world_size = current_rank_and_world()
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    resolved = resolve_device(device, local_rank)
    if world_size > 1 and not dist.is_initialized():
        if not dist.is_available():
            raise ConfigError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
        if resolved.type == "cuda":
            torch.cuda.set_device(resolved)
        backend = "nccl" if resolved.type == "cuda" else "gloo"
        kwargs: dict[str, Any] = {"device_id": resolved} if backend == "nccl" else {}
        dist.init_process_group(backend=backend, **kwargs)
        rank, world_size = dist.get_rank(), dist.get_world_size()
    return DistributedContext(rank, world_size, local_rank, resolved)


def shutdown_distributed() -> None:
    """Leave the process group (call once at the end of a torchrun script)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap_model(
    model: nn.Module, ctx: DistributedContext, *, find_unused_parameters: bool = False
) -> nn.Module:
    """``model`` in DistributedDataParallel when there are several processes, else as is.

    DDP broadcasts rank 0's parameters and buffers at wrapping, so every rank starts equal.
    """
    if not ctx.is_distributed:
        return model
    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(
        model, device_ids=device_ids, find_unused_parameters=find_unused_parameters
    )


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (what checkpoints and evaluation use)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def all_reduce_sum(values: torch.Tensor, ctx: DistributedContext) -> torch.Tensor:
    """Sum ``values`` over every rank (returns a new tensor; a copy in a single process)."""
    out = values.detach().clone()
    if ctx.is_distributed:
        # gloo reduces CPU tensors, nccl only CUDA ones: the context's device fits its backend.
        out = out.to(ctx.device)
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


def barrier(ctx: DistributedContext) -> None:
    if ctx.is_distributed:
        dist.barrier()


def broadcast_object(obj: Any, ctx: DistributedContext, src: int = 0) -> Any:
    """Rank ``src``'s ``obj`` on every rank (picklable values only)."""
    if not ctx.is_distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def gather_objects(obj: Any, ctx: DistributedContext) -> list[Any]:
    """Every rank's ``obj``, in rank order, on every rank."""
    if not ctx.is_distributed:
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out
