"""One layer of resonate-and-fire neurons (`S5RFLayer`), docs/design.md §2.

Per neuron p: λ_p = −exp(a_p) + i·ω_p, Δ_p = exp(log_step_p), complex input
weights B (P, H). The input current B·u is discretised per neuron into
λ̄, b̄ (dirac, zoh or bilinear), the state z[t] = λ̄ ⊙ z[t−1] + b̄ ⊙ (B·u[t])
runs through the parallel scan, and the neuron spikes when Re z > 1.

Complex parameters are stored as real pairs (trailing axis [re, im]) so
`.double()`, `.to(device)` and optimisers treat them as ordinary tensors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from s5rf_neuro import init
from s5rf_neuro.config import DISCRETIZATIONS
from s5rf_neuro.errors import ConfigError, DataError
from s5rf_neuro.scan import linear_scan
from s5rf_neuro.surrogate import spike_fn

THRESHOLD = 1.0


def time_major_matmul(x: Tensor, weight: Tensor) -> Tensor:
    """x (..., T, K) @ weight (K, N) -> (..., T, N), computed and stored time-major.

    The result is a (..., T, N) view of a (T, ..., N) tensor, the layout the
    scan works in; an input already in that layout is used without a copy.
    """
    return torch.matmul(x.movedim(-2, 0), weight).movedim(0, -2)


class S5RFLayer(nn.Module):
    """P resonate-and-fire neurons driven by H input channels.

    Parameters (state_dict keys):
        lambda_param (P, 2): [log(−Re λ), Im λ] (the reference's `Lambda`).
        log_step (P,): log Δ.
        input_weight_ri (P, H, 2): B as [re, im].
        mixing_ri (P, P, 2): buffer, only with `apply_mixing`: eigenvector
            matrix V applied to the states after the scan (fixed, not trained).

    Dropout (probability `dropout`) acts on the input current B·u, each of its
    real and imaginary parts independently, in training mode only.
    """

    def __init__(self, input_dim: int, num_neurons: int, num_blocks: int = 1, discretization: str = "dirac",
                 keep_imag: bool = True, eta_min: float = 0.001, eta_max: float = 0.1, dropout: float = 0.0,
                 apply_mixing: bool = False, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if discretization not in DISCRETIZATIONS:
            raise ConfigError(f"config field 'discretization': unknown value {discretization!r} "
                              f"(choose one of {', '.join(DISCRETIZATIONS)})")
        if input_dim <= 0 or num_neurons <= 0 or num_blocks <= 0 or num_neurons % num_blocks:
            raise ConfigError(f"S5RFLayer: cannot build {num_neurons} neurons in {num_blocks} blocks "
                              f"from {input_dim} inputs")
        self.input_dim = input_dim
        self.num_neurons = num_neurons
        self.discretization = discretization
        self.keep_imag = keep_imag
        self.dropout = float(dropout)

        lam, v = init.block_hippo(num_neurons, num_blocks)
        dtype = torch.get_default_dtype()
        lam = torch.from_numpy(lam)
        self.lambda_param = nn.Parameter(torch.stack([torch.log(-lam.real), lam.imag], dim=-1).to(dtype))
        self.log_step = nn.Parameter(init.log_step(num_neurons, eta_min, eta_max, generator).to(dtype))
        weight = init.input_weight(v, input_dim, generator)
        self.input_weight_ri = nn.Parameter(torch.view_as_real(weight).to(dtype).clone())
        if apply_mixing:
            self.register_buffer("mixing_ri", torch.view_as_real(torch.from_numpy(v)).to(dtype).clone())
        else:
            self.mixing_ri: Tensor | None = None

    @property
    def lambda_continuous(self) -> Tensor:
        """λ = −exp(a) + i·ω, complex (P,)."""
        return torch.complex(-torch.exp(self.lambda_param[:, 0]), self.lambda_param[:, 1])

    @property
    def step(self) -> Tensor:
        """Δ = exp(log_step), real (P,), in time steps."""
        return torch.exp(self.log_step)

    @property
    def input_weight(self) -> Tensor:
        """B, complex (P, H)."""
        return torch.complex(self.input_weight_ri[..., 0], self.input_weight_ri[..., 1])

    @property
    def mixing(self) -> Tensor | None:
        """V applied to the states after the scan, complex (P, P); None when the layer does not mix."""
        if self.mixing_ri is None:
            return None
        return torch.complex(self.mixing_ri[..., 0], self.mixing_ri[..., 1])

    def discretise(self) -> tuple[Tensor, Tensor]:
        """Closed forms (λ̄, b̄), both complex (P,):

        dirac: λ̄ = exp(λΔ), b̄ = Δ; zoh: λ̄ = exp(λΔ), b̄ = (λ̄ − 1)/λ;
        bilinear: λ̄ = (1 + Δλ/2)/(1 − Δλ/2), b̄ = Δ/(1 − Δλ/2).
        """
        lam = self.lambda_continuous
        step = self.step
        if self.discretization == "bilinear":
            denom = 1.0 - 0.5 * step * lam
            return (1.0 + 0.5 * step * lam) / denom, step / denom
        lam_bar = torch.exp(lam * step)
        if self.discretization == "zoh":
            return lam_bar, (lam_bar - 1.0) / lam
        return lam_bar, torch.complex(step, torch.zeros_like(step))

    def _drive(self, u: Tensor) -> tuple[Tensor, Tensor]:
        """λ̄ (P,) and the discretised input b̄ ⊙ B·u (or b̄ ⊙ Re(B·u)), complex (batch, T, P)."""
        if u.shape[-1] != self.input_dim:
            raise DataError(f"layer input has {u.shape[-1]} channels, the layer expects {self.input_dim}")
        lam_bar, b_bar = self.discretise()
        drop = self.training and self.dropout > 0.0
        weight = self.input_weight
        if not self.keep_imag:
            weight = torch.complex(weight.real, torch.zeros_like(weight.real))
        # A real b̄ (dirac) commutes with the per-part dropout mask, so it can be folded into the weights.
        fold = self.discretization == "dirac" or not drop
        if fold:
            weight = b_bar.unsqueeze(-1) * weight
        # Rows [re_0, im_0, re_1, im_1, ...]: the real matmul output is the interleaved complex current.
        rows = torch.view_as_real(weight).transpose(1, 2).reshape(2 * self.num_neurons, self.input_dim)
        current = time_major_matmul(u.to(rows.dtype), rows.t())
        if drop:
            current = F.dropout(current, self.dropout, training=True)
        current = torch.view_as_complex(current.view(*current.shape[:-1], self.num_neurons, 2))
        if not fold:
            current = current * b_bar
        return lam_bar, current

    def _scan_states(self, u: Tensor) -> Tensor:
        lam_bar, current = self._drive(u)
        return linear_scan(lam_bar, current)

    def states(self, u: Tensor) -> Tensor:
        """Complex states z (batch, T, P) for real input u (batch, T, H), after the mixing (if any)."""
        z = self._scan_states(u)
        mixing = self.mixing
        if mixing is not None:
            z = time_major_matmul(z, mixing.t())
        return z

    def forward(self, u: Tensor) -> Tensor:
        """Spikes H(Re z − 1) (batch, T, P), 0.0/1.0, with the multi-Gaussian surrogate gradient."""
        z = self._scan_states(u)
        if self.mixing_ri is None:
            real = z.real
        else:
            # Re(V z) = Re V · Re z − Im V · Im z as one real matmul on the interleaved state.
            rows = torch.stack([self.mixing_ri[..., 0], -self.mixing_ri[..., 1]], dim=-1)
            rows = rows.reshape(self.num_neurons, 2 * self.num_neurons)
            real = time_major_matmul(torch.view_as_real(z).flatten(-2), rows.t())
        return spike_fn(real - THRESHOLD)

    def extra_repr(self) -> str:
        return (f"input_dim={self.input_dim}, num_neurons={self.num_neurons}, "
                f"discretization={self.discretization!r}, keep_imag={self.keep_imag}, "
                f"dropout={self.dropout}, mixing={self.mixing_ri is not None}")
