"""S5-RF networks as NIR graphs of stock primitives, and back (in memory).

Layout of the graph (node names are part of the format):

top level, L layers, H0 inputs, O classes:

    input                     Input (H0,)
    layer_0 … layer_{L-1}     NIRGraph, one per S5-RF layer (below)
    readout_weight            Linear (O, P)    R
    readout                   LI (O,)          τ = −dt/ln d, r = τ, v_leak = 0
    output                    Output (O,)
    edges  input → layer_0 → … → layer_{L-1} → readout_weight → readout → output

one layer, H inputs, P neurons (the nested graph):

    input                     Input (H,)
    weight_re, weight_im      Linear (P, H)    Re W, Im W
    state_re, state_im        LI (P,)          τ = −dt/ln|λ̄|, r = τ, v_leak = 0
    rotate_im_re              Scale (P,)       −ω   (state_im → state_re)
    rotate_re_im              Scale (P,)       +ω   (state_re → state_im),  ω = arg(λ̄)/dt
    spike                     Threshold (P,)   θ, reads state_re
    skip                      Scale (P,) of 1  only on a skip layer: sums spike and input
    output                    Output (P,)

Continuous-time meaning. With x = state_re + i·state_im and λ = ln(λ̄)/dt the
pair of leaky integrators with the two rotation edges is dx/dt = λ·x + W·u(t).
Spikes are Dirac impulses u(t) = Σ_k u[k]·δ(t − k·dt); because r = τ each
impulse adds W·u[k] to the state. Sampled just after the impulses, at
t = k·dt, that ODE is exactly x[k] = λ̄·x[k−1] + W·u[k], the network's update;
the Threshold fires while Re x > θ and nothing resets. The readout LI gives
y[k] = d·y[k−1] + R·s[k]; the class score is mean_k y[k] (sum_k for an
integer network, same argmax). `dt` (time per step) is recorded in the
metadata; the default 1.0 makes one step the time unit.

A decay modulus of 0 or ≥ 1 has no finite τ: the primitives then carry the
nearest finite value (modulus clipped to [1e-300, 1 − 2^-53]); the metadata
still holds the exact numbers.

For an integer network the primitives hold its de-quantised values in float
state units (weights W_int·2^exp/state_scale, λ̄ = (c + i·s)/2^decay_bits,
θ = θ_int/state_scale), an approximation for foreign tools; the integers
themselves are in the metadata.

Metadata, all under the key "s5rf_neuro":

- top-level graph: format, format_version (`NETWORK_FORMAT_VERSION`), kind
  ("float" | "int"), dt, num_layers, target (`TargetSpec.to_dict`), score,
  writer, network_metadata (the network's free-form metadata as JSON);
- each layer graph: role "layer", index and the exact parameters
  (float: decay_re, decay_im, weight_re, weight_im, threshold, skip;
  int: decay_re, decay_im, weight_re, weight_im, weight_exp_re, weight_exp_im,
  threshold, state_scale, skip);
- the `readout` LI node: role "readout" and the exact readout parameters
  (float: weight, decay; int: weight, weight_exp, decay, state_scale).

Complex arrays are stored as separate real and imaginary float64 arrays, so
both round trip bit for bit. Integer arrays are stored in the smallest signed
dtype that holds their values (int8 for 8-bit mantissas) and read back as
int64 with the same values.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

import nir
import numpy as np

from s5rf_neuro import __version__
from s5rf_neuro.errors import FormatError, TargetError
from s5rf_neuro.hardware.network import (
    NETWORK_FORMAT_VERSION,
    FloatLayer,
    FloatNetwork,
    FloatReadout,
    IntLayer,
    IntNetwork,
    IntReadout,
    Network,
)
from s5rf_neuro.hardware.target import FLOAT, TargetSpec

FORMAT_NAME = "s5rf-neuro-network"
META_KEY = "s5rf_neuro"
MAPPABLE_TYPES = frozenset({"NIRGraph", "Input", "Output", "Linear", "LI", "Scale", "Threshold"})
"""The NIR node types a graph written here consists of; any other type cannot be mapped back."""

_MIN_MODULUS = 1e-300
_MAX_MODULUS = 1.0 - 2.0**-53


# ---------------------------------------------------------------- writing


def network_to_graph(network: Network, dt: float = 1.0) -> nir.NIRGraph:
    """The NIR graph of `network` (see the module docstring); `dt` is the time per step.

    Raises FormatError when the network's shapes are inconsistent.
    """
    if not (np.isfinite(dt) and dt > 0):
        raise FormatError(f"time step dt must be a positive number, got {dt!r}")
    check_network(network)
    is_int = isinstance(network, IntNetwork)
    target = network.target if is_int else FLOAT
    layers = network.layers
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type=np.array([network.input_dim]))}
    edges = []
    previous = "input"
    for index, layer in enumerate(layers):
        name = f"layer_{index}"
        nodes[name] = (
            _int_layer_graph(layer, index, target, dt) if is_int else _float_layer_graph(layer, index, dt)
        )
        edges.append((previous, name))
        previous = name
    weight, decay, exact = _readout_parts(network.readout, target) if is_int else _float_readout_parts(network.readout)
    tau = _time_constant(np.abs(decay), dt)
    nodes["readout_weight"] = nir.Linear(weight=weight)
    nodes["readout"] = nir.LI(
        tau=tau, r=tau.copy(), v_leak=np.zeros_like(tau), metadata={META_KEY: {"role": "readout", **exact}}
    )
    nodes["output"] = nir.Output(output_type=np.array([network.output_dim]))
    edges += [(previous, "readout_weight"), ("readout_weight", "readout"), ("readout", "output")]
    metadata = {
        META_KEY: {
            "format": FORMAT_NAME,
            "format_version": NETWORK_FORMAT_VERSION,
            "kind": "int" if is_int else "float",
            "dt": float(dt),
            "num_layers": len(layers),
            "target": target.to_dict(),
            "score": "sum over steps of the readout state" if is_int else "mean over steps of the readout state",
            "writer": f"s5rf-neuro {__version__}",
            "network_metadata": _metadata_to_json(network.metadata),
        }
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def _float_layer_graph(layer: FloatLayer, index: int, dt: float) -> nir.NIRGraph:
    decay = np.asarray(layer.decay, dtype=np.complex128)
    weight = np.asarray(layer.weight, dtype=np.complex128)
    threshold = np.asarray(layer.threshold, dtype=np.float64)
    exact = {
        "decay_re": _real_part(decay),
        "decay_im": _imag_part(decay),
        "weight_re": _real_part(weight),
        "weight_im": _imag_part(weight),
        "threshold": threshold.copy(),
        "skip": bool(layer.skip),
    }
    return _layer_graph(exact["weight_re"], exact["weight_im"], decay, threshold, layer.skip, index, exact, dt)


def _int_layer_graph(layer: IntLayer, index: int, target: TargetSpec, dt: float) -> nir.NIRGraph:
    exact = {
        "decay_re": _int_array(layer.decay_re, f"layer {index} decay_re"),
        "decay_im": _int_array(layer.decay_im, f"layer {index} decay_im"),
        "weight_re": _int_array(layer.weight_re, f"layer {index} weight_re"),
        "weight_im": _int_array(layer.weight_im, f"layer {index} weight_im"),
        "weight_exp_re": int(layer.weight_exp_re),
        "weight_exp_im": int(layer.weight_exp_im),
        "threshold": _int_array(layer.threshold, f"layer {index} threshold"),
        "state_scale": float(layer.state_scale),
        "skip": bool(layer.skip),
    }
    scale = exact["state_scale"]
    decay = (exact["decay_re"] + 1j * exact["decay_im"]) / target.decay_one
    weight_re = exact["weight_re"] * (2.0 ** exact["weight_exp_re"] / scale)
    weight_im = exact["weight_im"] * (2.0 ** exact["weight_exp_im"] / scale)
    threshold = exact["threshold"] / scale
    stored = {key: _narrow(value) if isinstance(value, np.ndarray) else value for key, value in exact.items()}
    return _layer_graph(weight_re, weight_im, decay, threshold, layer.skip, index, stored, dt)


def _layer_graph(
    weight_re: np.ndarray,
    weight_im: np.ndarray,
    decay: np.ndarray,
    threshold: np.ndarray,
    skip: bool,
    index: int,
    exact: dict[str, Any],
    dt: float,
) -> nir.NIRGraph:
    """One layer's nested graph from its float-valued parameters (decay complex (P,), weights (P, H))."""
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
    edges = [
        ("input", "weight_re"),
        ("input", "weight_im"),
        ("weight_re", "state_re"),
        ("weight_im", "state_im"),
        ("state_im", "rotate_im_re"),
        ("rotate_im_re", "state_re"),
        ("state_re", "rotate_re_im"),
        ("rotate_re_im", "state_im"),
        ("state_re", "spike"),
    ]
    if skip:
        nodes["skip"] = nir.Scale(scale=np.ones(num_neurons))
        edges += [("spike", "skip"), ("input", "skip"), ("skip", "output")]
    else:
        edges.append(("spike", "output"))
    metadata = {META_KEY: {"role": "layer", "index": index, **exact}}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def _float_readout_parts(readout: FloatReadout) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    weight = np.array(readout.weight, dtype=np.float64)
    decay = np.array(readout.decay, dtype=np.float64)
    return weight, decay, {"weight": weight.copy(), "decay": decay.copy()}


