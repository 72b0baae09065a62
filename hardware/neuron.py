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

The loops are compiled by numba and release the GIL. They are built from row
updates (`_rotate`, `_add_saturated`, `_fire`, ...) that both callers share:
the golden simulator's `layer_block` and `readout_block` run a block of
steps over a batch of samples, each sample's state kept in cache, summing
per step only the weight rows of non-zero inputs; the Lava models' wrappers
`int_neuron_step` and `int_readout_step` run one step on the sums Lava's
`Dense` delivers (`neuron_steps`, `readout_steps`).

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

import numpy as np
from numba import njit

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


_COMPILED = {"cache": True, "nogil": True}
"""numba options of the loops: compiled once into the package's cache, the GIL released while they run."""


@njit(**_COMPILED)
def _accumulate(inputs: np.ndarray, weight: np.ndarray, acc: np.ndarray, active: np.ndarray) -> None:
    """acc ← Σ_h inputs[h]·weight[h] over the non-zero inputs only (event-driven: the work grows with the spikes).

    inputs: (H,) integer-valued, any dtype; weight: (H, W) of acc's integer dtype;
    acc: (W,); active: int64 (H,) scratch.
    """
    count = 0
    for h in range(inputs.shape[0]):
        active[count] = h
        count += inputs[h] != 0
    acc[:] = 0
    for i in range(count):
        h = active[i]
        u = acc.dtype.type(inputs[h])
        if u == 1:
            for p in range(acc.shape[0]):
                acc[p] += weight[h, p]
        else:
            for p in range(acc.shape[0]):
                acc[p] += u * weight[h, p]


@njit(**_COMPILED)
def _shift_into(acc: np.ndarray, start: int, exponent: int, out: np.ndarray) -> None:
    """out[p] ← acc[start + p]·2^exponent: a left shift, or an arithmetic (floor) right shift.

    Sums narrower than 64 bits are exact in float64, where the shift is a
    multiplication by a power of two and a floor; int64 sums shift as integers.
    """
    if np.iinfo(acc.dtype).bits < 64:
        scale = 2.0 ** exponent
        for p in range(out.shape[0]):
            out[p] = np.floor(np.float64(acc[start + p]) * scale)
    elif exponent >= 0:
        for p in range(out.shape[0]):
            out[p] = np.int64(acc[start + p]) << exponent
    else:
        for p in range(out.shape[0]):
            out[p] = np.int64(acc[start + p]) >> -exponent


@njit(**_COMPILED)
def _rotate(re: np.ndarray, im: np.ndarray, c: np.ndarray, s: np.ndarray, scale: float, offset: float) -> None:
    """re, im ← shift(c·re − s·im), shift(s·re + c·im) in place, shift(x) = floor((x + offset)·scale)."""
    for p in range(re.shape[0]):
        x, y = re[p], im[p]
        re[p] = np.floor((c[p] * x - s[p] * y + offset) * scale)
        im[p] = np.floor((s[p] * x + c[p] * y + offset) * scale)


@njit(**_COMPILED)
def _decay(y: np.ndarray, d: np.ndarray, scale: float, offset: float) -> None:
    """y ← shift(d·y) in place (a readout's decay)."""
    for o in range(y.shape[0]):
        y[o] = np.floor((d[o] * y[o] + offset) * scale)


@njit(**_COMPILED)
def _add_saturated(x: np.ndarray, a: np.ndarray, low: float, high: float, top: np.ndarray, bottom: np.ndarray) -> int:
    """x ← sat(x + a) in place; returns how many sums lay outside [low, high]; top, bottom: elementwise running
    extremes of the new x (one array each, so that the loop has no reduction and vectorises)."""
    events = 0
    for p in range(x.shape[0]):
        v = x[p] + a[p]
        events += np.int64(v > high) + np.int64(v < low)
        v = high if v > high else v
        v = low if v < low else v
        top[p] = v if v > top[p] else top[p]
        bottom[p] = v if v < bottom[p] else bottom[p]
        x[p] = v
    return events


@njit(**_COMPILED)
def _fire(re: np.ndarray, threshold: np.ndarray, out: np.ndarray) -> int:
    """out ← re > threshold; returns the number of spikes."""
    count = 0
    for p in range(re.shape[0]):
        spike = re[p] > threshold[p]
        out[p] = spike
        count += spike
    return count


