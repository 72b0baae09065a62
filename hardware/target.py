"""Hardware target specifications: every number format and resource limit.

A `TargetSpec` is the single source of truth for the fixed-point arithmetic.
The quantiser produces integers that fit it, the golden simulator and the Lava
`fixed_pt` process models execute exactly it, and the NIR metadata records it.

Sources of the `loihi2` figures:

- Neuron state of 24 bits (signed), 12-bit decay constants with 12 fractional
  bits, synaptic weights with an 8-bit signed mantissa and a shared exponent
  per connection: Lava's Loihi-2 bit-accurate process models
  (`lava.proc.dense`, `lava.proc.lif`, `lava.proc.rf` in lava-nc 0.10) and
  Intel's Loihi 2 brief, "Taking Neuromorphic Computing to the Next Level with
  Loihi 2" (Intel Labs, 2021).
- Weight exponent range [-8, 7]: the Loihi synapse format, Davies et al.,
  "Loihi: A Neuromorphic Manycore Processor with On-Chip Learning",
  IEEE Micro 38(1), 2018.
- Graded spikes with up to 24-bit payload (a mixing stage's state payloads
  are taken as signed two's complement numbers of `state_payload_bits`); 128 neuro cores per chip; up to
  1 M neurons and 120 M synapses per chip: Intel Loihi 2 brief (2021). The
  per-core limits below are those chip totals divided by 128 cores.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from s5rf_neuro.errors import TargetError
from s5rf_neuro.records import record_from_dict

EXACT_SUM_BITS = 51
"""Largest state_bits + decay_bits: a rotated state (below 2^(state_bits + decay_bits) in units of
2^-decay_bits, since |λ̄_int| < 1) plus its rounding offset then stays below the 2^53 that float64
holds exactly, which the neuron step (`hardware.neuron`) relies on."""
DECAY_ROUNDINGS = ("floor", "nearest")
"""The ways the decay shift may round (a process Var holds the index into this tuple)."""


@dataclass(frozen=True)
class TargetSpec:
    """Number formats and limits of one execution target.

    `quantized=False` (the `float` target) means no quantisation: the network
    runs in float64 and the integer fields are unused.
    """

    name: str
    quantized: bool
    weight_bits: int = 8
    """Signed weight mantissa bits, sign included: mantissa in [-2^(b-1), 2^(b-1)-1]."""
    weight_exp_min: int = -8
    """Smallest shared weight exponent of a connection (activation = (W·u)·2^exp)."""
    weight_exp_max: int = 7
    """Largest shared weight exponent of a connection."""
    state_bits: int = 24
    """Signed neuron state bits; state saturates at [-2^(b-1), 2^(b-1)-1]."""
    decay_bits: int = 12
    """Fractional bits of the decay constants c, s: λ̄ ≈ (c + i·s)/2^decay_bits."""
    decay_rounding: str = "nearest"
    """How `(c·re − s·im) >> decay_bits` rounds: "nearest" adds 2^(decay_bits-1) before the
    arithmetic shift (ties towards +inf); "floor" is the plain arithmetic shift."""
    threshold_bits: int = 24
    """Unsigned bits of the per-neuron threshold, in state LSBs."""
    spike_payload_bits: int = 8
    """Unsigned bits of a graded spike (skip outputs carry values 0..L)."""
    neurons_per_core: int = 8192
    """Neurons one neuro core holds (1 M neurons per chip / 128 cores)."""
    synapses_per_core: int = 937_500
    """Synapses one neuro core holds (120 M synapses per chip / 128 cores)."""
    cores_per_chip: int = 128
    """Neuro cores per chip."""
    state_payload_bits: int = 16
    """Signed (two's complement) bits of the graded spike with which a state neuron of a mixing stage
    sends Re x or Im x: the top bits of the state, `hardware.neuron.state_payload` (a payload wider
    than the state carries the whole state)."""

    def __post_init__(self) -> None:
        """Refuse formats that no arithmetic here can execute (one `TargetError` naming the field).

        The bounds keep the neuron step exact (`EXACT_SUM_BITS`).
        """
        ranges = {
            "weight_bits": (2, 8),
            "state_bits": (2, 32),
            "decay_bits": (1, 24),
            "threshold_bits": (1, 32),
            "spike_payload_bits": (1, 24),
            "weight_exp_min": (-32, 32),
            "weight_exp_max": (-32, 32),
            "neurons_per_core": (1, 1 << 40),
            "synapses_per_core": (1, 1 << 40),
            "cores_per_chip": (1, 1 << 20),
            "state_payload_bits": (2, 24),
        }
        if not isinstance(self.name, str) or not self.name:
            raise TargetError(f"target name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.quantized, bool):
            raise TargetError(f"target {self.name}: quantized must be true or false, got {self.quantized!r}")
        for name, (low, high) in ranges.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise TargetError(f"target {self.name}: {name} must be an integer in {low}..{high}, got {value!r}")
        if self.weight_exp_min > self.weight_exp_max:
            raise TargetError(
                f"target {self.name}: weight_exp_min {self.weight_exp_min} exceeds weight_exp_max {self.weight_exp_max}"
            )
        if self.state_bits + self.decay_bits > EXACT_SUM_BITS:
            raise TargetError(
                f"target {self.name}: state_bits + decay_bits = {self.state_bits + self.decay_bits} exceeds "
                f"{EXACT_SUM_BITS}, beyond the exact float64 arithmetic of the neuron step"
            )
        if self.decay_rounding not in DECAY_ROUNDINGS:
            raise TargetError(
                f"target {self.name}: decay_rounding must be one of {', '.join(DECAY_ROUNDINGS)}, got {self.decay_rounding!r}"
            )

    @property
    def state_min(self) -> int:
        """Smallest representable neuron state (LSBs)."""
        return -(1 << (self.state_bits - 1))

    @property
    def state_max(self) -> int:
        """Largest representable neuron state (LSBs)."""
        return (1 << (self.state_bits - 1)) - 1

    @property
    def weight_min(self) -> int:
        """Smallest weight mantissa."""
        return -(1 << (self.weight_bits - 1))

    @property
    def weight_max(self) -> int:
        """Largest weight mantissa."""
        return (1 << (self.weight_bits - 1)) - 1

    @property
    def threshold_max(self) -> int:
        """Largest threshold (state LSBs)."""
        return (1 << self.threshold_bits) - 1

    @property
    def decay_one(self) -> int:
        """The integer that represents a decay of 1.0."""
        return 1 << self.decay_bits

    @property
    def payload_max(self) -> int:
        """Largest value a graded spike carries."""
        return (1 << self.spike_payload_bits) - 1

    @property
    def state_payload_shift(self) -> int:
        """Bits a state loses on its way into a state payload: state_bits − state_payload_bits, or 0."""
        return max(0, self.state_bits - self.state_payload_bits)

    @property
    def state_payload_max(self) -> int:
        """Largest magnitude of a state payload (its most negative value; the largest is one less)."""
        return 1 << (min(self.state_payload_bits, self.state_bits) - 1)

    def check_weights(self, owner: str, mantissas: np.ndarray, exponent: int, kind: str = "") -> None:
        """Refuse a connection whose mantissas or exponent the target cannot hold.

        owner: what the connection feeds ("layer 0", "readout"); kind: which of
        its matrices ("real", "imaginary"), or "" for the only one. Raises
        `TargetError` naming both and the limit.
        """
        what = f"{owner}: {kind + ' ' if kind else ''}weight"
        if mantissas.size and (mantissas.min() < self.weight_min or mantissas.max() > self.weight_max):
            raise TargetError(
                f"{what} mantissas span [{mantissas.min()}, {mantissas.max()}], beyond the {self.weight_bits}-bit "
                f"range [{self.weight_min}, {self.weight_max}] of target {self.name}"
            )
        if not self.weight_exp_min <= exponent <= self.weight_exp_max:
            raise TargetError(
                f"{what} exponent {exponent} outside the limit [{self.weight_exp_min}, {self.weight_exp_max}] "
                f"of target {self.name}"
            )

    def check_payload(self, owner: str, peak: float) -> None:
        """Refuse graded spikes of `owner` that can reach `peak`, beyond the spike payload."""
        if peak > self.payload_max:
            raise TargetError(
                f"{owner} can reach {peak:g}, more than the {self.spike_payload_bits}-bit spike payload "
                f"({self.payload_max}) of target {self.name}"
            )

    def graded_peaks(self, input_peak: float, skips: Iterable[bool]) -> list[float]:
        """`input_peaks`, each checked against the graded spike payload.

        Raises `TargetError` (`check_payload`) for the first value beyond it.
        """
        peaks = input_peaks(input_peak, skips)
        self.check_payload("the input", peaks[0])
        for index, peak in enumerate(peaks[1:]):
            self.check_payload(f"layer {index}: its output", peak)
        return peaks

    def with_weight_bits(self, bits: int) -> "TargetSpec":
        """This spec with another weight mantissa width (for bit sweeps)."""
        return dataclasses.replace(self, name=f"{self.name}-w{bits}", weight_bits=bits)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form, for NIR metadata and JSON reports."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, fields: Any, where: str = "target spec") -> "TargetSpec":
        """Inverse of `to_dict`; unknown, missing or impossible fields raise `TargetError` naming `where`."""
        return record_from_dict(cls, fields, where, TargetError)


def input_peaks(input_peak: float, skips: Iterable[bool]) -> list[float]:
    """Largest value each layer's input carries, then the readout's.

    input_peak: the largest input spike count; skips: per layer, whether it is
    a skip layer. A skip layer sends its spikes plus its input (so one more
    than its input's peak), any other layer binary spikes (1).
    """
    peaks = [input_peak]
    for skip in skips:
        peaks.append(peaks[-1] + 1 if skip else 1)
    return peaks


FLOAT = TargetSpec(name="float", quantized=False)
LOIHI2 = TargetSpec(name="loihi2", quantized=True)

TARGETS: dict[str, TargetSpec] = {spec.name: spec for spec in (FLOAT, LOIHI2)}


def get_target(name: str) -> TargetSpec:
    """The target called `name`; an unknown name raises `TargetError` listing the known ones."""
    try:
        return TARGETS[name]
    except KeyError:
        raise TargetError(
            f"unknown target {name!r}; known targets: {', '.join(sorted(TARGETS))}"
        ) from None