def _readout_parts(readout: IntReadout, target: TargetSpec) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    exact = {
        "weight": _int_array(readout.weight, "readout weight"),
        "weight_exp": int(readout.weight_exp),
        "decay": _int_array(readout.decay, "readout decay"),
        "state_scale": float(readout.state_scale),
    }
    weight = exact["weight"] * (2.0 ** exact["weight_exp"] / exact["state_scale"])
    stored = {key: _narrow(value) if isinstance(value, np.ndarray) else value for key, value in exact.items()}
    return weight, exact["decay"] / target.decay_one, stored


def _time_constant(modulus: np.ndarray, dt: float) -> np.ndarray:
    """τ with exp(−dt/τ) = modulus, the modulus clipped to (0, 1) so that τ is finite and positive."""
    clipped = np.clip(np.asarray(modulus, dtype=np.float64), _MIN_MODULUS, _MAX_MODULUS)
    return -dt / np.log(clipped)


def _real_part(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values.real, dtype=np.float64)


def _imag_part(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values.imag, dtype=np.float64)


def _int_array(values: np.ndarray, what: str) -> np.ndarray:
    """`values` as int64 (the network's integer arrays)."""
    array = np.asarray(values)
    if not np.issubdtype(array.dtype, np.integer):
        raise FormatError(f"integer network: {what} has dtype {array.dtype}, expected integers")
    return array.astype(np.int64)