@njit(**_COMPILED)
def _payload_into(x: np.ndarray, scale: float, out: np.ndarray) -> None:
    """out ← floor(x·scale) as int64: the state payloads of integer-valued float64 states, scale = 2^−shift."""
    for p in range(x.shape[0]):
        out[p] = np.int64(np.floor(x[p] * scale))


@njit(**_COMPILED)
def _mixing_fire(a_re: np.ndarray, a_im: np.ndarray, threshold: np.ndarray, low: int, high: int,
                 v: np.ndarray, out: np.ndarray) -> int:
    """v ← sat(a_re + a_im) in int64, out ← v > threshold; returns the number of spikes."""
    count = 0
    for p in range(v.shape[0]):
        total = a_re[p] + a_im[p]
        total = high if total > high else total
        total = low if total < low else total
        v[p] = total
        spike = total > threshold[p]
        out[p] = spike
        count += spike
    return count


@njit(**_COMPILED)
def neuron_steps(
    re: np.ndarray, im: np.ndarray, drive: np.ndarray, c: np.ndarray, s: np.ndarray, arith: np.ndarray,
    threshold: np.ndarray, spikes: np.ndarray,
) -> int:
    """len(drive) integer steps of B neuron states in place, with their spikes.

    re, im: float64 (B, P) integer-valued states (LSBs); drive: float64
    (t, B, 2P), a_re in [..., :P], a_im in [..., P:]; c, s: float64 (P,) decay
    constants; arith: `arithmetic`; threshold: float64 (P,); spikes: uint8
    (t, B, P), written 0/1. Returns the saturation events.
    """
    neurons = c.shape[0]
    top, bottom = np.zeros(neurons), np.zeros(neurons)
    events = 0
    for b in range(re.shape[0]):
        x, y = re[b], im[b]
        for t in range(drive.shape[0]):
            _rotate(x, y, c, s, arith[0], arith[1])
            events += _add_saturated(x, drive[t, b, :neurons], arith[2], arith[3], top, bottom)
            events += _add_saturated(y, drive[t, b, neurons:], arith[2], arith[3], top, bottom)
            _fire(x, threshold, spikes[t, b])
    return events


@njit(**_COMPILED)
def readout_steps(y: np.ndarray, drive: np.ndarray, d: np.ndarray, arith: np.ndarray) -> int:
    """len(drive) integer readout steps in place, y ← sat(shift(d·y) + a).

    y: float64 (B, O) integer-valued; drive: float64 (t, B, O); d: float64 (O,).
    Returns the saturation events.
    """
    outputs = d.shape[0]
    top, bottom = np.zeros(outputs), np.zeros(outputs)
    events = 0
    for b in range(y.shape[0]):
        for t in range(drive.shape[0]):
            _decay(y[b], d, arith[0], arith[1])
            events += _add_saturated(y[b], drive[t, b], arith[2], arith[3], top, bottom)
    return events


