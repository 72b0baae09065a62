"""torch.distributed set-up for data-parallel training launched by `torchrun`.

Without torchrun's environment (WORLD_SIZE unset or 1) everything runs in one
process and the helpers are no-ops. `launch_environment` reads and checks
torchrun's variables (WORLD_SIZE, RANK, LOCAL_RANK) once, for everything else.
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


@dataclass(frozen=True)
class LaunchEnvironment:
    """torchrun's description of this process: rank of world_size processes, local_rank on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    def __post_init__(self) -> None:
        if self.world_size < 1:
            raise ConfigError(f"environment variable WORLD_SIZE: must be at least 1, got {self.world_size}")
        for name in ("rank", "local_rank"):
            value = getattr(self, name)
            if not 0 <= value < self.world_size:
                raise ConfigError(f"environment variable {name.upper()}: must be in 0..{self.world_size - 1} "
                                  f"(WORLD_SIZE is {self.world_size}), got {value}")


def launch_environment() -> LaunchEnvironment:
    """torchrun's WORLD_SIZE, RANK and LOCAL_RANK (each default: one process, rank 0), checked;
    ConfigError naming the variable for one that is not a whole number or out of range."""
    values = {}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        text = os.environ.get(name, "1" if name == "WORLD_SIZE" else "0")
        try:
            values[name.lower()] = int(text)
        except ValueError:
            raise ConfigError(f"environment variable {name}: expected a whole number, got {text!r}") from None
    return LaunchEnvironment(**values)


def resolve_device(name: str) -> torch.device:
    """`name` ("cpu", "cuda", "cuda:1") as a device; ConfigError for another kind of device, or when CUDA
    is asked for but absent."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device {name!r}: unknown device (cpu, cuda or cuda:N)") from None
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"device {name!r}: only cpu and cuda devices can run the model")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r}: CUDA is not available on this machine (use cpu)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"device {name!r}: this machine has {torch.cuda.device_count()} GPU(s), "
                          f"cuda:0..cuda:{torch.cuda.device_count() - 1}")
    return device


def setup(device_name: str = "cpu") -> DistContext:
    """Join the process group when launched by torchrun (gloo on CPU, nccl on GPU).

    On CUDA each process uses the GPU of its LOCAL_RANK.
    """
    device = resolve_device(device_name)
    launch = launch_environment()
    if launch.world_size <= 1:
        return DistContext(0, 1, device)
    if device.type == "cuda":
        device = torch.device("cuda", launch.local_rank)
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
