"""The S5-RF neuron and readout updates, written once.

The golden simulator and the Lava process models both call these functions,
so their arithmetic is identical by construction; what the equality tests
between them check is the wiring (delays, skips, resets).

Integer update of one time step, all arrays int64 of one shape (any batch
dimensions), k = target.decay_bits:

    re' = sat( shift(c·re − s·im) + a_re )
    im' = sat( shift(s·re + c·im) + a_im )
    spike = re' > θ                      (no reset, no refractory period)

shift(x) = (x + 2^(k−1)) >> k for "nearest" rounding, x >> k for "floor"
(arithmetic shifts, i.e. floor division by 2^k). sat clips to the target's
signed state range; each clipped element counts as one saturation event.

The synaptic input a comes from a dense connection: a = (W·u)·2^exp, a left
shift for exp ≥ 0 and an arithmetic (floor) right shift for exp < 0, as
Lava's bit-accurate `Dense` computes it.
"""

from __future__ import annotations

import numpy as np

from s5rf_neuro.hardware.target import TargetSpec


def shift_decay(product: np.ndarray, target: TargetSpec) -> np.ndarray:
    """Divide an int64 product of a decay constant and a state by 2^decay_bits, rounding per target."""
    return _shift_decay_in_place(product.copy(), target)


def _shift_decay_in_place(product: np.ndarray, target: TargetSpec) -> np.ndarray:
    """`shift_decay` overwriting its (temporary) argument, which it returns."""
    k = target.decay_bits
    if target.decay_rounding == "nearest":
        product += 1 << (k - 1)
    product >>= k
    return product


def saturate(state: np.ndarray, target: TargetSpec) -> tuple[np.ndarray, int]:
    """Clip int64 `state` to the target's signed state range; return it and the number of clipped elements.

    When nothing clips, `state` itself is returned (no copy).
    """
    if state.size == 0 or (state.max() <= target.state_max and state.min() >= target.state_min):
        return state, 0
    clipped = np.clip(state, target.state_min, target.state_max)
    return clipped, int(np.count_nonzero(clipped != state))


def dense_int(weight: np.ndarray, exponent: int, inputs: np.ndarray) -> np.ndarray:
    """Integer dense connection: (inputs @ weight.T)·2^exponent, floor-shifted.

    weight: int64 (P, H) mantissas; inputs: (..., H) spike counts of any
    integer (or bool) dtype. Returns int64 (..., P) synaptic input in state LSBs.

    The accumulation runs as a float32 (float64) BLAS product when every
    partial sum is an integer below 2^24 (2^53) in magnitude: then the float
    product is exact and identical to the int64 one, only much faster.
    Otherwise it runs in int64.
    """
    largest_input = max(int(inputs.max(initial=0)), -int(inputs.min(initial=0)))
    bound = int(np.abs(weight).max(initial=0)) * largest_input * weight.shape[-1]
    exact = np.float32 if bound < 1 << 24 else np.float64 if bound < 1 << 53 else None
    if exact is not None:
        accumulated = (inputs.astype(exact) @ weight.T.astype(exact)).astype(np.int64)
    else:
        accumulated = inputs @ weight.T
    if exponent >= 0:
        accumulated <<= exponent
    else:
        accumulated >>= -exponent
    return accumulated


def int_neuron_step(
    re: np.ndarray,
    im: np.ndarray,
    a_re: np.ndarray,
    a_im: np.ndarray,
    decay_re: np.ndarray,
    decay_im: np.ndarray,
    threshold: np.ndarray,
    target: TargetSpec,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One integer S5-RF step.

    re, im, a_re, a_im: int64 (..., P) state and synaptic input (state LSBs);
    decay_re, decay_im, threshold: int64 (P,).
    Returns (re', im', spikes as bool (..., P), saturation events).
    """
    rotated_re = decay_re * re
    rotated_re -= decay_im * im
    rotated_re = _shift_decay_in_place(rotated_re, target)
    rotated_re += a_re
    rotated_im = decay_im * re
    rotated_im += decay_re * im
    rotated_im = _shift_decay_in_place(rotated_im, target)
    rotated_im += a_im
    new_re, saturated_re = saturate(rotated_re, target)
    new_im, saturated_im = saturate(rotated_im, target)
    return new_re, new_im, new_re > threshold, saturated_re + saturated_im


def int_readout_step(
    state: np.ndarray, a: np.ndarray, decay: np.ndarray, target: TargetSpec
) -> tuple[np.ndarray, int]:
    """One integer leaky-readout step: y' = sat(shift(d·y) + a).

    state, a: int64 (..., O); decay: int64 (O,). Returns (y', saturation events).
    """
    decayed = _shift_decay_in_place(decay * state, target)
    decayed += a
    return saturate(decayed, target)


def float_neuron_step(
    state: np.ndarray, drive: np.ndarray, decay: np.ndarray, threshold: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One float S5-RF step: x' = λ̄ ⊙ x + drive; spike = Re x' > θ.

    state, drive: complex128 (..., P); decay: complex128 (P,); threshold: float64 (P,).
    Returns (x', spikes as bool (..., P)).
    """
    new_state = decay * state + drive
    return new_state, new_state.real > threshold


def float_readout_step(state: np.ndarray, drive: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """One float leaky-readout step y' = d ⊙ y + drive; arrays float64 (..., O), decay (O,)."""
    return decay * state + drive
