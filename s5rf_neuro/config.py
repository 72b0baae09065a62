"""Hyper-parameters of an S5-RF classifier (`S5RFConfig`).

Field names follow the command-line names of the published reference
implementation, so a reference run's settings map one to one.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping

from s5rf_neuro.errors import ConfigError
from s5rf_neuro.records import record_from_dict

DISCRETIZATIONS = ("dirac", "zoh", "bilinear")
_FLOAT_FIELDS = ("eta_min", "eta_max", "dropout", "readout_decay_init")


@dataclass
class S5RFConfig:
    """Everything needed to rebuild an `S5RFClassifier`.

    input_dim:  channels H of the input sequence (batch, T, H).
    output_dim: number of classes O.
    num_neurons: resonate-and-fire neurons P per layer (all layers equal).
    num_blocks: HiPPO-LegS blocks per layer; `num_neurons` must be a multiple.
    num_layers: spiking layers L.
    discretization: first layer's rule, "dirac" | "zoh" | "bilinear"
        (deeper layers always use "dirac"); "zoh" also mixes the first
        layer's states with the HiPPO eigenvectors after the scan.
    eta_min, eta_max: range of the initial step Δ (log-uniform), in time steps.
    keep_imag: drive both parts of the state with the complex current B·u
        (False: only Re(B·u)).
    apply_skip: add the layer input to the spikes of middle layers 1 … L−2.
    dropout: dropout probability on the input current of middle layers.
    readout_decay_init: initial decay σ(κ) of the leaky-integrator readout.

    Construction validates every field and raises `ConfigError` naming it.
    """

    input_dim: int
    output_dim: int
    num_neurons: int = 64
    num_blocks: int = 1
    num_layers: int = 2
    discretization: str = "dirac"
    eta_min: float = 0.001
    eta_max: float = 0.1
    keep_imag: bool = True
    apply_skip: bool = True
    dropout: float = 0.0
    readout_decay_init: float = 0.8

    def __post_init__(self) -> None:
        self.validate()
        for name in _FLOAT_FIELDS:
            setattr(self, name, float(getattr(self, name)))

    def validate(self) -> None:
        """Raise `ConfigError` naming the first field that cannot be built."""
        for name in ("input_dim", "output_dim", "num_neurons", "num_blocks", "num_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"config field '{name}': expected a positive integer, got {value!r}")
            if value <= 0:
                raise ConfigError(f"config field '{name}': must be positive, got {value}")
        if self.num_neurons % self.num_blocks != 0:
            raise ConfigError(
                f"config field 'num_neurons': {self.num_neurons} is not divisible by "
                f"num_blocks={self.num_blocks}"
            )
        if self.discretization not in DISCRETIZATIONS:
            raise ConfigError(
                f"config field 'discretization': unknown value {self.discretization!r} "
                f"(choose one of {', '.join(DISCRETIZATIONS)})"
            )
        for name in _FLOAT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"config field '{name}': expected a finite number, got {value!r}")
        for name in ("eta_min", "eta_max"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"config field '{name}': must be positive, got {getattr(self, name)}")
        if self.eta_min > self.eta_max:
            raise ConfigError(
                f"config field 'eta_min': {self.eta_min} is larger than eta_max={self.eta_max}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"config field 'dropout': must be in [0, 1), got {self.dropout}")
        if not 0.0 < self.readout_decay_init < 1.0:
            raise ConfigError(
                f"config field 'readout_decay_init': must be in (0, 1), got {self.readout_decay_init}"
            )
        for name in ("keep_imag", "apply_skip"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"config field '{name}': expected true or false, got {getattr(self, name)!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "config") -> "S5RFConfig":
        """Build from a dictionary of fields; unknown, missing or invalid fields raise `ConfigError` naming `where`."""
        return record_from_dict(cls, data, where, ConfigError)
