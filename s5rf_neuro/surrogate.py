"""Spike non-linearity with the multi-Gaussian surrogate gradient.

Forward: H(v) = 1 where v > 0 (strictly), else 0. Backward: the derivative is
replaced by the multi-Gaussian of Yin et al. (2021) with the S5-RF settings
h = 0.15, σ = 0.5, s = 6 (unnormalised Gaussians, peak 1 + h − 2h·e^(−1/72) at v = 0):

    g(v) = (1 + h)·G(v; 0, σ) − h·G(v; σ, s·σ) − h·G(v; −σ, s·σ),
    G(v; μ, w) = exp(−½·((v − μ)/w)²).
"""

from __future__ import annotations

import torch
from torch import Tensor

SURROGATE_HEIGHT = 0.15
SURROGATE_WIDTH = 0.5
SURROGATE_SCALE = 6.0


def multi_gaussian(v: Tensor, h: float = SURROGATE_HEIGHT, sigma: float = SURROGATE_WIDTH,
                   s: float = SURROGATE_SCALE) -> Tensor:
    """The surrogate derivative g(v), elementwise, same shape and dtype as v."""
    wide = s * sigma
    return ((1.0 + h) * torch.exp(-0.5 * (v / sigma) ** 2)
            - h * torch.exp(-0.5 * ((v - sigma) / wide) ** 2)
            - h * torch.exp(-0.5 * ((v + sigma) / wide) ** 2))


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(v)
        return (v > 0).to(v.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        (v,) = ctx.saved_tensors
        return grad * multi_gaussian(v)


def spike_fn(v: Tensor) -> Tensor:
    """Spikes H(v) (1.0 where v > 0, else 0.0, v's dtype) with the multi-Gaussian surrogate gradient.

    The layer calls it with v = Re z − 1, so a neuron fires when Re z > 1.
    """
    return _Spike.apply(v)
