"""The networks the hardware room executes: a discrete float network and its
integer (fixed-point) twin.

Both describe the same S5-RF computation in discrete time, with each neuron's
state scaled by 1/|b̄| (docs/design.md §4: the step goes into a per-neuron threshold,
not into the weights). Per layer, with input u[t] (H,) of spike counts and
state x[t] (P,) complex:

    x[t]   = λ̄ ⊙ x[t−1] + W·u[t]          W = (b̄/|b̄|)·B  (·Re B if keep_imag is off)
    s[t]   = Re x[t] > θ                    θ = 1/|b̄| per neuron
    out[t] = s[t] (+ u[t] on a skip layer)

and a leaky readout y[t] = d ⊙ y[t−1] + R·s_last[t], score = mean_t y[t].

The integer network follows `hardware.neuron` exactly (see there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from s5rf_neuro.hardware.target import TargetSpec

NETWORK_FORMAT_VERSION = 1
"""Version of the network description (recorded in NIR metadata)."""


@dataclass(frozen=True, eq=False)
class FloatLayer:
    """One discrete S5-RF layer in float64.

    decay:      complex128 (P,)   λ̄, per neuron, |λ̄| < 1
    weight:     complex128 (P, H) W, input weights in state units per input spike
    threshold:  float64 (P,)      θ, spike when Re x > θ (state units)
    skip:       the layer's output is its spikes plus its input (needs H == P)
    """

    decay: np.ndarray
    weight: np.ndarray
    threshold: np.ndarray
    skip: bool = False

    @property
    def num_inputs(self) -> int:
        """H, the layer's input width."""
        return int(self.weight.shape[1])

    @property
    def num_neurons(self) -> int:
        """P, the number of neurons."""
        return int(self.weight.shape[0])

    @property
    def uses_imag_weights(self) -> bool:
        """Whether some imaginary weight is non-zero (each synapse is then two: real and imaginary)."""
        return bool(np.any(self.weight.imag))


@dataclass(frozen=True, eq=False)
class FloatReadout:
    """Leaky-integrator readout in float64.

    weight: float64 (O, P)  R, real readout weights
    decay:  float64 (O,)    d in (0, 1), per output
    """

    weight: np.ndarray
    decay: np.ndarray


@dataclass(frozen=True, eq=False)
class FloatNetwork:
    """A discrete float S5-RF network: layers in order, then the readout.

    metadata: free-form provenance (class names, source checkpoint, data set).
    """

    layers: tuple[FloatLayer, ...]
    readout: FloatReadout
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def input_dim(self) -> int:
        """Input channels of the first layer."""
        return self.layers[0].num_inputs

    @property
    def output_dim(self) -> int:
        """Number of classes."""
        return int(self.readout.weight.shape[0])


@dataclass(frozen=True, eq=False)
class IntLayer:
    """One S5-RF layer in fixed point (all arrays int64).

    decay_re, decay_im: (P,)    c, s with λ̄ ≈ (c + i·s)/2^decay_bits
    weight_re, weight_im: (P, H) signed mantissas, within the target's weight_bits
    weight_exp_re, weight_exp_im: shared exponents: a = (W·u)·2^exp (floor for exp < 0)
    threshold: (P,)             θ in state LSBs, spike when re > θ
    state_scale: state LSBs per float state unit (for reports and de-quantisation)
    skip: output = spikes + input
    """

    decay_re: np.ndarray
    decay_im: np.ndarray
    weight_re: np.ndarray
    weight_im: np.ndarray
    weight_exp_re: int
    weight_exp_im: int
    threshold: np.ndarray
    state_scale: float
    skip: bool = False

    @property
    def num_inputs(self) -> int:
        """H, the layer's input width."""
        return int(self.weight_re.shape[1])

    @property
    def num_neurons(self) -> int:
        """P, the number of neurons."""
        return int(self.weight_re.shape[0])

    @property
    def uses_imag_weights(self) -> bool:
        """Whether some imaginary weight is non-zero (each synapse is then two: real and imaginary)."""
        return bool(np.any(self.weight_im))


@dataclass(frozen=True, eq=False)
class IntReadout:
    """Leaky-integrator readout in fixed point (int64 arrays).

    weight: (O, P) signed mantissas;  weight_exp: shared exponent
    decay:  (O,)   d with decay ≈ d/2^decay_bits
    state_scale: readout LSBs per float readout unit
    """

    weight: np.ndarray
    weight_exp: int
    decay: np.ndarray
    state_scale: float


@dataclass(frozen=True, eq=False)
class IntNetwork:
    """A fixed-point S5-RF network for one quantised target."""

    layers: tuple[IntLayer, ...]
    readout: IntReadout
    target: TargetSpec
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def input_dim(self) -> int:
        """Input channels of the first layer."""
        return self.layers[0].num_inputs

    @property
    def output_dim(self) -> int:
        """Number of classes."""
        return int(self.readout.weight.shape[0])


Network = FloatNetwork | IntNetwork
