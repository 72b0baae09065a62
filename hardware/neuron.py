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

How it is computed: exactly, in float64, by compiled loops. Every operand
is an integer, and every intermediate value, c·re, s·im, their difference,
the offset and the sum, lies below 2^53 in magnitude (`check_exact`), where
float64 represents it exactly; so no operation rounds, in any order of
evaluation, and the floor of a multiplication by 2^−k is the arithmetic shift.
An input a so large that the sum reaches 2^53 may round, but the result then
lies far outside the state range and clips to the same bound (and counts the
same event) as the exact value would. The readout is the same update on real
numbers. Dense sums run in integers, in the narrowest type that cannot
overflow (`accumulator_dtype`).

The loops (`hardware/loops.py`) are compiled by numba and release the GIL.
Both callers take each step through the same row updates (`state_step`,
`readout_step`, `fire`, ...): the golden simulator's `layer_block` and
`readout_block` run a block of steps over a batch of samples, each sample's
state kept in cache, summing per step only the weight rows of non-zero
inputs; the Lava models' wrappers here, `int_neuron_step` and
`int_readout_step`, run one step on the sums Lava's `Dense` delivers.

A mixing stage (docs/design.md §5b) adds two pieces. A state neuron sends
each component of its state as a graded spike whose payload is the state's
top bits, p = x >> (state_bits − state_payload_bits) (an arithmetic shift, so
a saturated state still fits the signed payload: it never clips). A
threshold neuron of the stage is memoryless: v = sat(a_re + a_im) from its
two dense connections, spike = v > θ; sat never changes a spike, as θ lies
within the state range.
"""

from __future__ import annotations

import functools
from types import ModuleType

import numpy as np

from s5rf_neuro.errors import S5RFError, TargetError
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


def shift_constants(target: TargetSpec) -> tuple[float, float]:
    """(2^−k, offset) of the decay shift, k = decay_bits: x >> k = floor((x + offset)·2^−k), offset
    2^(k−1) for "nearest" rounding and 0 for "floor"."""
    offset = float(1 << (target.decay_bits - 1)) if target.decay_rounding == "nearest" else 0.0
    return 2.0 ** -target.decay_bits, offset


@functools.lru_cache(maxsize=16)
def arithmetic(target: TargetSpec) -> np.ndarray:
    """float64 (4,): the decay shift's (2^−k, offset) (`shift_constants`) and the state range (min, max);
    read-only (one array per target, shared)."""
    constants = np.array([*shift_constants(target), target.state_min, target.state_max], dtype=np.float64)
    constants.flags.writeable = False
    return constants


def accumulator_dtype(weight: np.ndarray, largest_input: int, exponent: int = 0) -> type:
    """The narrowest of int16, int32, int64 in which Σ_h w_ph·u_h cannot overflow for |u| ≤ largest_input.

    weight: integer (P, H) mantissas (they fit the type too). Raises `S5RFError`
    when even int64 overflows, before or after the left shift by `exponent` > 0.
    """
    weight = np.asarray(weight)
    if weight.size == 0:
        return np.int16
    magnitude = np.abs(weight.astype(np.int64))
    exact_sums = int(magnitude.max()) < (1 << 62) // weight.shape[-1]  # else sum in Python integers
    bound = int(magnitude.sum(axis=-1, dtype=np.int64 if exact_sums else object).max()) * max(int(largest_input), 1)
    for dtype in (np.int16, np.int32):
        if bound < np.iinfo(dtype).max:
            return dtype
    if bound << max(exponent, 0) > np.iinfo(np.int64).max:
        raise S5RFError(f"inputs up to {largest_input} overflow the 64-bit sums of a dense connection (bound {bound})")
    return np.int64


def loops() -> ModuleType:
    """The compiled loops (`hardware.loops`), imported on first use: numba and its compiler take about half a
    second to load, which a command that never simulates should not pay."""
    from s5rf_neuro.hardware import loops as compiled

    return compiled


def dense_int(weight: np.ndarray, exponent: int, inputs: np.ndarray) -> np.ndarray:
    """Integer dense connection: (inputs @ weight.T)·2^exponent, floor-shifted, as the golden simulator sums it.

    weight: integer (P, H) mantissas; inputs: (..., H) integers of any dtype
    (or bool). Returns int64 (..., P) synaptic input in state LSBs.
    """
    inputs = np.asarray(inputs)
    largest_input = max(int(inputs.max(initial=0)), -int(inputs.min(initial=0)))
    dtype = accumulator_dtype(weight, largest_input, exponent)
    flat = np.ascontiguousarray(inputs.reshape(-1, inputs.shape[-1]))
    out = np.empty((len(flat), np.shape(weight)[0]), dtype=np.int64)
    loops().dense_rows(flat, np.ascontiguousarray(np.asarray(weight).T.astype(dtype)), int(exponent), out)
    return out.reshape(inputs.shape[:-1] + (out.shape[1],))


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
    """One integer S5-RF step (through `neuron_steps`).

    re, im, a_re, a_im: int64 (..., P) state and synaptic input (state LSBs);
    decay_re, decay_im, threshold: int64 (P,).
    Returns (re', im' as int64, spikes as bool (..., P), saturation events).
    """
    check_exact(target, int(np.max(np.abs(decay_re) + np.abs(decay_im), initial=0)))
    parts = _same_shape(re, im, a_re, a_im)
    shape, neurons = parts[0].shape, parts[0].shape[-1]
    state = np.stack([part.reshape(-1, neurons) for part in parts[:2]])
    drive = np.concatenate([part.reshape(1, -1, neurons) for part in parts[2:]], axis=2)
    spikes = np.empty((1, len(drive[0]), neurons), dtype=np.uint8)
    events = loops().neuron_steps(
        state[0], state[1], drive, _as_float(decay_re, neurons), _as_float(decay_im, neurons), arithmetic(target),
        _as_float(threshold, neurons), spikes,
    )
    new = state.astype(np.int64).reshape((2,) + shape)
    return new[0], new[1], spikes[0].reshape(shape) > 0, int(events)


def int_readout_step(
    state: np.ndarray, a: np.ndarray, decay: np.ndarray, target: TargetSpec
) -> tuple[np.ndarray, int]:
    """One integer leaky-readout step: y' = sat(shift(d·y) + a) (through `readout_steps`).

    state, a: int64 (..., O); decay: int64 (O,). Returns (y' as int64, saturation events).
    """
    check_exact(target, int(np.max(np.abs(decay), initial=0)))
    y, drive = _same_shape(state, a)
    shape, outputs = y.shape, y.shape[-1]
    y = y.reshape(-1, outputs).copy()
    events = loops().readout_steps(y, drive.reshape(1, -1, outputs), _as_float(decay, outputs), arithmetic(target))
    return y.astype(np.int64).reshape(shape), int(events)


def _same_shape(*arrays: np.ndarray) -> list[np.ndarray]:
    """The arrays as float64 of one shape (broadcast only where their shapes differ), at least 1-D."""
    parts = [np.atleast_1d(np.asarray(array, dtype=np.float64)) for array in arrays]
    if any(part.shape != parts[0].shape for part in parts):
        parts = np.broadcast_arrays(*parts)
    return list(parts)


@functools.lru_cache(maxsize=1)
def load_step_loops() -> None:
    """Load (or compile) the loops the Lava fixed-point models call, once per process: processes forked
    afterwards inherit them instead of each loading them again at its first step."""
    zeros = np.zeros((1, 1), dtype=np.int64)
    target = TargetSpec(name="load", quantized=True)
    int_neuron_step(zeros, zeros, zeros, zeros, zeros[0], zeros[0], zeros[0], target)
    int_readout_step(zeros, zeros, zeros[0], target)
    state_payload(zeros, target)
    mixing_neuron_step(zeros, zeros, zeros[0], target)


def _as_float(values: np.ndarray, size: int) -> np.ndarray:
    """values as a contiguous float64 (size,) array, broadcast if need be (exact for the integers of a network)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    return values if values.shape == (size,) else np.ascontiguousarray(np.broadcast_to(values, (size,)))


def state_payload(parts: np.ndarray, target: TargetSpec) -> np.ndarray:
    """Graded payloads of integer state components (LSBs): floor(x / 2^state_payload_shift), int64.

    parts: integer-valued (any shape). Every payload lies in the signed
    state_payload_bits range (through the golden simulator's `loops.payload_into`).
    """
    flat = np.asarray(parts, dtype=np.float64).reshape(-1)
    out = np.empty(flat.shape, dtype=np.int64)
    loops().payload_into(flat, 2.0 ** -target.state_payload_shift, out)
    return out.reshape(np.shape(parts))


def mixing_neuron_step(
    a_re: np.ndarray, a_im: np.ndarray, threshold: np.ndarray, target: TargetSpec
) -> tuple[np.ndarray, np.ndarray]:
    """One step of the memoryless threshold neurons of a mixing stage: v = sat(a_re + a_im), spike = v > θ.

    a_re, a_im: integer (..., P) inputs from the dense connections on the
    real- and imaginary-state payloads (LSBs of v); threshold: (P,).
    Returns (v as int64, spikes as bool), both (..., P).
    """
    shape = np.broadcast_shapes(np.shape(a_re), np.shape(a_im))
    size = shape[-1] if shape else 1
    parts = [np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=np.int64), shape)).reshape(-1, size) for a in (a_re, a_im)]
    v = np.empty(parts[0].shape, dtype=np.int64)
    spikes = np.empty(v.shape, dtype=np.uint8)
    limit = np.broadcast_to(np.asarray(threshold, dtype=np.int64), (size,))
    mix = loops().mixing_fire
    for row in range(len(v)):
        mix(parts[0][row], parts[1][row], limit, target.state_min, target.state_max, v[row], spikes[row])
    return v.reshape(shape), spikes.reshape(shape) > 0


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
