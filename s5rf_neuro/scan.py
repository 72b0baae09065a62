"""Parallel scan for the diagonal linear recurrence z[t] = a ⊙ z[t−1] + b[t], z[−1] = 0, with autograd.

`linear_scan` splits time into chunks of C ≈ √T steps and works on all chunks
at once (chunked scan):

1. scan inside every chunk, all chunks in parallel (C − 1 vector steps);
2. carry the chunk-end states from chunk to chunk with a^C (⌊T/C⌋ − 1 steps);
3. add a^(j+1) · (end state of the previous chunk) to position j of every
   chunk (C − 1 vector steps).

That is about 3√T tensor operations instead of T, each over a whole slice of
the batch, and no autograd graph per step. The backward pass is the same scan
run backwards in time with conj(a) (the adjoint recurrence), and
grad a = Σ_t conj(z[t−1]) ⊙ grad b[t]. Works for real and complex dtypes.

Outputs are stored time-major (the time axis outermost in memory), so every
chunk slice is a few large contiguous blocks; the returned tensor has the
usual (..., T, P) shape (a permuted view), and inputs already in that layout
(as the layers produce them) are read without strided gathers.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


def chunk_size(steps: int) -> int:
    """Chunk length C used for T = steps: ⌈√T⌉ (at least 1)."""
    return max(1, math.isqrt(max(steps - 1, 0)) + 1)


def _powers(a: Tensor, count: int) -> Tensor:
    """a^1 … a^count stacked on a new axis −2: shape (..., count, P)."""
    return torch.cumprod(a.unsqueeze(-2).expand(*a.shape[:-1], count, a.shape[-1]), dim=-2)


def _scan_chunks_(z: Tensor, a: Tensor, reverse: bool) -> None:
    """Scan z (..., n, C, P) in place along the flattened (n, C) time axis.

    Forward: z[t] += a·z[t−1]. Reverse: z[t] += a·z[t+1]. `a` is (..., P)
    broadcastable against z without its two time axes.
    """
    n, c = z.shape[-3], z.shape[-2]
    a_chunk = a.unsqueeze(-2)
    pw = _powers(a, c)
    a_c = pw[..., c - 1, :]
    if not reverse:
        for j in range(1, c):
            z[..., j, :].addcmul_(z[..., j - 1, :], a_chunk)
        for k in range(1, n):
            z[..., k, c - 1, :].addcmul_(z[..., k - 1, c - 1, :], a_c)
        if n > 1:
            for j in range(c - 1):
                z[..., 1:, j, :].addcmul_(z[..., :-1, c - 1, :], pw[..., j, :].unsqueeze(-2))
    else:
        for j in range(c - 2, -1, -1):
            z[..., j, :].addcmul_(z[..., j + 1, :], a_chunk)
        for k in range(n - 2, -1, -1):
            z[..., k, 0, :].addcmul_(z[..., k + 1, 0, :], a_c)
        if n > 1:
            for j in range(1, c):
                z[..., :-1, j, :].addcmul_(z[..., 1:, 0, :], pw[..., c - 1 - j, :].unsqueeze(-2))


def _empty_time_major(lead: torch.Size, steps: int, width: int, like: Tensor) -> Tensor:
    """Uninitialised (*lead, T, P) tensor whose storage is time-major (T, *lead, P)."""
    return torch.empty((steps, *lead, width), dtype=like.dtype, device=like.device).movedim(0, -2)


def _chunked(z: Tensor, a: Tensor, b: Tensor, reverse: bool) -> None:
    """The chunked parallel scan of b into z (..., T, P).

    The time axis holds n = ⌊T/C⌋ full chunks scanned by `_scan_chunks_`; the
    remaining T − nC steps (fewer than C) follow the last full chunk (or, in
    reverse, precede the first one) and are stepped one at a time.
    """
    steps = b.shape[-2]
    z.copy_(b)
    c = chunk_size(steps)
    n = steps // c
    rest = steps - n * c
    if not reverse:
        _scan_chunks_(z[..., :n * c, :].unflatten(-2, (n, c)), a, reverse=False)
        for t in range(n * c, steps):
            z[..., t, :].addcmul_(z[..., t - 1, :], a)
    else:
        _scan_chunks_(z[..., rest:, :].unflatten(-2, (n, c)), a, reverse=True)
        for t in range(rest - 1, -1, -1):
            z[..., t, :].addcmul_(z[..., t + 1, :], a)


def _scan(a: Tensor, b: Tensor, reverse: bool) -> Tensor:
    """Scan of b (..., T, P) without autograd into a new time-major tensor of the broadcast shape."""
    lead = torch.broadcast_shapes(b.shape[:-2], a.shape[:-1])
    z = _empty_time_major(lead, b.shape[-2], b.shape[-1], b)
    _chunked(z, a, b.expand(*lead, *b.shape[-2:]), reverse)
    return z


class _LinearScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor) -> Tensor:  # type: ignore[override]
        z = _scan(a, b, reverse=False)
        ctx.save_for_backward(a, z)
        ctx.b_shape = b.shape
        return z

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_z: Tensor) -> tuple[Tensor | None, Tensor | None]:  # type: ignore[override]
        a, z = ctx.saved_tensors
        grad_b = _scan(a.conj().resolve_conj(), grad_z, reverse=True)
        grad_a = None
        if ctx.needs_input_grad[0]:
            grad_a = _time_dot(z, grad_b)
            grad_a = grad_a.sum_to_size(a.shape) if grad_a.shape != a.shape else grad_a
        if ctx.needs_input_grad[1]:
            if grad_b.shape != ctx.b_shape:
                grad_b = grad_b.sum_to_size(ctx.b_shape)
        else:
            grad_b = None
        return grad_a, grad_b


def _time_dot(z: Tensor, g: Tensor) -> Tensor:
    """Σ_t conj(z[t−1]) ⊙ g[t] over the time axis −2, in blocks to keep temporaries small: (..., P)."""
    steps = z.shape[-2]
    out = torch.zeros(z.shape[:-2] + z.shape[-1:], dtype=z.dtype, device=z.device)
    block = chunk_size(steps)
    for start in range(1, steps, block):
        stop = min(start + block, steps)
        out += (z[..., start - 1:stop - 1, :].conj() * g[..., start:stop, :]).sum(dim=-2)
    return out


def linear_scan(a: Tensor, b: Tensor) -> Tensor:
    """z[..., t, :] = a ⊙ z[..., t−1, :] + b[..., t, :] with z[..., −1, :] = 0, by the chunked parallel scan.

    a: per-channel factor, shape (P,) or (..., P) broadcastable against b
       without b's time axis; real or complex.
    b: inputs (..., T, P), real or complex (float32/complex64 or float64/complex128).
    Returns z with b's dtype and shape (..., T, P), differentiable in a and b.
    A real `a` with a complex `b` is promoted to complex.
    The result is stored time-major (see the module doc).
    """
    if b.dim() < 2:
        raise ValueError(f"linear_scan: b must have shape (..., T, P), got {tuple(b.shape)}")
    if a.dim() < 1 or a.shape[-1] not in (1, b.shape[-1]):
        raise ValueError(f"linear_scan: a of shape {tuple(a.shape)} does not match b of shape {tuple(b.shape)}")
    if a.dtype != b.dtype:
        a = a.to(b.dtype)
    return _LinearScan.apply(a, b)


def sequential_scan(a: Tensor, b: Tensor) -> Tensor:
    """The same recurrence as `linear_scan`, as a plain Python loop over time (reference and baseline)."""
    z = torch.zeros_like(b[..., 0, :] * a)
    states = []
    for t in range(b.shape[-2]):
        z = a * z + b[..., t, :]
        states.append(z)
    return torch.stack(states, dim=-2)
