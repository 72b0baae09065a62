"""Fake quantisation for quantisation-aware training, on the target's grids.

The grids themselves (weight exponent and mantissa, row gains, complex and
real decays) are defined once in `s5rf_neuro.grids`, from plain numbers (bit
widths), and evaluated here on the parameters' own tensors (any device), so
training sees exactly the values the integer quantiser in
`s5rf_neuro.export.quantise` produces. `quantised_parameters` returns the grid
values in the forward pass and passes the gradient straight through
(straight-through estimator).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable

import torch

from s5rf_neuro.errors import ConfigError
from s5rf_neuro.grids import quantise_complex_weight, quantise_decay, quantise_real_decay, weight_exponent, weight_mantissa
from s5rf_neuro.records import record_from_dict

WEIGHT_BITS_MIN, WEIGHT_BITS_MAX = 2, 8
"""Signed weight mantissa widths a format may have: the hardware targets' range (Loihi 2 synapses hold ≤ 8 bits)."""


def _straight_through(value: torch.Tensor, quantised: torch.Tensor) -> torch.Tensor:
    return value + (quantised - value).detach()


def fake_quantise_weight(weight: torch.Tensor, weight_bits: int) -> torch.Tensor:
    """`weight` (real) on its shared power-of-two grid in the forward pass, identity gradient."""
    with torch.no_grad():
        exponent = weight_exponent(float(weight.abs().max()), weight_bits)
        quantised = weight_mantissa(weight, exponent, weight_bits) * math.ldexp(1.0, exponent)
    return _straight_through(weight, quantised)