def _narrow(values: np.ndarray) -> np.ndarray:
    """An int64 array in the smallest signed dtype that holds its values (what the file stores)."""
    low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return values.astype(dtype)
    return values


def _metadata_to_json(metadata: dict[str, Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
        raise FormatError(f"network metadata holds a {type(value).__name__}, which cannot be written as JSON")

    return json.dumps(metadata, default=plain, sort_keys=True)


def check_network(network: Network) -> None:
    """Raise FormatError unless the layer shapes of `network` chain together and match the readout."""
    if not network.layers:
        raise FormatError("network has no layers")
    previous = None
    for index, layer in enumerate(network.layers):
        for name, shape in _layer_shapes(layer).items():
            expected = (layer.num_neurons, layer.num_inputs) if name.startswith("weight") else (layer.num_neurons,)
            if shape != expected:
                raise FormatError(f"layer {index}: {name} has shape {shape}, expected {expected}")
        if previous is not None and layer.num_inputs != previous:
            raise FormatError(f"layer {index} has {layer.num_inputs} inputs but layer {index - 1} has {previous} neurons")
        if layer.skip and layer.num_inputs != layer.num_neurons:
            raise FormatError(
                f"layer {index} is a skip layer but has {layer.num_inputs} inputs and {layer.num_neurons} neurons"
            )
        previous = layer.num_neurons
    readout = network.readout
    outputs = np.shape(readout.weight)[0] if np.ndim(readout.weight) == 2 else None
    if np.shape(readout.weight) != (outputs, previous) or np.shape(readout.decay) != (outputs,):
        raise FormatError(
            f"readout: weight shape {np.shape(readout.weight)} and decay shape {np.shape(readout.decay)} "
            f"do not fit {previous} neurons of the last layer"
        )


def _layer_shapes(layer: FloatLayer | IntLayer) -> dict[str, tuple[int, ...]]:
    if isinstance(layer, IntLayer):
        names = ("decay_re", "decay_im", "weight_re", "weight_im", "threshold")
    else:
        names = ("decay", "weight", "threshold")
    return {name: tuple(np.shape(getattr(layer, name))) for name in names}


# ---------------------------------------------------------------- reading


def iter_nodes(graph: nir.NIRGraph, prefix: str = "") -> Iterator[tuple[str, nir.NIRNode]]:
    """Every node of `graph` and its nested graphs as ("parent/child" path, node), depth first."""
    for name, node in graph.nodes.items():
        path = f"{prefix}{name}"
        yield path, node
        if isinstance(node, nir.NIRGraph):
            yield from iter_nodes(node, f"{path}/")


def check_node_types(graph: nir.NIRGraph, source: str) -> None:
    """Raise FormatError naming the first node whose type this reader cannot map."""
    for path, node in iter_nodes(graph):
        kind = type(node).__name__
        if kind not in MAPPABLE_TYPES:
            raise FormatError(unmappable_message(source, path, kind))


def unmappable_message(source: str, path: str, kind: str) -> str:
    """The one-line error for a node of a type the reader cannot map."""
    return (
        f"{source}: node '{path}' has type {kind}, which s5rf-neuro cannot map to an S5-RF network "
        f"(it reads {', '.join(sorted(MAPPABLE_TYPES))})"
    )


def project_metadata(graph: nir.NIRGraph, source: str) -> dict[str, Any]:
    """The top-level s5rf-neuro metadata of `graph`, its format and version checked."""
    meta = graph.metadata.get(META_KEY) if isinstance(graph.metadata, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise FormatError(
            f"{source}: no s5rf-neuro metadata in the graph (a NIR file from another tool?); "
            "only files written by s5rf-export can be read back into a network"
        )
    check_version(meta.get("format_version"), source)
    return meta


def check_version(version: Any, source: str) -> None:
    """Raise FormatError unless `version` is a network format version this reader understands."""
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise FormatError(f"{source}: s5rf-neuro metadata has no valid format_version ({version!r})") from None
    if number > NETWORK_FORMAT_VERSION:
        raise FormatError(
            f"{source}: written with s5rf-neuro network format version {number}, but this reader "
            f"understands up to version {NETWORK_FORMAT_VERSION}; upgrade s5rf-neuro"
        )
    if number < 1:
        raise FormatError(f"{source}: invalid s5rf-neuro network format version {number}")


def graph_to_network(graph: nir.NIRGraph, source: str = "NIR graph") -> Network:
    """The network a graph from `network_to_graph` describes, rebuilt exactly from its metadata.

    `source` names the graph in error messages (e.g. the file path).
    """
    check_node_types(graph, source)
    meta = project_metadata(graph, source)
    fields = _Fields(meta, source, "graph metadata")
    kind = fields.text("kind")
    if kind not in ("float", "int"):
        raise FormatError(f"{source}: unknown network kind {kind!r} in graph metadata (expected float or int)")
    num_layers = fields.integer("num_layers")
    network_metadata = _metadata_from_json(fields.text("network_metadata"), source)
    layers = []
    for index in range(num_layers):
        layer_fields = _node_fields(graph, f"layer_{index}", "layer", source, nir.NIRGraph)
        layers.append(_int_layer(layer_fields) if kind == "int" else _float_layer(layer_fields))
    readout_fields = _node_fields(graph, "readout", "readout", source, nir.LI)
    if kind == "float":
        network: Network = FloatNetwork(
            layers=tuple(layers),
            readout=FloatReadout(weight=readout_fields.floats("weight"), decay=readout_fields.floats("decay")),
            metadata=network_metadata,
        )
    else:
        target = _target(fields.group("target"), source)
        readout = IntReadout(
            weight=readout_fields.ints("weight"),
            weight_exp=readout_fields.integer("weight_exp"),
            decay=readout_fields.ints("decay"),
            state_scale=readout_fields.real("state_scale"),
        )
        network = IntNetwork(layers=tuple(layers), readout=readout, target=target, metadata=network_metadata)
    try:
        check_network(network)
    except FormatError as err:
        raise FormatError(f"{source}: {err}") from None
    return network


def graph_dt(graph: nir.NIRGraph, source: str = "NIR graph") -> float:
    """The time per step recorded in a graph written by `network_to_graph`."""
    return _Fields(project_metadata(graph, source), source, "graph metadata").real("dt")


def _float_layer(fields: "_Fields") -> FloatLayer:
    return FloatLayer(
        decay=_complex(fields.floats("decay_re"), fields.floats("decay_im")),
        weight=_complex(fields.floats("weight_re"), fields.floats("weight_im")),
        threshold=fields.floats("threshold"),
        skip=fields.flag("skip"),
    )


def _int_layer(fields: "_Fields") -> IntLayer:
    return IntLayer(
        decay_re=fields.ints("decay_re"),
        decay_im=fields.ints("decay_im"),
        weight_re=fields.ints("weight_re"),
        weight_im=fields.ints("weight_im"),
        weight_exp_re=fields.integer("weight_exp_re"),
        weight_exp_im=fields.integer("weight_exp_im"),
        threshold=fields.ints("threshold"),
        state_scale=fields.real("state_scale"),
        skip=fields.flag("skip"),
    )


def _complex(real: np.ndarray, imag: np.ndarray) -> np.ndarray:
    if real.shape != imag.shape:
        raise FormatError(f"real part shape {real.shape} differs from imaginary part shape {imag.shape}")
    values = np.empty(real.shape, dtype=np.complex128)
    values.real = real
    values.imag = imag
    return values


def _target(fields: dict[str, Any], source: str) -> TargetSpec:
    plain = {key: value.item() if isinstance(value, np.generic) else value for key, value in fields.items()}
    try:
        return TargetSpec.from_dict(plain)
    except (TargetError, TypeError) as err:
        raise FormatError(f"{source}: invalid target spec in graph metadata: {err}") from None


def _metadata_from_json(text: str, source: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise FormatError(f"{source}: network_metadata is not valid JSON ({err})") from None
    if not isinstance(value, dict):
        raise FormatError(f"{source}: network_metadata is not a JSON object")
    return value


def _node_fields(graph: nir.NIRGraph, name: str, role: str, source: str, kind: type) -> "_Fields":
    node = graph.nodes.get(name)
    if not isinstance(node, kind):
        found = "missing" if node is None else f"a {type(node).__name__}"
        raise FormatError(f"{source}: node '{name}' should be a {kind.__name__} but is {found}")
    meta = node.metadata.get(META_KEY) if isinstance(node.metadata, dict) else None
    if not isinstance(meta, dict) or meta.get("role") != role:
        raise FormatError(f"{source}: node '{name}' has no s5rf-neuro {role} metadata")
    return _Fields(meta, source, f"node '{name}'")


class _Fields:
    """Typed access to one metadata dict; a missing or ill-typed entry raises FormatError naming it."""

    def __init__(self, meta: dict[str, Any], source: str, where: str) -> None:
        self._meta = meta
        self._where = f"{source}: {where}"

    def _get(self, key: str, accept: Callable[[Any], bool], what: str) -> Any:
        if key not in self._meta:
            raise FormatError(f"{self._where}: metadata entry '{key}' is missing")
        value = self._meta[key]
        if not accept(value):
            raise FormatError(f"{self._where}: metadata entry '{key}' is not {what}")
        return value

    def floats(self, key: str) -> np.ndarray:
        value = self._get(key, lambda v: isinstance(v, np.ndarray) and v.dtype == np.float64, "a float64 array")
        return np.array(value, dtype=np.float64)

    def ints(self, key: str) -> np.ndarray:
        value = self._get(
            key, lambda v: isinstance(v, np.ndarray) and v.dtype.kind == "i", "an array of signed integers"
        )
        return np.array(value, dtype=np.int64)

    def integer(self, key: str) -> int:
        return int(self._get(key, lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)), "an integer"))

    def real(self, key: str) -> float:
        return float(self._get(key, lambda v: isinstance(v, (float, np.floating)), "a float"))

    def flag(self, key: str) -> bool:
        return bool(self._get(key, lambda v: isinstance(v, (bool, np.bool_)), "a boolean"))

    def text(self, key: str) -> str:
        return self._get(key, lambda v: isinstance(v, str), "a string")

    def group(self, key: str) -> dict[str, Any]:
        return self._get(key, lambda v: isinstance(v, dict), "a group")


def networks_identical(first: Network, second: Network) -> bool:
    """Whether two networks are the same bit for bit: type, target, every array's dtype, shape
    and bytes, every scalar parameter, and metadata (compared as the JSON the file stores)."""
    if type(first) is not type(second) or len(first.layers) != len(second.layers):
        return False
    if _metadata_to_json(first.metadata) != _metadata_to_json(second.metadata):
        return False
    if isinstance(first, IntNetwork):
        if first.target != second.target:
            return False
        layer_arrays = ("decay_re", "decay_im", "weight_re", "weight_im", "threshold")
        layer_values = ("weight_exp_re", "weight_exp_im", "state_scale", "skip")
        readout_values: tuple[str, ...] = ("weight_exp", "state_scale")
    else:
        layer_arrays, layer_values, readout_values = ("decay", "weight", "threshold"), ("skip",), ()
    parts = [(a, b, layer_arrays, layer_values) for a, b in zip(first.layers, second.layers)]
    parts.append((first.readout, second.readout, ("weight", "decay"), readout_values))
    for a, b, arrays, values in parts:
        for name in arrays:
            left, right = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
            if left.dtype != right.dtype or left.shape != right.shape or left.tobytes() != right.tobytes():
                return False
        if any(getattr(a, name) != getattr(b, name) for name in values):
            return False
    return True
