"""The chunked parallel scan equals a plain sequential loop, values and gradients."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from s5rf_neuro.scan import chunk_size, linear_scan, sequential_scan


def loop_reference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """z[t] = a z[t-1] + b[t] written out step by step (independent of s5rf_neuro.scan)."""
    states = []
    z = torch.zeros_like(b[..., 0, :])
    for t in range(b.shape[-2]):
        z = a * z + b[..., t, :]
        states.append(z)
    return torch.stack(states, dim=-2)


def random_unit_disk(n: int, generator: torch.Generator, radius: float = 1.0) -> torch.Tensor:
    """n complex128 numbers uniform in the disk of the given radius."""
    r = radius * torch.rand(n, dtype=torch.float64, generator=generator).sqrt()
    phase = 2 * math.pi * torch.rand(n, dtype=torch.float64, generator=generator)
    return torch.polar(r, phase)


@pytest.mark.parametrize("steps", [1, 2, 3, 15, 16, 17, 99, 250, 1000])
def test_scan_equals_loop_float64_values_and_gradients(steps: int) -> None:
    gen = torch.Generator().manual_seed(steps)
    width = 7
    a = random_unit_disk(width, gen).requires_grad_()
    b = torch.randn(3, steps, width, dtype=torch.complex128, generator=gen).requires_grad_()
    weights = torch.randn(3, steps, width, dtype=torch.complex128, generator=gen)

    fast = linear_scan(a, b)
    slow = loop_reference(a, b)
    assert fast.dtype == torch.complex128 and fast.shape == b.shape
    assert (fast - slow).abs().max().item() < 1e-10

    loss_fast = (fast * weights).real.sum() + (fast.abs() ** 2).sum()
    loss_slow = (slow * weights).real.sum() + (slow.abs() ** 2).sum()
    grad_a_fast, grad_b_fast = torch.autograd.grad(loss_fast, (a, b))
    grad_a_slow, grad_b_slow = torch.autograd.grad(loss_slow, (a, b))
    scale = max(1.0, grad_a_slow.abs().max().item())
    assert (grad_a_fast - grad_a_slow).abs().max().item() < 1e-10 * scale
    assert (grad_b_fast - grad_b_slow).abs().max().item() < 1e-10 * max(1.0, grad_b_slow.abs().max().item())


def test_scan_near_unit_circle_long_sequence() -> None:
    gen = torch.Generator().manual_seed(1)
    a = torch.polar(torch.full((5,), 0.9999, dtype=torch.float64),
                    torch.rand(5, dtype=torch.float64, generator=gen) * 6)
    b = torch.randn(2, 1000, 5, dtype=torch.complex128, generator=gen)
    assert (linear_scan(a, b) - loop_reference(a, b)).abs().max().item() < 1e-10


@settings(max_examples=25, deadline=None)
@given(steps=st.integers(1, 80), width=st.integers(1, 6), batch=st.integers(1, 3), seed=st.integers(0, 2**31))
def test_scan_equals_loop_any_length(steps: int, width: int, batch: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    a = random_unit_disk(width, gen)
    b = torch.randn(batch, steps, width, dtype=torch.complex128, generator=gen)
    assert (linear_scan(a, b) - loop_reference(a, b)).abs().max().item() < 1e-10


def test_complex64_matches_complex128() -> None:
    gen = torch.Generator().manual_seed(2)
    a = random_unit_disk(16, gen, radius=0.99)
    b = torch.randn(4, 250, 16, dtype=torch.complex128, generator=gen)
    single = linear_scan(a.to(torch.complex64), b.to(torch.complex64))
    assert single.dtype == torch.complex64
    assert (single.to(torch.complex128) - loop_reference(a, b)).abs().max().item() < 1e-4


def test_real_scan_and_gradcheck() -> None:
    gen = torch.Generator().manual_seed(3)
    a = torch.rand(4, dtype=torch.float64, generator=gen).requires_grad_()
    b = torch.randn(2, 40, 4, dtype=torch.float64, generator=gen).requires_grad_()
    out = linear_scan(a, b)
    assert out.dtype == torch.float64
    assert torch.allclose(out, loop_reference(a, b), atol=1e-12)
    assert torch.autograd.gradcheck(linear_scan, (a, b))


def test_complex_gradcheck() -> None:
    gen = torch.Generator().manual_seed(4)
    a = random_unit_disk(3, gen, radius=0.95).requires_grad_()
    b = torch.randn(2, 21, 3, dtype=torch.complex128, generator=gen).requires_grad_()
    assert torch.autograd.gradcheck(linear_scan, (a, b))


def test_per_sample_factor_broadcasts() -> None:
    gen = torch.Generator().manual_seed(5)
    a = random_unit_disk(6, gen).reshape(2, 3).requires_grad_()
    b = torch.randn(2, 30, 3, dtype=torch.complex128, generator=gen).requires_grad_()
    fast, slow = linear_scan(a, b), loop_reference(a, b)
    assert (fast - slow).abs().max().item() < 1e-12
    (ga, gb) = torch.autograd.grad(fast.real.sum(), (a, b))
    (ga2, gb2) = torch.autograd.grad(slow.real.sum(), (a, b))
    assert torch.allclose(ga, ga2) and torch.allclose(gb, gb2)


def test_real_factor_with_complex_input_is_promoted() -> None:
    a = torch.tensor([0.5, 0.25], dtype=torch.float64, requires_grad=True)
    b = torch.ones(1, 3, 2, dtype=torch.complex128)
    z = linear_scan(a, b)
    assert torch.allclose(z[0, :, 0], torch.tensor([1, 1.5, 1.75], dtype=torch.complex128))
    z.real.sum().backward()
    assert a.grad is not None and a.grad.dtype == torch.float64


def test_sequential_scan_is_the_plain_loop() -> None:
    gen = torch.Generator().manual_seed(6)
    a = random_unit_disk(4, gen)
    b = torch.randn(2, 50, 4, dtype=torch.complex128, generator=gen)
    assert torch.equal(sequential_scan(a, b), loop_reference(a, b))


def test_chunk_size_is_ceil_sqrt() -> None:
    assert [chunk_size(t) for t in (0, 1, 2, 4, 5, 250, 1000)] == [1, 1, 2, 2, 3, 16, 32]


def test_time_major_and_strided_inputs() -> None:
    gen = torch.Generator().manual_seed(8)
    a = random_unit_disk(5, gen)
    time_major = torch.randn(40, 3, 5, dtype=torch.complex128, generator=gen).movedim(0, 1)
    strided = torch.randn(3, 40, 10, dtype=torch.complex128, generator=gen)[..., ::2]
    unbatched = torch.randn(40, 5, dtype=torch.complex128, generator=gen)
    for b in (time_major, strided, unbatched):
        assert (linear_scan(a, b) - loop_reference(a, b)).abs().max().item() < 1e-12


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="b must have shape"):
        linear_scan(torch.ones(3), torch.ones(3))
    with pytest.raises(ValueError, match="does not match"):
        linear_scan(torch.ones(4), torch.ones(2, 5, 3))