@dataclass(frozen=True)
class QATFormat:
    """The number formats quantisation-aware training simulates (plain numbers, no hardware import).

    weight_bits: signed weight mantissa bits (sign included), per connection shared exponent.
    decay_bits: fractional bits of the decay constants.
    target: name of the hardware target these came from (recorded in checkpoints).
    """

    weight_bits: int = 8
    decay_bits: int = 12
    target: str = ""

    def __post_init__(self) -> None:
        if not WEIGHT_BITS_MIN <= self.weight_bits <= WEIGHT_BITS_MAX:
            raise ConfigError(f"QAT weight_bits must be in {WEIGHT_BITS_MIN}..{WEIGHT_BITS_MAX}, got {self.weight_bits}")
        if not 1 <= self.decay_bits <= 24:
            raise ConfigError(f"QAT decay_bits must be in 1..24, got {self.decay_bits}")

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (checkpoint `extra["qat"]`)."""
        return {"weight_bits": self.weight_bits, "decay_bits": self.decay_bits, "target": self.target}

    @classmethod
    def from_dict(cls, fields: Any, where: str = "QAT format") -> "QATFormat":
        """Inverse of `to_dict`; unknown or missing fields raise `ConfigError` naming `where`."""
        return record_from_dict(cls, fields, where, ConfigError)


def _lambda_param_for(decay: torch.Tensor, lam: torch.Tensor, step: torch.Tensor, discretization: str) -> torch.Tensor:
    """[log(−Re λ'), Im λ'] (P, 2) of the continuous λ' whose discretisation with step Δ is `decay`.

    dirac/zoh: λ' = Log(λ̄)/Δ on the branch nearest the current Im λ; bilinear: λ' = (2/Δ)(λ̄ − 1)/(λ̄ + 1).
    """
    if discretization == "bilinear":
        cont = (2.0 / step) * (decay - 1.0) / (decay + 1.0)
        return torch.stack([torch.log(-cont.real), cont.imag], dim=-1)
    angle = torch.angle(decay)
    turns = torch.round((lam.imag * step - angle) / (2 * math.pi))
    return torch.stack([torch.log(-torch.log(decay.abs()) / step), (angle + 2 * math.pi * turns) / step], dim=-1)


class _Derived(torch.nn.Module):
    """Evaluates, through `torch.func.functional_call`, the model's derived quantities from given parameters."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self) -> tuple[list[tuple[torch.Tensor, ...]], torch.Tensor]:
        layers = [(*layer.discretise(), layer.lambda_continuous, layer.step, layer.input_weight) for layer in self.model.layers]
        return layers, self.model.readout_decay


def quantised_parameters(
    model: torch.nn.Module, fmt: QATFormat, params: dict[str, torch.Tensor] | None = None
) -> dict[str, torch.Tensor]:
    """Parameters moved onto the target grids, with straight-through gradients.

    params: values for `model.named_parameters()` names (default: the model's
    own); the model's layers only supply the formulas (discretise etc.).
    Per layer: λ (`lambda_param`) such that λ̄ is on the decay grid (Δ kept, so
    the threshold 1/|b̄| is unchanged for dirac), and B (`input_weight_ri`)
    such that the hardware weights W = (b̄/|b̄|)·B (·Re B without keep_imag)
    are on their row-normalised grid; the readout weights on their grid and
    κ (`readout_logit`) such that σ(κ) is on the decay grid. For zoh/bilinear
    layers without keep_imag the grid W is projected back onto a real Re B
    (approximate).
    """
    params = dict(model.named_parameters()) if params is None else params
    derived = _Derived(model)
    with torch.no_grad():
        derived_layers, readout_decay = torch.func.functional_call(
            derived, {f"model.{name}": value for name, value in params.items()}, ()
        )
        targets = {}
        for index, (layer, (lam_bar, _, lam, step, _)) in enumerate(zip(model.layers, derived_layers)):
            lambda_param = params[f"layers.{index}.lambda_param"]
            c, s = quantise_decay(lam_bar.real, lam_bar.imag, fmt.decay_bits)
            decay = torch.complex(c, s).to(lam_bar.dtype) / float(1 << fmt.decay_bits)
            target = _lambda_param_for(decay, lam, step, layer.discretization)
            targets[f"layers.{index}.lambda_param"] = torch.where(
                (decay != 0).unsqueeze(-1), target.to(lambda_param.dtype), lambda_param
            )
        # b̄ at the moved λ (zoh/bilinear b̄ depends on λ): its phase maps the grid W back onto B
        moved_layers, _ = torch.func.functional_call(
            derived, {f"model.{name}": value for name, value in {**params, **targets}.items()}, ()
        )
    replaced: dict[str, torch.Tensor] = {}
    for index, (layer, (_, b_bar, _, _, weight), (_, moved_b_bar, _, _, _)) in enumerate(
        zip(model.layers, derived_layers, moved_layers)
    ):
        prefix = f"layers.{index}."
        lambda_param, weight_ri = params[prefix + "lambda_param"], params[prefix + "input_weight_ri"]
        with torch.no_grad():
            phase = (b_bar / b_bar.abs()).unsqueeze(-1)
            drive = weight if layer.keep_imag else torch.complex(weight.real, torch.zeros_like(weight.real))
            hardware = phase * drive
            gains, (mant_re, exp_re), (mant_im, exp_im) = quantise_complex_weight(hardware.real, hardware.imag, fmt.weight_bits)
            grid = torch.complex(mant_re * math.ldexp(1.0, exp_re), mant_im * math.ldexp(1.0, exp_im)) / gains.unsqueeze(1)
            back = grid.to(phase.dtype) * (moved_b_bar.abs() / moved_b_bar).unsqueeze(-1)
            imag = back.imag if layer.keep_imag else weight.imag
            target_ri = torch.stack([back.real, imag], dim=-1).to(weight_ri.dtype)
            target = targets[prefix + "lambda_param"]
        replaced[prefix + "lambda_param"] = _straight_through(lambda_param, target)
        replaced[prefix + "input_weight_ri"] = _straight_through(weight_ri, target_ri)
    replaced["readout_weight"] = fake_quantise_weight(params["readout_weight"], fmt.weight_bits)
    logit_param = params["readout_logit"]
    with torch.no_grad():
        d = quantise_real_decay(readout_decay, fmt.decay_bits) / float(1 << fmt.decay_bits)
        logit = torch.where(d > 0, torch.logit(d.clamp_min(1e-12)), logit_param)
    replaced["readout_logit"] = _straight_through(logit_param, logit)
    return replaced


def param_transform(template: torch.nn.Module, fmt: QATFormat) -> Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    """The training loop's `param_transform` hook: fake-quantised stand-ins for the parameters it is given.

    template: a model of the same configuration as the one trained (its own
    parameter values are not used, only its formulas and structure).
    """

    def transform(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return quantised_parameters(template, fmt, params)

    return transform


def quantised_model(model: Any, fmt: QATFormat) -> Any:
    """A copy of `model` whose parameters are the grid values (for measuring the fake-quant forward)."""
    copied = copy.deepcopy(model)
    with torch.no_grad():
        values = quantised_parameters(copied, fmt)
        for name, param in copied.named_parameters():
            if name in values:
                param.copy_(values[name])
    return copied
