"""The S5-RF neuron and readout updates, written once.

The golden simulator and the Lava process models both call these functions,
so their arithmetic is identical by construction; what the equality tests
between them check is the wiring (delays, skips, resets).

Integer update of one time step, k = target.decay_bits:

    re' = sat( shift(c·re − s·im) + a_re )
    im' = sat( shift(s·re + c·im) + a_im )
    spike = re' > θ                      (no reset, no refractory period)

shift(x) = (x + 2^(k−1)) >> k for "nearest" rounding, x >> k for "floor"
(arithmetic shifts, i.e. floor division by 2^k). sat clips to the target's
signed state range; each clipped element counts as one saturation event.

The synaptic input a comes from a dense connection: a = (W·u)·2^exp, a left
shift for exp ≥ 0 and an arithmetic (floor) right shift for exp < 0, as
Lava's bit-accurate `Dense` computes it.

How it is computed: exactly, in float64. The state (re, im) is held as one
complex128 number z = re + i·im and the decay as λ = (c + i·s)/2^k, so
that one complex multiply gives (c·re − s·im)/2^k and (s·re + c·im)/2^k.
With the rounding offset r (1/2 for "nearest", 0 for "floor") folded into the
input, d = a + r·(1 + i), the step is

    z' = sat( floor(λ·z + d) )            (floor and sat per component)

which equals the integer update, because every intermediate value is an
integer multiple of 2^−k below 2^(53−k) in magnitude (`check_exact`), where
float64 represents it exactly, so no operation rounds (the products, the
differences, the sum and the division by 2^k, a change of exponent only).
An input so large that λ·z + d reaches 2^(53−k) may round, but the result
then lies far outside the state range and clips to the same bound as the
exact value would. The readout is the same update on real numbers.

A mixing stage (docs/design.md §5b) adds two pieces. A state neuron sends
each component of its state as a graded spike whose payload is the state's
top bits, p = x >> (state_bits − state_payload_bits) (an arithmetic shift, so
a saturated state still fits the signed payload: it never clips). A
threshold neuron of the stage is memoryless: v = sat(a_re + a_im) from its
two dense connections, spike = v > θ; sat never changes a spike, as θ lies
within the state range.

`decay_steps_in_place` runs a block of steps in one call (the golden
simulator's unit of work; the Lava models call it one step at a time). Where
a bound on the state (`state_bound`, `steps_in_range`) proves that no
component can leave the state range, the per-step range checks of a block
recorded in a history are skipped and its extremes are found once.
"""

from __future__ import annotations

import numpy as np

from s5rf_neuro.errors import TargetError
from s5rf_neuro.hardware.target import TargetSpec

EXACT_BITS = 53
"""Bits of a float64 significand: integers below 2^53 in magnitude are exact."""


def check_exact(target: TargetSpec, decay_magnitude: int) -> None:
    """Raise `TargetError` unless float64 reproduces the integer step exactly.

    decay_magnitude: the largest |c| + |s| (integer decay units) of the network.
    The rotated state, (|c| + |s|)·2^(state_bits−1) plus the rounding offset,
    must stay below 2^53 (always so for an `IntNetwork`, whose |λ̄_int| < 1 on
    a `TargetSpec` within `EXACT_SUM_BITS`; this guards direct callers).
    """
    rotated = decay_magnitude * (1 << (target.state_bits - 1)) + (1 << target.decay_bits)
    if rotated >= 1 << EXACT_BITS:
        raise TargetError(
            f"target {target.name}: {target.state_bits}-bit states with {target.decay_bits}-bit decays "
            f"(|c|+|s| up to {decay_magnitude}) exceed the {EXACT_BITS}-bit exact arithmetic of the simulator"
        )


