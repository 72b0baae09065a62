"""The compiled loops of the integer arithmetic (`hardware.neuron` states it and wraps them).

Compiled by numba on first use (cached in the package's __pycache__) and
run without the GIL. Each row update (`rotate`, `add_saturated`, `fire`, ...)
is one short loop over a few arrays, so that the compiler vectorises it: more
arrays in one loop exceed the number of overlap checks it makes, and a
running maximum is kept per element (`top`, `bottom`) rather than reduced in
the loop. `layer_block` and `readout_block` are the golden simulator's unit
of work; `neuron_steps` and `readout_steps` step given sums, for the Lava
models; both pairs take each step through the same `state_step` and
`readout_step`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_COMPILED = {"cache": True, "nogil": True}
"""numba options of the loops: compiled once into the package's cache, the GIL released while they run."""


@njit(**_COMPILED)
def accumulate(inputs: np.ndarray, weight: np.ndarray, acc: np.ndarray, active: np.ndarray) -> None:
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
def shift_into(acc: np.ndarray, start: int, exponent: int, out: np.ndarray) -> None:
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
def rotate(re: np.ndarray, im: np.ndarray, c: np.ndarray, s: np.ndarray, scale: float, offset: float) -> None:
    """re, im ← shift(c·re − s·im), shift(s·re + c·im) in place, shift(x) = floor((x + offset)·scale)."""
    for p in range(re.shape[0]):
        x, y = re[p], im[p]
        re[p] = np.floor((c[p] * x - s[p] * y + offset) * scale)
        im[p] = np.floor((s[p] * x + c[p] * y + offset) * scale)


@njit(**_COMPILED)
def decay(y: np.ndarray, d: np.ndarray, scale: float, offset: float) -> None:
    """y ← shift(d·y) in place (a readout's decay)."""
    for o in range(y.shape[0]):
        y[o] = np.floor((d[o] * y[o] + offset) * scale)


@njit(**_COMPILED)
def add_saturated(x: np.ndarray, a: np.ndarray, low: float, high: float, top: np.ndarray, bottom: np.ndarray) -> int:
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
def fire(re: np.ndarray, threshold: np.ndarray, out: np.ndarray) -> int:
    """out ← re > threshold; returns the number of spikes."""
    count = 0
    for p in range(re.shape[0]):
        spike = re[p] > threshold[p]
        out[p] = spike
        count += spike
    return count


@njit(**_COMPILED)
def payload_into(x: np.ndarray, scale: float, out: np.ndarray) -> None:
    """out ← floor(x·scale) as int64: the state payloads of integer-valued float64 states, scale = 2^−shift."""
    for p in range(x.shape[0]):
        out[p] = np.int64(np.floor(x[p] * scale))


@njit(**_COMPILED)
def mixing_fire(a_re: np.ndarray, a_im: np.ndarray, threshold: np.ndarray, low: int, high: int,
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
def state_step(re: np.ndarray, im: np.ndarray, a_re: np.ndarray, a_im: np.ndarray, c: np.ndarray, s: np.ndarray,
               arith: np.ndarray, top: np.ndarray, bottom: np.ndarray) -> int:
    """One integer step of a neuron state row: (re, im) ← sat((shift(c·re − s·im), shift(s·re + c·im)) + (a_re, a_im)).

    arith: `arithmetic`; top, bottom: as in `add_saturated`. Returns the saturation events.
    """
    rotate(re, im, c, s, arith[0], arith[1])
    return add_saturated(re, a_re, arith[2], arith[3], top, bottom) + add_saturated(im, a_im, arith[2], arith[3], top, bottom)


@njit(**_COMPILED)
def readout_step(y: np.ndarray, a: np.ndarray, d: np.ndarray, arith: np.ndarray, top: np.ndarray,
                 bottom: np.ndarray) -> int:
    """One integer step of a readout row: y ← sat(shift(d·y) + a). Returns the saturation events."""
    decay(y, d, arith[0], arith[1])
    return add_saturated(y, a, arith[2], arith[3], top, bottom)


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
            events += state_step(x, y, drive[t, b, :neurons], drive[t, b, neurons:], c, s, arith, top, bottom)
            fire(x, threshold, spikes[t, b])
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
            events += readout_step(y[b], drive[t, b], d, arith, top, bottom)
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
            accumulate(inputs[b, t], weight, acc, active)
            shift_into(acc, 0, exp_re, drive[:neurons])
            shift_into(acc, neurons, exp_im, drive[neurons:])
            events += state_step(x, y, drive[:neurons], drive[neurons:], c, s, arith, top, bottom)
            if mixing:
                payload_into(x, payload_scale, payload)
                accumulate(payload, mixing_re, mixed, active)
                shift_into(mixed, 0, mixing_exp_re, a_re)
                payload_into(y, payload_scale, payload)
                accumulate(payload, mixing_im, mixed, active)
                shift_into(mixed, 0, mixing_exp_im, a_im)
                fired += mixing_fire(a_re, a_im, threshold, low, high, v, spikes[b, t])
            else:
                fired += fire(x, threshold, spikes[b, t])
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
            accumulate(inputs[b, t], weight, acc, active)
            shift_into(acc, 0, exponent, drive)
            events += readout_step(row, drive, d, arith, top, bottom)
            for o in range(outputs):
                sums[o] += np.int64(row[o])
    return events, top.max(), bottom.min()


@njit(**_COMPILED)
def dense_rows(inputs: np.ndarray, weight: np.ndarray, exponent: int, out: np.ndarray) -> None:
    """out[n] ← (Σ_h inputs[n, h]·weight[h])·2^exponent for inputs (N, H), weight (H, P), out int64 (N, P)."""
    acc = np.empty(weight.shape[1], weight.dtype)
    active = np.empty(inputs.shape[1], np.int64)
    for n in range(inputs.shape[0]):
        accumulate(inputs[n], weight, acc, active)
        shift_into(acc, 0, exponent, out[n])
