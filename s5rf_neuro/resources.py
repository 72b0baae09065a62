"""The memory a request needs, estimated before anything is allocated, and the refusal of what cannot fit.

A configuration with millions of neurons, a binning with millions of bins or a
`.nir` that declares a huge weight matrix would otherwise end in a MemoryError
(or in the machine swapping) long after the command started. Each estimate
here is a lower bound of what the work will allocate, in bytes; `require`
compares it with the memory the machine has available now and refuses, in one
line with both figures, what cannot fit. Standard library only (plus the
config type), so the estimates are cheap even for absurd sizes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from s5rf_neuro.errors import S5RFError

FLOAT_BYTES = 8
"""Bytes per stored parameter, float64 (a float32 model needs half)."""
ACTIVATION_BYTES = 40
"""Bytes per neuron per time step per sample of a forward pass: the complex state and drive (float64 pairs)
and the spike."""
TRAINING_FACTOR = 4
"""Parameters while training: the weights, their gradients and AdamW's two moments; activations are kept
for the backward pass, which at least doubles them."""
LAYER_OVERHEAD_BYTES = 16 * 1024
"""Python and torch objects of one layer module, whatever its size."""


class ResourceError(S5RFError):
    """A request that needs more memory than the machine has available."""


@dataclass(frozen=True)
class MemoryNeed:
    """What a piece of work will allocate: `what` names it for the user ("the rasters of shd_test.h5 ...")."""

    what: str
    bytes: int

    def __post_init__(self) -> None:
        if not isinstance(self.bytes, int) or self.bytes < 0:
            raise ValueError(f"MemoryNeed.bytes: expected a whole number of bytes >= 0, got {self.bytes!r}")


def available_memory() -> int | None:
    """Bytes the machine can give a new allocation now: MemAvailable of /proc/meminfo, else the free
    physical pages; None when neither can be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return None


def format_bytes(count: float) -> str:
    """`count` bytes in decimal units with three significant digits ("2.65 PB")."""
    if count < 1000:
        return f"{int(count)} B"
    units = ("kB", "MB", "GB", "TB", "PB")
    power = min(int(math.log10(float(f"{count:.3g}")) // 3), len(units))
    return f"{count / 1000**power:.3g} {units[power - 1]}"


def require(need: MemoryNeed, error: type[S5RFError] = ResourceError, available: int | None = None) -> None:
    """Raise `error` naming `need.what`, its size and the machine's available memory when it cannot fit.

    available: the bytes to compare with (default: `available_memory()`; nothing is refused when unknown).
    """
    available = available_memory() if available is None else available
    if available is not None and need.bytes > available:
        raise error(f"{need.what} needs {format_bytes(need.bytes)} of memory, more than the "
                    f"{format_bytes(available)} this machine has available")


def model_bytes(input_dim: int, output_dim: int, num_neurons: int, num_layers: int, *, mixing: bool = False,
                time_steps: int = 0, batch: int = 0, training: bool = False) -> int:
    """Bytes an S5-RF classifier of these sizes needs: its parameters (inputs H, classes O, P neurons in each
    of L layers; `mixing`: the P×P complex mixing of a zoh first layer) and the activations of a batch of
    `batch` sequences of `time_steps` steps; `training` adds gradients, optimiser moments and the saved
    activations (`TRAINING_FACTOR`)."""
    p = num_neurons
    weights = 2 * p * input_dim + (num_layers - 1) * 2 * p * p + num_layers * 3 * p + output_dim * (p + 1)
    if mixing:
        weights += 2 * p * p
    factor = TRAINING_FACTOR if training else 1
    activations = batch * time_steps * num_layers * p * ACTIVATION_BYTES
    return factor * (weights * FLOAT_BYTES + activations) + num_layers * LAYER_OVERHEAD_BYTES


def raster_bytes(samples: int, bins: int, channels: int) -> int:
    """Bytes of binary rasters (samples, bins, channels) of uint8."""
    return samples * bins * channels