def exact_decay(decay_re: np.ndarray, decay_im: np.ndarray, target: TargetSpec) -> np.ndarray:
    """λ = (c + i·s)/2^decay_bits: complex128 (P,) from the int64 (P,) decay constants (exact)."""
    scale = 2.0 ** -target.decay_bits
    decay = np.empty(np.shape(decay_re), dtype=np.complex128)
    decay.real = np.asarray(decay_re, dtype=np.float64) * scale
    decay.imag = np.asarray(decay_im, dtype=np.float64) * scale
    return decay


def rounding_offset(target: TargetSpec) -> float:
    """r, added to the input before the floor: 1/2 for "nearest" rounding, 0 for "floor"."""
    return 0.5 if target.decay_rounding == "nearest" else 0.0


def _saturate(parts: np.ndarray, target: TargetSpec, high: float, low: float) -> int:
    """Clip float64 state components `parts` to the target's range in place; returns how many were outside.

    high, low: the largest and smallest of `parts` (nothing more is read when both are in range).
    """
    state_min, state_max = target.state_min, target.state_max
    if high <= state_max and low >= state_min:
        return 0
    events = int(np.count_nonzero(parts > state_max)) + int(np.count_nonzero(parts < state_min))
    np.clip(parts, state_min, state_max, out=parts)
    return events


def decay_steps_in_place(
    state: np.ndarray,
    decay: np.ndarray,
    drive: np.ndarray,
    target: TargetSpec,
    history: np.ndarray | None = None,
    in_range: bool = False,
    threshold: np.ndarray | None = None,
    spikes: np.ndarray | None = None,
) -> tuple[int, float, float]:
    """len(drive) integer steps in exact float64: z[t] ← sat(floor(decay·z[t−1] + drive[t])).

    state: complex128 (..., P) neuron states re + i·im, or float64 (..., O)
    readout states, integer valued (state LSBs): z[−1], overwritten with the
    last new state. decay: (P,) or (O,) from `exact_decay` (or d/2^decay_bits
    for a readout); drive: (t, ...) of state's shape after the first axis, the
    synaptic input plus the `rounding_offset` in each component, in double or
    (where exact) single precision; history: None to step `state` in place, or
    (t, ...) of state's shape and dtype to receive every new state.
    in_range: the caller has proved (`steps_in_range`) that no component can
    leave the state range in these steps; with a history, the per-step range
    checks are then skipped and the extremes found once over the history.
    threshold, spikes: float64 (P,) and bool (t, ..., P) to receive each new
    state's spikes, Re z > threshold (neurons only).
    Returns (saturation events, largest component, smallest component) of the new states.
    """
    each_step = history is None or not in_range
    previous, events = state, 0
    high, low = 0.0, 0.0
    for t in range(len(drive)):
        current = state if history is None else history[t]
        parts = current.view(np.float64)
        np.multiply(previous, decay, out=current)
        np.add(current, drive[t], out=current)
        np.floor(parts, out=parts)
        if each_step:
            step_high = float(np.maximum.reduce(parts, axis=None, initial=0.0))
            step_low = float(np.minimum.reduce(parts, axis=None, initial=0.0))
            events += _saturate(parts, target, step_high, step_low)
            high = max(high, min(step_high, target.state_max))
            low = min(low, max(step_low, target.state_min))
        if spikes is not None:
            np.greater(current.real, threshold, out=spikes[t])
        previous = current
    if history is not None and len(drive):
        np.copyto(state, previous)
        if not each_step:
            parts = history[: len(drive)].view(np.float64)
            high = float(np.maximum.reduce(parts, axis=None, initial=0.0))
            low = float(np.minimum.reduce(parts, axis=None, initial=0.0))
    return events, high, low


def decay_step_in_place(state: np.ndarray, decay: np.ndarray, drive: np.ndarray, target: TargetSpec) -> tuple[int, float, float]:
    """One step of `decay_steps_in_place`: state ← sat(floor(decay·state + drive)), drive of state's shape.

    Returns (saturation events, largest component, smallest component) of the new state.
    """
    return decay_steps_in_place(state, decay, drive[np.newaxis], target)