@njit(**_COMPILED)
def layer_block(
    inputs: np.ndarray, weight: np.ndarray, exp_re: int, exp_im: int, c: np.ndarray, s: np.ndarray,
    arith: np.ndarray, threshold: np.ndarray, re: np.ndarray, im: np.ndarray, spikes: np.ndarray, counts: np.ndarray,
    mixing_re: np.ndarray, mixing_im: np.ndarray, mixing_exp_re: int, mixing_exp_im: int, payload_scale: float,
) -> tuple[int, float, float]:
    """A block of steps of one layer for B samples, from its inputs to its spikes (the golden simulator's unit).

    inputs: (B, t, H) integer-valued; weight: (H, 2P) integer, the transposed
    real rows then imaginary rows, of the accumulator dtype (`accumulator_dtype`);
    exp_re, exp_im: their exponents; c, s, arith, threshold as in `neuron_steps`;
    re, im: float64 (B, P) states, stepped in place; spikes: uint8 (B, t, P),
    written 0/1; counts: int64 (B,), each sample's spikes added. With a mixing
    stage (mixing_re non-empty: (P, P) integer, transposed, as weight), the
    spikes come from the stage, fed by the state payloads floor(x·payload_scale).
    Returns (saturation events, largest, smallest state component).
    """
    batch, steps, neurons = inputs.shape[0], inputs.shape[1], c.shape[0]
    mixing = mixing_re.shape[0] > 0
    acc = np.empty(2 * neurons, weight.dtype)
    active = np.empty(max(inputs.shape[2], neurons), np.int64)
    drive = np.empty(2 * neurons)
    payload = np.empty(neurons, np.int64)
    mixed = np.empty(neurons, mixing_re.dtype)
    a_re, a_im, v = np.empty(neurons, np.int64), np.empty(neurons, np.int64), np.empty(neurons, np.int64)
    low, high = np.int64(arith[2]), np.int64(arith[3])
    top, bottom = np.zeros(neurons), np.zeros(neurons)
    events = 0
    for b in range(batch):
        x, y = re[b], im[b]
        fired = 0
        for t in range(steps):
            _accumulate(inputs[b, t], weight, acc, active)
            _shift_into(acc, 0, exp_re, drive[:neurons])
            _shift_into(acc, neurons, exp_im, drive[neurons:])
            _rotate(x, y, c, s, arith[0], arith[1])
            events += _add_saturated(x, drive[:neurons], arith[2], arith[3], top, bottom)
            events += _add_saturated(y, drive[neurons:], arith[2], arith[3], top, bottom)
            if mixing:
                _payload_into(x, payload_scale, payload)
                _accumulate(payload, mixing_re, mixed, active)
                _shift_into(mixed, 0, mixing_exp_re, a_re)
                _payload_into(y, payload_scale, payload)
                _accumulate(payload, mixing_im, mixed, active)
                _shift_into(mixed, 0, mixing_exp_im, a_im)
                fired += _mixing_fire(a_re, a_im, threshold, low, high, v, spikes[b, t])
            else:
                fired += _fire(x, threshold, spikes[b, t])
        counts[b] += fired
    return events, top.max(), bottom.min()


@njit(**_COMPILED)
def readout_block(
    inputs: np.ndarray, weight: np.ndarray, exponent: int, d: np.ndarray, arith: np.ndarray, y: np.ndarray,
    total: np.ndarray,
) -> tuple[int, float, float]:
    """A block of readout steps for B samples: y ← sat(shift(d·y) + a), Σ_t y added into total.

    inputs: (B, t, H) integer-valued; weight: (H, O) integer (`accumulator_dtype`);
    d: float64 (O,); y: float64 (B, O), stepped in place; total: int64 (B, O).
    Returns (saturation events, largest, smallest y).
    """
    outputs = d.shape[0]
    acc = np.empty(outputs, weight.dtype)
    active = np.empty(inputs.shape[2], np.int64)
    drive = np.empty(outputs)
    top, bottom = np.zeros(outputs), np.zeros(outputs)
    events = 0
    for b in range(inputs.shape[0]):
        row, sums = y[b], total[b]
        for t in range(inputs.shape[1]):
            _accumulate(inputs[b, t], weight, acc, active)
            _shift_into(acc, 0, exponent, drive)
            _decay(row, d, arith[0], arith[1])
            events += _add_saturated(row, drive, arith[2], arith[3], top, bottom)
            for o in range(outputs):
                sums[o] += np.int64(row[o])
    return events, top.max(), bottom.min()


@njit(**_COMPILED)
def _dense_rows(inputs: np.ndarray, weight: np.ndarray, exponent: int, out: np.ndarray) -> None:
    """out[n] ← (Σ_h inputs[n, h]·weight[h])·2^exponent for inputs (N, H), weight (H, P), out int64 (N, P)."""
    acc = np.empty(weight.shape[1], weight.dtype)
    active = np.empty(inputs.shape[1], np.int64)
    for n in range(inputs.shape[0]):
        _accumulate(inputs[n], weight, acc, active)
        _shift_into(acc, 0, exponent, out[n])


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
    _dense_rows(flat, np.ascontiguousarray(np.asarray(weight).T.astype(dtype)), int(exponent), out)
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
    events = neuron_steps(
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
    events = readout_steps(y, drive.reshape(1, -1, outputs), _as_float(decay, outputs), arithmetic(target))
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
    state_payload_bits range (through the golden simulator's `_payload_into`).
    """
    flat = np.asarray(parts, dtype=np.float64).reshape(-1)
    out = np.empty(flat.shape, dtype=np.int64)
    _payload_into(flat, 2.0 ** -target.state_payload_shift, out)
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
    for row in range(len(v)):
        _mixing_fire(parts[0][row], parts[1][row], limit, target.state_min, target.state_max, v[row], spikes[row])
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
