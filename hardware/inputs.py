"""Graded inputs: choosing a network's input format and quantising real inputs to payloads.

An integer network takes a graded input u (a real value) as the unsigned
payload q = nearest(u·scale), rounding half-way values up (floor(u·scale + 1/2)),
in [0, 2^bits − 1] (docs/design.md §5a). One function, `network_inputs`,
prepares inputs for any network; every command that runs one calls it, so the
export's accuracy and calibration, `s5rf-run` (golden and Lava) and
`s5rf-report` see the same payloads.

A value the payload cannot carry (negative, or beyond 2^bits − 1 after scaling)
is an error naming the data, the sample, step and channel and the value,
unless the format clips: then it is clipped to the range and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from s5rf_neuro.errors import ConfigError, DataError, S5RFError
from s5rf_neuro.hardware.network import INPUT_BITS_MAX, InputFormat, IntNetwork, Network

DEFAULT_INPUT_BITS = 8
"""Payload width of graded inputs unless configured."""


@dataclass(frozen=True)
class InputOptions:
    """How to carry graded (real-valued) inputs, as the user configured it.

    bits: payload width (None: `DEFAULT_INPUT_BITS`); scale: payload units per
    input unit (None: chosen from the largest training value); clip: clip and
    count values beyond the payload range instead of refusing them. Any of them
    given for a model trained on spikes is an error.
    """

    bits: int | None = None
    scale: float | None = None
    clip: bool = False

    def __post_init__(self) -> None:
        bits, scale = self.bits, self.scale
        if bits is not None and (isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= INPUT_BITS_MAX):
            raise ConfigError(f"--input-bits must be an integer in 1..{INPUT_BITS_MAX}, got {bits!r}")
        if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float))
                                  or not math.isfinite(scale) or scale <= 0):
            raise ConfigError(f"--input-scale must be a positive finite number, got {scale!r}")
        if not isinstance(self.clip, bool):
            raise ConfigError(f"--input-clip must be true or false, got {self.clip!r}")

    @property
    def given(self) -> bool:
        """Whether any graded input option was set."""
        return self.bits is not None or self.scale is not None or self.clip


@dataclass(frozen=True)
class PreparedInputs:
    """Inputs ready for one network.

    values:  (N, T, H) what the network takes: spike counts unchanged, real values
             for a float network, unsigned integer payloads for an integer one
    clipped: how many input values were clipped to the payload range (0 unless the format clips)
    """

    values: np.ndarray
    clipped: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.values, np.ndarray) or self.values.ndim != 3:
            raise TypeError("values: expected an (N, T, H) array")
        if isinstance(self.clipped, bool) or not isinstance(self.clipped, (int, np.integer)) or self.clipped < 0:
            raise TypeError(f"clipped: expected a non-negative int, got {self.clipped!r}")
        object.__setattr__(self, "clipped", int(self.clipped))


def is_graded(inputs: np.ndarray) -> bool:
    """Whether a data set's inputs are graded (real values): a float dtype; spike data sets are integers."""
    return np.asarray(inputs).dtype.kind == "f"


def graded_format(train_inputs: np.ndarray | None, where: str, bits: int = DEFAULT_INPUT_BITS,
                  scale: float | None = None, clip: bool = False) -> InputFormat:
    """The graded input format of a network trained on `train_inputs` (N, T, H) real values.

    scale: payload units per input unit; by default (2^bits − 1) divided by the
    largest training value, so that the training data's range fills the payload.
    where: names the training data in errors (no positive value to scale, a
    value the payload cannot carry). Raises `DataError`.
    """
    if scale is None:
        if train_inputs is None:
            raise DataError(f"{where}: no training data to choose the graded input scale from; give a scale")
        values = np.asarray(train_inputs)
        peak = float(values.max(initial=0.0)) if values.size else 0.0
        if not np.isfinite(peak) or peak <= 0:
            raise DataError(f"{where}: the largest value is {peak:g}; graded inputs need a positive finite largest value")
        scale = ((1 << bits) - 1) / peak
    try:
        input_format = InputFormat(kind="graded", bits=bits, scale=scale, clip=clip)
    except S5RFError as err:
        raise DataError(f"{where}: {err}") from None
    if train_inputs is not None and not clip:
        quantise_inputs(train_inputs, input_format, where)
    return input_format


def quantise_inputs(inputs: np.ndarray, input_format: InputFormat, where: str) -> PreparedInputs:
    """The payloads q = floor(u·scale + 1/2) of real inputs u (N, T, H), as the smallest unsigned dtype.

    where: names the data in errors. A value that is not finite, or (unless the
    format clips) negative or beyond 2^bits − 1 once scaled, raises `DataError`
    naming the sample, step, channel and value.
    """
    if not input_format.graded:
        raise TypeError("quantise_inputs: the input format is not graded")
    values = np.asarray(inputs)
    if values.ndim != 3:
        raise DataError(f"{where}: inputs must have shape (samples, time steps, channels), got {values.shape}")
    if values.dtype.kind not in "biuf":
        raise DataError(f"{where}: graded inputs must be real numbers, got dtype {values.dtype}")
    scaled = np.floor(values.astype(np.float64) * input_format.scale + 0.5)
    bad = ~np.isfinite(scaled)
    if bad.any():
        raise DataError(f"{where}: {_position(bad)} holds {values[_first(bad)]}, which is not a finite number")
    top = input_format.payload_max
    outside = (values < 0) | (scaled > top)
    clipped = int(np.count_nonzero(outside))
    if clipped and not input_format.clip:
        first = _first(outside)
        value = float(values[first])
        reason = ("negative, but graded inputs are unsigned payloads" if value < 0 else
                  f"which scales to {scaled[first]:.0f}, beyond the {input_format.bits}-bit payload at scale "
                  f"{input_format.scale:.6g}")
        raise DataError(f"{where}: {_position(outside)} holds {value:.6g}, {reason} (payload range 0..{top}); "
                        "export with --input-clip to clip such values")
    if clipped:
        np.clip(scaled, 0, top, out=scaled)
    dtype = np.uint8 if input_format.bits <= 8 else np.uint16 if input_format.bits <= 16 else np.uint32
    return PreparedInputs(scaled.astype(dtype), clipped)


def network_inputs(network: Network, inputs: np.ndarray, where: str) -> PreparedInputs:
    """`inputs` (N, T, H) as `network` takes them: quantised for an integer network with graded
    inputs (`quantise_inputs`), else unchanged (spike counts, or real values for a float network)."""
    if isinstance(network, IntNetwork) and network.input_format.graded:
        return quantise_inputs(inputs, network.input_format, where)
    return PreparedInputs(np.asarray(inputs))


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _position(mask: np.ndarray) -> str:
    sample, step, channel = _first(mask)
    return f"sample {sample}, step {step}, channel {channel}"
