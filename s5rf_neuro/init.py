"""Initial values of an S5-RF layer (docs/design.md §2).

- λ: HiPPO-LegS in its diagonal-plus-low-rank (DPLR) form. The normal part
  S = A + p pᵀ of the LegS matrix is −½·I plus a skew-symmetric matrix, so
  its eigenvalues are −½ + i·ω with ω the eigenvalues of the Hermitian
  matrix −i·skew(S). One block of size P/num_blocks, repeated over blocks.
- V: the block-diagonal matrix of those eigenvectors (unitary, V⁻¹ = Vᴴ).
- B = V⁻¹·C with C complex lecun-normal (real and imaginary parts each
  truncated normal, variance 1/H).
- log Δ ~ U(log η_min, log η_max) per neuron.

The eigen-decomposition runs in float64 NumPy so every model gets the same
λ and V bit for bit, whatever torch's default dtype.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import Tensor

# Standard deviation of a standard normal truncated to [-2, 2]; dividing by it
# gives the truncated samples the intended variance (as JAX's lecun_normal does).
_TRUNC_STD = 0.87962566103423978


def hippo_legs(n: int) -> np.ndarray:
    """HiPPO-LegS state matrix A (n, n), float64: A[i, k] = −√(2i+1)√(2k+1) for i > k, −(i+1) on the diagonal."""
    p = np.sqrt(1.0 + 2.0 * np.arange(n))
    a = np.tril(p[:, None] * p[None, :]) - np.diag(np.arange(n, dtype=np.float64))
    return -a


@functools.lru_cache(maxsize=8)
def hippo_legs_dplr(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of the normal part of HiPPO-LegS of size n (cached, arrays read-only).

    Returns (lam (n,) complex128, V (n, n) complex128) with S = V diag(lam) Vᴴ,
    Re lam = mean of diag(S) = −½, Im lam ascending.
    """
    low_rank = np.sqrt(np.arange(n) + 0.5)
    s = hippo_legs(n) + low_rank[:, None] * low_rank[None, :]
    skew = 0.5 * (s - s.T)
    omega, v = np.linalg.eigh(-1j * skew)
    lam = np.full(n, np.mean(np.diagonal(s))) + 1j * omega
    lam.setflags(write=False)
    v.setflags(write=False)
    return lam, v


def block_hippo(num_neurons: int, num_blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """λ (P,) and block-diagonal V (P, P), both complex128, for P neurons in equal HiPPO-LegS blocks."""
    size = num_neurons // num_blocks
    lam, v = hippo_legs_dplr(size)
    big_v = np.zeros((num_neurons, num_neurons), dtype=np.complex128)
    for block in range(num_blocks):
        big_v[block * size:(block + 1) * size, block * size:(block + 1) * size] = v
    return np.tile(lam, num_blocks), big_v


def lecun_normal(shape: tuple[int, ...], fan_in: int, generator: torch.Generator | None = None) -> Tensor:
    """Truncated-normal samples (float64) of variance 1/fan_in, cut at two standard deviations."""
    out = torch.empty(shape, dtype=torch.float64)
    torch.nn.init.trunc_normal_(out, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=generator)
    return out * (math.sqrt(1.0 / fan_in) / _TRUNC_STD)


def input_weight(v: np.ndarray, input_dim: int, generator: torch.Generator | None = None) -> Tensor:
    """B = V⁻¹·C (P, H) complex128, with C complex lecun-normal (fan-in H)."""
    c = lecun_normal((v.shape[0], input_dim, 2), input_dim, generator)
    c = torch.complex(c[..., 0], c[..., 1])
    v_inv = torch.from_numpy(v.conj().T.copy())
    return v_inv @ c


def log_step(num_neurons: int, eta_min: float, eta_max: float, generator: torch.Generator | None = None) -> Tensor:
    """log Δ (P,) float64, uniform in [log η_min, log η_max)."""
    u = torch.rand(num_neurons, dtype=torch.float64, generator=generator)
    return math.log(eta_min) + u * (math.log(eta_max) - math.log(eta_min))
