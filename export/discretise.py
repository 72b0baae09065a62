"""From a trained `S5RFClassifier` to the discrete float network the hardware room runs.

Per layer the model computes (docs/design.md §2), with b̄ and λ̄ per neuron,

    z[t] = λ̄ ⊙ z[t−1] + b̄ ⊙ (B·u[t])        (keep_imag off: b̄ ⊙ Re(B·u[t]))
    s[t] = Re z[t] > 1

Scaling each neuron's state by 1/|b̄| (x = z/|b̄|, docs/design.md §4) gives the
`FloatLayer` form with the step in the threshold rather than the weights:

    x[t] = λ̄ ⊙ x[t−1] + W·u[t],   W = (b̄/|b̄|)·B  (keep_imag off: (b̄/|b̄|)·Re B)
    s[t] = Re x[t] > θ,            θ = 1/|b̄|

A zoh first layer with eigenvector mixing spikes on Re(V z) instead of Re z
(docs/design.md §4b). With z = diag(|b̄|)·x that is Re(M x), M = V·diag(|b̄|):
the state scales go into V's columns and the threshold stays 1, so the layer
keeps the states above and gains a `FloatMixing` stage with weight M.

Everything is computed in float64 from a double-precision copy of the model,
so a float64 simulation of the result reproduces `model.double()`'s spikes.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from s5rf_neuro.errors import NetworkError, TargetError
from s5rf_neuro.hardware.network import SPIKE_INPUTS, FloatLayer, FloatMixing, FloatNetwork, FloatReadout, InputFormat


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def _mixing(index: int, layer: Any, magnitude: np.ndarray) -> FloatMixing | None:
    """The stage that spikes on Re(V z) = Re(M x), M = V·diag(|b̄|), or None for a layer without V."""
    mixing = getattr(layer, "mixing", None)
    if mixing is None:
        return None
    matrix = _numpy(mixing).astype(np.complex128)
    try:
        return FloatMixing(weight=matrix * magnitude[None, :])
    except NetworkError as err:
        raise TargetError(f"layer {index}: eigenvector mixing: {err}") from None


def _discretise_layer(index: int, layer: Any, skip: bool) -> FloatLayer:
    with torch.no_grad():
        lambda_bar, b_bar = layer.discretise()
        input_weight = layer.input_weight
    decay = _numpy(lambda_bar).astype(np.complex128)
    b_bar = _numpy(b_bar).astype(np.complex128)
    weight = _numpy(input_weight).astype(np.complex128)
    magnitude = np.abs(b_bar)
    if not np.all(np.isfinite(magnitude)) or np.any(magnitude == 0):
        raise TargetError(f"layer {index}: input scale b̄ is zero or not finite for some neuron")
    phase = (b_bar / magnitude)[:, None]
    drive = weight if layer.keep_imag else weight.real.astype(np.complex128)
    mixing = _mixing(index, layer, magnitude)
    threshold = np.ones_like(magnitude) if mixing is not None else 1.0 / magnitude
    try:
        return FloatLayer(decay=decay, weight=phase * drive, threshold=threshold, skip=skip, mixing=mixing)
    except NetworkError as err:
        raise TargetError(f"layer {index}: {err}") from None


def discretise(model: Any, metadata: dict[str, Any] | None = None,
               input_format: InputFormat = SPIKE_INPUTS) -> FloatNetwork:
    """The discrete float network of `model` (an `S5RFClassifier`), float64 throughout.

    metadata is stored on the network (class names, source checkpoint, ...);
    the model's configuration is added under "config" when it has one.
    input_format: how the inputs are carried (the float network takes graded
    inputs as the real values the model was trained on).
    Raises `TargetError` for a layer that is unstable, whose input scale b̄
    vanishes, or whose eigenvector matrix is not finite.
    """
    double = copy.deepcopy(model).double().eval()
    skips = set(double.skip_layers)
    layers = tuple(_discretise_layer(i, layer, i in skips) for i, layer in enumerate(double.layers))
    with torch.no_grad():
        readout = FloatReadout(
            weight=_numpy(double.readout_weight).astype(np.float64),
            decay=_numpy(double.readout_decay).astype(np.float64),
        )
    info: dict[str, Any] = dict(metadata or {})
    config = getattr(double, "config", None)
    if config is not None and hasattr(config, "to_dict") and "config" not in info:
        info["config"] = config.to_dict()
    return FloatNetwork(layers=layers, readout=readout, metadata=info, input_format=input_format)
