"""The target's rounding grids: their rules, and the same values from NumPy arrays and torch tensors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from s5rf_neuro import grids

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=[pytest.mark.gpu,
                                pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]),
]


@given(st.floats(1e-30, 1e30), st.integers(2, 8))
def test_weight_exponent_is_the_smallest_that_fits(max_abs: float, bits: int) -> None:
    exponent = grids.weight_exponent(max_abs, bits)
    mantissa_max = 2 ** (bits - 1) - 1
    assert math.ldexp(mantissa_max, exponent) >= max_abs
    assert math.ldexp(mantissa_max, exponent - 1) < max_abs


@settings(max_examples=200)
@given(st.floats(0.0, 1.0 - 1e-12), st.floats(-math.pi, math.pi), st.integers(1, 15))
def test_decay_grid_is_nearest_and_stable(radius: float, angle: float, bits: int) -> None:
    re = np.array([radius * math.cos(angle)])
    im = np.array([radius * math.sin(angle)])
    c, s = (float(v[0]) for v in grids.quantise_decay(re, im, bits))
    one = 2.0**bits
    assert c == int(c) and s == int(s)
    assert c * c + s * s < one * one
    nearest = (round(float(re[0]) * one), round(float(im[0]) * one))
    if nearest[0] ** 2 + nearest[1] ** 2 < one * one:
        assert (c, s) == nearest
    else:
        assert abs(c - float(re[0]) * one) < 1 and abs(s - float(im[0]) * one) < 1


def test_weight_mantissa_rounds_half_to_even_and_clips_to_the_signed_range() -> None:
    weight = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 7.0, 8.0, -8.0, -9.0]) * 0.25
    assert grids.weight_levels(weight, -2).tolist() == [0, 2, 2, 0, -2, 7, 8, -8, -9]
    assert grids.weight_mantissa(weight, -2, 4).tolist() == [0, 2, 2, 0, -2, 7, 7, -8, -8]


def test_the_grids_refuse_what_is_neither_an_array_nor_a_tensor() -> None:
    with pytest.raises(TypeError, match="got list"):
        grids.namespace([0.5])


def _values(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> np.ndarray:
    """Random float64 values with exact half-steps, zeros and zero rows mixed in (the rounding's edge cases)."""
    values = rng.normal(size=shape) * scale
    halves = (rng.integers(-40, 40, shape) + 0.5) * math.ldexp(1.0, int(rng.integers(-6, 2)))
    values = np.where(rng.random(shape) < 0.2, halves, values)
    values[rng.random(shape) < 0.1] = 0.0
    if len(shape) == 2 and shape[0] > 1:
        values[rng.integers(shape[0])] = 0.0
    return values


def _same(numpy_value, torch_value, device: str) -> None:
    """Identical values and dtype (float64) from both evaluations, ints and arrays alike; tensors stay on `device`."""
    if isinstance(numpy_value, tuple):
        assert isinstance(torch_value, tuple) and len(numpy_value) == len(torch_value)
        for left, right in zip(numpy_value, torch_value):
            _same(left, right, device)
    elif isinstance(numpy_value, int):
        assert numpy_value == torch_value
    else:
        assert isinstance(numpy_value, np.ndarray) and isinstance(torch_value, torch.Tensor)
        assert numpy_value.dtype == np.float64 and torch_value.dtype == torch.float64
        assert torch_value.device.type == device
        np.testing.assert_array_equal(torch_value.cpu().numpy(), numpy_value)


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(1, 12), st.integers(2, 8), st.integers(1, 16))
def test_numpy_and_torch_evaluate_every_grid_to_the_same_values(
    device: str, seed: int, rows: int, columns: int, weight_bits: int, decay_bits: int
) -> None:
    rng = np.random.default_rng(seed)
    weight_re, weight_im = _values(rng, (rows, columns), 3.0), _values(rng, (rows, columns), 3.0)
    exponent = int(rng.integers(-8, 3))
    # decays inside the unit disc, many close to its edge where the stability guard moves them
    radius = 1.0 - rng.uniform(0.0, 1.0, rows) ** 4
    angle = rng.uniform(-math.pi, math.pi, rows)
    decay_re, decay_im = radius * np.cos(angle), radius * np.sin(angle)
    real_decay = rng.uniform(0.0, 1.0, rows)

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(device)

    cases = [
        (grids.weight_levels, (weight_re, exponent)),
        (grids.weight_mantissa, (weight_re, exponent, weight_bits)),
        (grids.row_gains, (weight_re, weight_im, weight_bits)),
        (grids.quantise_complex_weight, (weight_re, weight_im, weight_bits)),
        (grids.quantise_decay, (decay_re, decay_im, decay_bits)),
        (grids.quantise_real_decay, (real_decay, decay_bits)),
    ]
    for function, args in cases:
        on_tensors = function(*(tensor(a) if isinstance(a, np.ndarray) else a for a in args))
        _same(function(*args), on_tensors, device)
