"""The S5-RF classifier (`S5RFClassifier`), docs/design.md §2.

input (batch, T, H) → L layers of resonate-and-fire neurons → readout
y[t] = σ(κ) ⊙ y[t−1] + Re(B_out)·s[t] on the last layer's spikes s →
score = mean over t of y → log-softmax (batch, O).

Layer 0 uses `config.discretization` (and, for "zoh", the eigenvector mixing
after the scan); deeper layers use "dirac". Middle layers 1 … L−2 get the
skip connection (output = spikes + layer input, when `apply_skip`) and the
dropout on their input current.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from s5rf_neuro import init
from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.errors import ConfigError, DataError
from s5rf_neuro.layer import S5RFLayer, time_major_matmul
from s5rf_neuro.scan import linear_scan


class S5RFClassifier(nn.Module):
    """Deep resonate-and-fire classifier built from an `S5RFConfig`.

    Parameters (state_dict keys): `layers.{l}.*` (see `S5RFLayer`),
    `readout_weight` (O, P) real = Re(B_out), `readout_logit` (O,) = κ.
    Initial values use torch's global random generator unless `generator` is given.
    """

    def __init__(self, config: S5RFConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if not isinstance(config, S5RFConfig):
            raise ConfigError(f"S5RFClassifier: expected an S5RFConfig, got {type(config).__name__}")
        config.validate()
        self.config = config
        num_layers, width = config.num_layers, config.num_neurons
        middle = tuple(range(1, num_layers - 1))
        self.skip_layers: tuple[int, ...] = middle if config.apply_skip else ()
        self.layers = nn.ModuleList(
            S5RFLayer(
                input_dim=config.input_dim if index == 0 else width,
                num_neurons=width,
                num_blocks=config.num_blocks,
                discretization=config.discretization if index == 0 else "dirac",
                keep_imag=config.keep_imag,
                eta_min=config.eta_min,
                eta_max=config.eta_max,
                dropout=config.dropout if index in middle else 0.0,
                apply_mixing=index == 0 and config.discretization == "zoh",
                generator=generator,
            )
            for index in range(num_layers)
        )
        dtype = torch.get_default_dtype()
        self.readout_weight = nn.Parameter(
            init.lecun_normal((config.output_dim, width), width, generator).to(dtype))
        decay = config.readout_decay_init
        self.readout_logit = nn.Parameter(
            torch.full((config.output_dim,), math.log(decay / (1.0 - decay)), dtype=dtype))

    @property
    def readout_decay(self) -> Tensor:
        """σ(κ), real (O,), in (0, 1)."""
        return torch.sigmoid(self.readout_logit)

    def _check_input(self, x: Tensor) -> Tensor:
        expected = self.config.input_dim
        if x.dim() != 3 or x.shape[-1] != expected:
            raise DataError(f"model input has shape {tuple(x.shape)}, expected (batch, T, {expected})")
        return x.to(self.readout_weight.dtype)

    def readout(self, spikes: Tensor) -> Tensor:
        """Log-probabilities (batch, O) from the last layer's output (batch, T, P)."""
        drive = time_major_matmul(spikes, self.readout_weight.t())
        trace = linear_scan(self.readout_decay, drive)
        return torch.log_softmax(trace.mean(dim=-2), dim=-1)

    def forward_with_spikes(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Log-probabilities (batch, O) and each layer's spikes (batch, T, P), in the current mode."""
        hidden = self._check_input(x)
        spikes = []
        for index, layer in enumerate(self.layers):
            out = layer(hidden)
            spikes.append(out)
            hidden = out + hidden if index in self.skip_layers else out
        return self.readout(hidden), spikes

    def forward(self, x: Tensor) -> Tensor:
        """Log-probabilities (batch, O) for input x (batch, T, input_dim)."""
        return self.forward_with_spikes(x)[0]

    def spikes(self, x: Tensor) -> list[Tensor]:
        """Each layer's spikes (batch, T, P), computed in eval mode without gradients (mode restored)."""
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return self.forward_with_spikes(x)[1]
        finally:
            self.train(was_training)
