"""From a `FloatNetwork` or `IntNetwork` to its NIR graph (layout in `nir_layout`)."""

from __future__ import annotations

import nir
import numpy as np

from s5rf_neuro import __version__
from s5rf_neuro.errors import FormatError, NetworkError
from s5rf_neuro.export.nir_layout import FORMAT_NAME, META_KEY, record_to_metadata
from s5rf_neuro.hardware.network import (
    NETWORK_FORMAT_VERSION,
    FloatLayer,
    IntLayer,
    IntMixing,
    IntNetwork,
    Network,
    metadata_json,
)
from s5rf_neuro.hardware.target import FLOAT, TargetSpec

_MIN_MODULUS = 1e-300
_MAX_MODULUS = 1.0 - 2.0**-53


def network_to_graph(network: Network, dt: float = 1.0) -> nir.NIRGraph:
    """The NIR graph of `network`; `dt` is the time per step.

    Raises FormatError for a non-positive dt or metadata that cannot be written as JSON.
    """
    if not (np.isfinite(dt) and dt > 0):
        raise FormatError(f"time step dt must be a positive number, got {dt!r}")
    try:
        network_metadata = metadata_json(network.metadata)
    except NetworkError as err:
        raise FormatError(str(err)) from None
    is_int = isinstance(network, IntNetwork)
    target = network.target if is_int else FLOAT
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type=np.array([network.input_dim]))}
    edges = []
    previous = "input"
    for index, layer in enumerate(network.layers):
        name = f"layer_{index}"
        nodes[name] = _layer_graph(layer, index, target, dt)
        edges.append((previous, name))
        previous = name
    readout = network.readout
    if is_int:
        weight = readout.weight * (2.0**readout.weight_exp / readout.state_scale)
        decay = readout.decay / target.decay_one
    else:
        weight, decay = readout.weight, readout.decay
    tau = _time_constant(np.abs(decay), dt)
    nodes["readout_weight"] = nir.Linear(weight=np.array(weight, dtype=np.float64))
    nodes["readout"] = nir.LI(
        tau=tau,
        r=tau.copy(),
        v_leak=np.zeros_like(tau),
        metadata={META_KEY: {"role": "readout", **record_to_metadata(readout)}},
    )
    nodes["output"] = nir.Output(output_type=np.array([network.output_dim]))
    edges += [(previous, "readout_weight"), ("readout_weight", "readout"), ("readout", "output")]
    metadata = {
        META_KEY: {
            "format": FORMAT_NAME,
            "format_version": NETWORK_FORMAT_VERSION,
            "kind": "int" if is_int else "float",
            "dt": float(dt),
            "num_layers": len(network.layers),
            "target": target.to_dict(),
            "score": "sum over steps of the readout state" if is_int else "mean over steps of the readout state",
            "writer": f"s5rf-neuro {__version__}",
            "network_metadata": network_metadata,
            "input_format": network.input_format.to_dict(),
        }
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def _layer_graph(layer: FloatLayer | IntLayer, index: int, target: TargetSpec, dt: float) -> nir.NIRGraph:
    """One layer's nested graph: primitives hold float values, metadata the exact record."""
    if isinstance(layer, IntLayer):
        scale = layer.state_scale
        decay = (layer.decay_re + 1j * layer.decay_im) / target.decay_one
        weight_re = layer.weight_re * (2.0**layer.weight_exp_re / scale)
        weight_im = layer.weight_im * (2.0**layer.weight_exp_im / scale)
        threshold = layer.threshold / (scale if layer.mixing is None else layer.mixing.state_scale)
    else:
        decay, threshold = layer.decay, layer.threshold
        weight_re, weight_im = layer.weight.real, layer.weight.imag
    num_neurons, num_inputs = weight_re.shape
    tau = _time_constant(np.abs(decay), dt)
    omega = np.angle(decay) / dt
    nodes: dict[str, nir.NIRNode] = {
        "input": nir.Input(input_type=np.array([num_inputs])),
        "weight_re": nir.Linear(weight=np.array(weight_re, dtype=np.float64)),
        "weight_im": nir.Linear(weight=np.array(weight_im, dtype=np.float64)),
        "state_re": nir.LI(tau=tau, r=tau.copy(), v_leak=np.zeros(num_neurons)),
        "state_im": nir.LI(tau=tau.copy(), r=tau.copy(), v_leak=np.zeros(num_neurons)),
        "rotate_im_re": nir.Scale(scale=-omega),
        "rotate_re_im": nir.Scale(scale=omega.copy()),
        "spike": nir.Threshold(threshold=np.array(threshold, dtype=np.float64)),
        "output": nir.Output(output_type=np.array([num_neurons])),
    }
    mixing = _mixing_weights(layer, target)
    edges = [
        ("input", "weight_re"),
        ("input", "weight_im"),
        ("weight_re", "state_re"),
        ("weight_im", "state_im"),
        ("state_im", "rotate_im_re"),
        ("rotate_im_re", "state_re"),
        ("state_re", "rotate_re_im"),
        ("rotate_re_im", "state_im"),
    ]
    if mixing is None:
        edges.append(("state_re", "spike"))
    else:
        nodes["mixing_re"] = nir.Linear(weight=mixing[0])
        nodes["mixing_im"] = nir.Linear(weight=mixing[1])
        edges += [("state_re", "mixing_re"), ("state_im", "mixing_im"), ("mixing_re", "spike"), ("mixing_im", "spike")]
    if layer.skip:
        nodes["skip"] = nir.Scale(scale=np.ones(num_neurons))
        edges += [("spike", "skip"), ("input", "skip"), ("skip", "output")]
    else:
        edges.append(("spike", "output"))
    metadata = {META_KEY: {"role": "layer", "index": index, **record_to_metadata(layer)}}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def _mixing_weights(layer: FloatLayer | IntLayer, target: TargetSpec) -> tuple[np.ndarray, np.ndarray] | None:
    """The mixing stage's weights on state_re and on state_im (float64 (P, P) each, in threshold units
    per state unit; de-quantised for an integer layer), or None without a stage."""
    if layer.mixing is None:
        return None
    first, second = layer.mixing.weight_parts()
    if isinstance(layer, IntLayer):
        assert isinstance(layer.mixing, IntMixing)
        per_state = layer.state_scale * 2.0**-target.state_payload_shift / layer.mixing.state_scale
        first = first * (2.0**layer.mixing.weight_exp_re * per_state)
        second = second * (2.0**layer.mixing.weight_exp_im * per_state)
    return np.array(first, dtype=np.float64), np.array(second, dtype=np.float64)


def _time_constant(modulus: np.ndarray, dt: float) -> np.ndarray:
    """τ with exp(−dt/τ) = modulus, the modulus clipped to (0, 1) so that τ is finite and positive."""
    clipped = np.clip(np.asarray(modulus, dtype=np.float64), _MIN_MODULUS, _MAX_MODULUS)
    return -dt / np.log(clipped)
