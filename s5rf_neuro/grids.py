"""The fixed-point target's rounding grids, one definition for NumPy arrays and torch tensors.

Integer quantisation (`s5rf_neuro.export.quantise`, NumPy float64) and
quantisation-aware training (`s5rf_neuro.qat`, torch, any device) call the
same functions; each array function works in the namespace of its argument
(`numpy` for an ndarray, `torch` for a tensor, picked by `namespace`), so
neither side converts to the other. Only IEEE-exact operations are used
(products, quotients, rounding half to even, floor, ceil, comparisons), so a
float64 array and a float64 CPU tensor give identical values. This module
never imports torch: a tensor can only reach it once torch is loaded.

The grids:

- weights of one connection (the real or the imaginary matrix of a layer, or
  the readout) share a power-of-two step 2^E, with E the smallest integer
  such that max|w| / 2^E fits the signed mantissa (max 2^(bits−1) − 1);
  a weight becomes round(w / 2^E)·2^E (round half to even);
- a layer's complex weights W (P, H) are first brought to a common row scale:
  row i is multiplied by its gain g_i = (1 − 2^-(bits−1)) / max_h max(|Re W_ih|, |Im W_ih|),
  so every neuron's largest weight uses the full mantissa. Scaling a neuron's
  weights and threshold by the same g_i leaves its spikes unchanged, so the
  gain goes into the neuron's state unit (the integer quantiser scales the
  threshold alike); in float terms W_q,ih = round(g_i·W_ih / 2^E)·2^E / g_i;
- a complex decay λ̄ becomes (c + i·s) / 2^k with c, s the nearest integers
  to 2^k·Re λ̄, 2^k·Im λ̄ (half to even), unless c² + s² ≥ 4^k (|λ̄_q| ≥ 1, a
  growing oscillation): then the nearest of the four surrounding grid points
  with c² + s² < 4^k is taken (the first of them on a tie);
- a real decay d (the readout) becomes round(d·2^k)/2^k, at most (2^k − 1)/2^k.
"""

from __future__ import annotations

import math
import sys
from types import ModuleType
from typing import Any, TypeVar

import numpy as np

Array = TypeVar("Array", bound=Any)
"""A `numpy.ndarray` or a `torch.Tensor`; results have the argument's type (and device)."""


def namespace(array: Any) -> ModuleType:
    """`numpy` for an ndarray, `torch` for a tensor; `TypeError` for anything else."""
    if isinstance(array, np.ndarray):
        return np
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(array, torch.Tensor):
        return torch
    raise TypeError(f"expected a numpy.ndarray or a torch.Tensor, got {type(array).__name__}")


def weight_exponent(max_abs: float, weight_bits: int) -> int:
    """Smallest E with max_abs / 2^E ≤ 2^(weight_bits−1) − 1 (0 for an all-zero matrix)."""
    mantissa_max = (1 << (weight_bits - 1)) - 1
    if not max_abs > 0:
        return 0
    exponent = math.ceil(math.log2(max_abs / mantissa_max))
    while math.ldexp(mantissa_max, exponent) < max_abs:
        exponent += 1
    while math.ldexp(mantissa_max, exponent - 1) >= max_abs:
        exponent -= 1
    return exponent


def gauged_exponent(max_abs: float, weight_bits: int) -> int:
    """`weight_exponent` of a row-gauged matrix: never above 1 − bits, where its rows lie by construction.

    (Rounding in the gains can push the largest entry a hair above (2^(b−1) − 1)·2^(1−b);
    the mantissa clamp absorbs that instead of doubling the step.)
    """
    return min(weight_exponent(max_abs, weight_bits), 1 - weight_bits)


def weight_levels(weight: Array, exponent: int) -> Array:
    """round(weight / 2^exponent), half to even, not clipped (same dtype as weight)."""
    return namespace(weight).round(weight * math.ldexp(1.0, -exponent))


def weight_mantissa(weight: Array, exponent: int, weight_bits: int) -> Array:
    """`weight_levels` clipped to the signed mantissa range [−2^(bits−1), 2^(bits−1) − 1] (same dtype as weight)."""
    limit = 1 << (weight_bits - 1)
    return namespace(weight).clip(weight_levels(weight, exponent), -limit, limit - 1)


def row_gains(weight_re: Array, weight_im: Array, weight_bits: int) -> Array:
    """Per-row gains g (P,) that bring each row's largest |component| of W (P, H) to 1 − 2^-(bits−1) (1 for a zero row)."""
    xp = namespace(weight_re)
    full_scale = 1.0 - math.ldexp(1.0, 1 - weight_bits)
    row_max = xp.maximum(xp.amax(abs(weight_re), 1), xp.amax(abs(weight_im), 1))
    nonzero = row_max > 0
    # full_scale·(1/max), two roundings, as torch evaluates full_scale / max; the export's gains have always been these
    return xp.where(nonzero, full_scale * (1.0 / xp.where(nonzero, row_max, 1.0)), xp.ones_like(row_max))


def quantise_complex_weight(
    weight_re: Array, weight_im: Array, weight_bits: int
) -> tuple[Array, tuple[Array, int], tuple[Array, int]]:
    """Row gains g (P,) and (mantissa, E) of the real and of the imaginary matrix of g ⊙ W (W: (P, H))."""
    gains = row_gains(weight_re, weight_im, weight_bits)
    parts = []
    for part in (weight_re, weight_im):
        scaled = part * gains[:, None]
        exponent = gauged_exponent(float(abs(scaled).max()) if math.prod(scaled.shape) else 0.0, weight_bits)
        parts.append((weight_mantissa(scaled, exponent, weight_bits), exponent))
    return gains, parts[0], parts[1]


def quantise_decay(decay_re: Array, decay_im: Array, decay_bits: int) -> tuple[Array, Array]:
    """Integer-valued (c, s) of λ̄ = decay_re + i·decay_im on the 2^-decay_bits grid with c² + s² < 4^k."""
    xp = namespace(decay_re)
    one = float(1 << decay_bits)
    scaled_re, scaled_im = decay_re * one, decay_im * one
    c, s = xp.round(scaled_re), xp.round(scaled_im)
    stable = c * c + s * s < one * one
    if bool(stable.all()):
        return c, s
    floor_re, ceil_re, floor_im, ceil_im = xp.floor(scaled_re), xp.ceil(scaled_re), xp.floor(scaled_im), xp.ceil(scaled_im)
    best: tuple[Array, Array, Array] | None = None
    for corner_c, corner_s in ((floor_re, floor_im), (ceil_re, floor_im), (floor_re, ceil_im), (ceil_re, ceil_im)):
        off_re, off_im = corner_c - scaled_re, corner_s - scaled_im
        error = xp.where(corner_c * corner_c + corner_s * corner_s < one * one, off_re * off_re + off_im * off_im, math.inf)
        if best is None:
            best = (corner_c, corner_s, error)
            continue
        closer = error < best[2]
        best = (xp.where(closer, corner_c, best[0]), xp.where(closer, corner_s, best[1]), xp.where(closer, error, best[2]))
    return xp.where(stable, c, best[0]), xp.where(stable, s, best[1])


def quantise_real_decay(decay: Array, decay_bits: int) -> Array:
    """Integer-valued d of a real decay in [0, 1) on the 2^-decay_bits grid, at most 2^k − 1."""
    xp = namespace(decay)
    one = float(1 << decay_bits)
    return xp.clip(xp.round(decay * one), 0.0, one - 1.0)
