"""torch.distributed set-up for data-parallel training launched by `torchrun`.

Without torchrun's environment (WORLD_SIZE unset or 1) everything runs in one
process and the helpers are no-ops.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from s5rf_neuro.errors import ConfigError


@dataclass(frozen=True)
class DistContext:
    """Where this process sits: rank of world_size processes, and its torch device."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str) -> torch.device:
    """`name` ("cpu", "cuda", "cuda:1") as a device, or ConfigError when CUDA is asked for but absent."""
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r}: CUDA is not available on this machine")
    return device


def setup(device_name: str = "cpu") -> DistContext:
    """Join the process group when launched by torchrun (gloo on CPU, nccl on GPU).

    On CUDA each process uses the GPU of its LOCAL_RANK.
    """
    device = resolve_device(device_name)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(0, 1, device)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(dist.get_rank(), dist.get_world_size(), device)


def teardown(ctx: DistContext) -> None:
    """Leave the process group (after a barrier, so no rank exits while others still talk)."""
    if ctx.active and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def all_reduce_sum(value: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    """Sum of `value` over all ranks (in place; returned for convenience)."""
    if ctx.active:
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value