FLOOR_SHIFT = float(np.sqrt(2.0))
"""The most the floor of both components moves a complex state (less than √2 LSBs; less than 1 for a real one)."""
BOUND_MARGIN = 1e-9
"""Relative slack added to the float bounds on a state, against their own rounding."""


def state_bound(decay_modulus: np.ndarray, drive_modulus: np.ndarray) -> float:
    """A bound on every state component of a run from zero: max_p (D_p + √2) / (1 − |λ_p|) (inf if some |λ_p| ≥ 1).

    decay_modulus: (P,) |λ_p| (d/2^decay_bits for a readout); drive_modulus:
    (P,) a bound on |drive_p|, the synaptic input plus the rounding offset as a
    complex (or real) number, in LSBs. Since the floor moves a state by less
    than √2, |z[t]| ≤ |λ|·|z[t−1]| + |drive| + √2, which keeps |z| below that
    bound once it starts there (at zero).
    """
    if np.any(decay_modulus >= 1.0):
        return float("inf")
    growth = np.asarray(drive_modulus, dtype=np.float64) + FLOOR_SHIFT
    return float(np.max(growth / (1.0 - decay_modulus), initial=0.0)) * (1 + BOUND_MARGIN) + 1.0


def steps_in_range(start_peak: float, steps: int, drive_modulus: float, target: TargetSpec) -> bool:
    """Whether `steps` steps from states with every |component| ≤ start_peak, |drive| ≤ drive_modulus and
    |λ| ≤ 1, stay inside the state range: |z| starts below √2·start_peak and grows by under |drive| + √2 a step."""
    bound = (FLOOR_SHIFT * start_peak + steps * (drive_modulus + FLOOR_SHIFT)) * (1 + BOUND_MARGIN) + 1.0
    return bound <= min(target.state_max, -target.state_min)


SILENT_FRACTION = 0.75
"""Inputs active in at most this fraction of the columns: the product skips the silent ones."""


class ExactDense:
    """A dense connection a = floor((W·u)·2^exp), prepared for exact BLAS products.

    weight: int64 (P, H) mantissas; exponent: an int, or int64 (P,) one per
    output row (used to run the real and imaginary weights as one matrix).
    The product runs as a float32 (float64) BLAS matrix product with the
    weights scaled by 2^exp, when every partial sum is a multiple of
    2^min(exp, 0) below 2^24 (2^53) of those units: then the float product is
    exact, in any summation order, and the floor of a multiple of 2^exp is
    the arithmetic shift. Otherwise it runs in int64 with shifts. Input
    channels silent in every row (e.g. neurons that never spike) are left out
    of the float product when they are a quarter of all or more; a zero term
    changes no sum.

    row_bounds: float64 (P,) Σ_h |w_ph|·2^exp_p, so that |a_p| ≤ row_bounds[p]·max(u) + 1
    (the 1 for the floor of a negative exponent).
    """

    def __init__(self, weight: np.ndarray, exponent: int | np.ndarray) -> None:
        self.weight = np.asarray(weight, dtype=np.int64)
        self.exponent = np.broadcast_to(np.asarray(exponent, dtype=np.int64), self.weight.shape[:1]).copy()
        self._scaled: dict[type, np.ndarray] = {}
        self._needs_floor = bool(np.any(self.exponent < 0))
        # largest Σ_h |w_ph|·2^max(exp_p, 0) over rows p, in Python ints (no overflow)
        magnitude = np.abs(self.weight)
        small = magnitude.size == 0 or int(magnitude.max()) < (1 << 62) // max(1, magnitude.shape[-1])
        rows = magnitude.sum(axis=-1, dtype=np.int64 if small else object)
        left = np.maximum(self.exponent, 0)
        self._row_bound = max((int(np.max(rows[left == e])) << int(e) for e in np.unique(left)), default=0)
        self.row_bounds = rows.astype(np.float64) * np.ldexp(1.0, self.exponent.astype(np.int32))

    def _float_weight(self, dtype: type) -> np.ndarray:
        """weight.T·2^exp as `dtype` (H, P), exact (mantissas have few bits), cached."""
        if dtype not in self._scaled:
            scale = np.ldexp(np.ones(len(self.exponent)), self.exponent.astype(np.int32))
            self._scaled[dtype] = np.ascontiguousarray((self.weight * scale[:, None]).T.astype(dtype))
        return self._scaled[dtype]

    def exact_dtype(self, largest_input: int) -> type | None:
        """float32 or float64 when the BLAS product is exact for inputs ≤ largest_input; None: int64 only."""
        bound = self._row_bound * largest_input
        return np.float32 if bound < 1 << 24 else np.float64 if bound < 1 << EXACT_BITS else None

    def apply(self, inputs: np.ndarray, largest_input: int | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """a for inputs (..., H) of non-negative integers (any integer, bool or integral float dtype).

        Returns float32 or float64 (..., P) integer values when exact in them,
        else int64. largest_input: a bound on the inputs (default: their max).
        out: a float32 or float64 (rows, P) buffer, rows = the number of input
        vectors, to return the result in instead (float32 only where exact).
        """
        if largest_input is None:
            largest_input = int(inputs.max(initial=0))
        dtype = self.exact_dtype(largest_input)
        if out is not None and dtype is not None and out.dtype == np.float64:
            dtype = np.float64
        if dtype is None:
            accumulated = np.asarray(inputs, dtype=np.int64) @ self.weight.T
            left = np.maximum(self.exponent, 0)
            accumulated = (accumulated << left) >> (left - self.exponent)
        else:
            flat = np.asarray(inputs, dtype=dtype).reshape(-1, inputs.shape[-1])
            weight = self._float_weight(dtype)
            # column sums of non-negative inputs (one BLAS pass) are zero only for silent columns
            active = np.flatnonzero(np.ones(len(flat), dtype=dtype) @ flat)
            if len(active) <= SILENT_FRACTION * flat.shape[1]:
                flat, weight = flat[:, active], weight[active]
            target = out if out is not None and out.dtype == dtype else None
            accumulated = np.matmul(flat, weight, out=target)
            if self._needs_floor:
                np.floor(accumulated, out=accumulated)
        if out is not None and accumulated is not out:
            if out.dtype == np.float32 and dtype is not np.float32:
                raise ValueError("a float32 output is exact only where the product runs in float32")
            out[...] = accumulated.reshape(out.shape)
            return out
        return accumulated.reshape(inputs.shape[:-1] + (len(self.exponent),))


def dense_int(weight: np.ndarray, exponent: int, inputs: np.ndarray) -> np.ndarray:
    """Integer dense connection: (inputs @ weight.T)·2^exponent, floor-shifted.

    weight: int64 (P, H) mantissas; inputs: (..., H) spike counts of any
    integer (or bool) dtype. Returns int64 (..., P) synaptic input in state LSBs.
    Computed by `ExactDense` (exact float BLAS where the bounds allow).
    """
    largest_input = max(int(inputs.max(initial=0)), -int(inputs.min(initial=0)))
    return ExactDense(weight, exponent).apply(inputs, largest_input).astype(np.int64)


def _as_complex(re: np.ndarray, im: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """re + offset + i·(im + offset) as complex128 (broadcast shape)."""
    out = np.empty(np.broadcast_shapes(np.shape(re), np.shape(im)), dtype=np.complex128)
    out.real = re
    out.imag = im
    if offset:
        out.view(np.float64)[...] += offset
    return out


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
    """One integer S5-RF step (through `decay_steps_in_place`).

    re, im, a_re, a_im: int64 (..., P) state and synaptic input (state LSBs);
    decay_re, decay_im, threshold: int64 (P,).
    Returns (re', im' as int64, spikes as bool (..., P), saturation events).
    """
    check_exact(target, int(np.max(np.abs(decay_re) + np.abs(decay_im), initial=0)))
    state = _as_complex(re, im)
    drive = _as_complex(a_re, a_im, rounding_offset(target))
    spikes = np.empty((1,) + state.shape, dtype=bool)
    events, _, _ = decay_steps_in_place(
        state, exact_decay(decay_re, decay_im, target), drive[np.newaxis], target,
        threshold=np.asarray(threshold, dtype=np.float64), spikes=spikes,
    )
    return state.real.astype(np.int64), state.imag.astype(np.int64), spikes[0], events


def int_readout_step(
    state: np.ndarray, a: np.ndarray, decay: np.ndarray, target: TargetSpec
) -> tuple[np.ndarray, int]:
    """One integer leaky-readout step: y' = sat(shift(d·y) + a) (through `decay_step_in_place`).

    state, a: int64 (..., O); decay: int64 (O,). Returns (y' as int64, saturation events).
    """
    check_exact(target, int(np.max(np.abs(decay), initial=0)))
    y = np.array(np.broadcast_to(state, np.broadcast_shapes(np.shape(state), np.shape(a))), dtype=np.float64)
    drive = np.asarray(a, dtype=np.float64) + rounding_offset(target)
    events, _, _ = decay_step_in_place(y, np.asarray(decay, dtype=np.float64) * 2.0 ** -target.decay_bits, drive, target)
    return y.astype(np.int64), events


def state_payload(parts: np.ndarray, target: TargetSpec) -> np.ndarray:
    """Graded payloads of integer state components (LSBs): floor(x / 2^state_payload_shift).

    parts: integer-valued float64 or int64, any shape (e.g. (..., 2P) interleaved
    re, im). Returns the same dtype and shape; exact in float64 (a power-of-two
    division and a floor). Every payload lies in the signed state_payload_bits range.
    """
    shift = target.state_payload_shift
    if np.asarray(parts).dtype.kind in "iu":
        return np.asarray(parts, dtype=np.int64) >> shift
    return np.floor(np.asarray(parts, dtype=np.float64) * 2.0 ** -shift)


def mixing_neuron_step(
    a_re: np.ndarray, a_im: np.ndarray, threshold: np.ndarray, target: TargetSpec
) -> tuple[np.ndarray, np.ndarray]:
    """One step of the memoryless threshold neurons of a mixing stage: v = sat(a_re + a_im), spike = v > θ.

    a_re, a_im: integer-valued (..., P) inputs from the dense connections on
    the real- and imaginary-state payloads (LSBs of v); threshold: (P,).
    Returns (v as int64, spikes as bool), both (..., P).
    """
    total = np.asarray(a_re, dtype=np.int64) + np.asarray(a_im, dtype=np.int64)
    np.clip(total, target.state_min, target.state_max, out=total)
    return total, total > threshold


def float_step_in_place(state: np.ndarray, decay: np.ndarray, drive: np.ndarray) -> None:
    """One float step overwriting `state`: state ← decay ⊙ state + drive (complex128 neurons or float64 readouts)."""
    np.multiply(state, decay, out=state)
    np.add(state, drive, out=state)


def float_neuron_step(
    state: np.ndarray, drive: np.ndarray, decay: np.ndarray, threshold: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One float S5-RF step: x' = λ̄ ⊙ x + drive; spike = Re x' > θ.

    state, drive: complex128 (..., P); decay: complex128 (P,); threshold: float64 (P,).
    Returns (x', spikes as bool (..., P)).
    """
    new_state = np.array(np.broadcast_to(state, np.broadcast_shapes(np.shape(state), np.shape(drive))), dtype=np.complex128)
    float_step_in_place(new_state, decay, drive)
    return new_state, new_state.real > threshold


def float_readout_step(state: np.ndarray, drive: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """One float leaky-readout step y' = d ⊙ y + drive; arrays float64 (..., O), decay (O,)."""
    new_state = np.array(np.broadcast_to(state, np.broadcast_shapes(np.shape(state), np.shape(drive))), dtype=np.float64)
    float_step_in_place(new_state, decay, drive)
    return new_state
