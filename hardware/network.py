"""The networks the hardware room executes: a discrete float network and its
integer (fixed-point) twin.

Both describe the same S5-RF computation in discrete time, with each neuron's
state scaled by 1/|b̄| (docs/design.md §4: the step goes into a per-neuron threshold,
not into the weights). Per layer, with input u[t] (H,) (spike counts, or real
values for graded inputs, `InputFormat`) and state x[t] (P,) complex:

    x[t]   = λ̄ ⊙ x[t−1] + W·u[t]          W = (b̄/|b̄|)·B  (·Re B if keep_imag is off)
    s[t]   = Re x[t] > θ                    θ = 1/|b̄| per neuron
    out[t] = s[t] (+ u[t] on a skip layer)

A layer with a mixing stage (a zoh first layer whose eigenvector matrix V is
not the identity, docs/design.md §4b) keeps x as states that never spike
(stage A) and spikes on a mix of them instead (stage B):

    y[t]   = Re(M)·Re x[t] − Im(M)·Im x[t]  M (P, P), the layer's `mixing`
    s[t]   = y[t] > θ

and a leaky readout y[t] = d ⊙ y[t−1] + R·s_last[t], score = mean_t y[t].

The integer network follows `hardware.neuron` exactly (see there).

Every type checks itself on construction, as NIR's primitives do: array
fields are converted to their canonical dtype (int64, float64, complex128),
shapes must agree (P neurons, H inputs, O outputs), floats must be finite and
values in range; an integer network's numbers must fit its target's formats.
A violation raises `NetworkError` naming the field (`TargetError` for a number
beyond the target's formats); a value of the wrong kind
altogether (text where an array belongs, floats where integers belong) is a
programming error and raises `TypeError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np

from s5rf_neuro.errors import NetworkError, S5RFError, TargetError
from s5rf_neuro.hardware.target import TargetSpec
from s5rf_neuro.records import plain_json

NETWORK_FORMAT_VERSION = 1
"""Version of the network description (recorded in NIR metadata)."""

_ARRAY_DTYPES = {"int": np.dtype(np.int64), "float": np.dtype(np.float64), "complex": np.dtype(np.complex128)}
_ACCEPTED_KINDS = {"int": "iu", "float": "iuf", "complex": "iufc"}


def array_field(kind: str, *dims: str) -> Any:
    """A dataclass field holding an array of `kind` ("int", "float" or "complex") with named dimensions."""
    return field(metadata={"array": (kind, dims)})


def _check_record(record: Any) -> None:
    """Convert and check every field of a frozen network record.

    Arrays become their canonical dtype, with the number of dimensions of their
    declaration and sizes that agree across fields; float and complex arrays must
    be finite. Scalars are checked against their annotation (int, float, bool).
    """
    sizes: dict[str, int] = {}
    for spec in fields(record):
        value = getattr(record, spec.name)
        if "array" in spec.metadata:
            kind, dims = spec.metadata["array"]
            array = np.asarray(value)
            if array.dtype.kind not in _ACCEPTED_KINDS[kind]:
                raise TypeError(f"{spec.name}: expected an array of {kind} values, got dtype {array.dtype}")
            array = array.astype(_ARRAY_DTYPES[kind], copy=False)
            if array.ndim != len(dims):
                raise NetworkError(f"{spec.name} has shape {array.shape}, expected ({', '.join(dims)})")
            for dim, size in zip(dims, array.shape):
                if sizes.setdefault(dim, size) != size:
                    raise NetworkError(f"{spec.name} has shape {array.shape}, but {dim} = {sizes[dim]} elsewhere")
            if kind != "int" and not np.all(np.isfinite(array)):
                raise NetworkError(f"{spec.name} holds values that are not finite")
            object.__setattr__(record, spec.name, array)
        elif spec.type == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{spec.name}: expected a bool, got {type(value).__name__}")
            object.__setattr__(record, spec.name, bool(value))
        elif spec.type == "int":
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{spec.name}: expected an int, got {type(value).__name__}")
            object.__setattr__(record, spec.name, int(value))
        elif spec.type == "float":
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise TypeError(f"{spec.name}: expected a float, got {type(value).__name__}")
            if not np.isfinite(value):
                raise NetworkError(f"{spec.name} is {value}, expected a finite number")
            object.__setattr__(record, spec.name, float(value))


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise NetworkError(message)


def _records_identical(first: Any, second: Any) -> bool:
    """Whether two records of one type hold the same arrays (dtype, shape, bytes), equal scalars
    and identical nested records (or None in both)."""
    if type(first) is not type(second):
        return False
    for spec in fields(first):
        left, right = getattr(first, spec.name), getattr(second, spec.name)
        if "array" in spec.metadata:
            if left.dtype != right.dtype or left.shape != right.shape or left.tobytes() != right.tobytes():
                return False
        elif is_dataclass(left) or is_dataclass(right):
            if not _records_identical(left, right):
                return False
        elif left != right:
            return False
    return True


def _layers_chain(network: "Network") -> None:
    """Each layer's input width is the previous layer's neuron count; the readout reads the last layer."""
    _require(len(network.layers) > 0, "network has no layers")
    for index in range(1, len(network.layers)):
        previous, layer = network.layers[index - 1], network.layers[index]
        _require(
            layer.num_inputs == previous.num_neurons,
            f"layer {index} has {layer.num_inputs} inputs but layer {index - 1} has {previous.num_neurons} neurons",
        )
    last = network.layers[-1].num_neurons
    _require(
        network.readout.weight.shape[1] == last,
        f"readout: weight has shape {network.readout.weight.shape}, which does not read the {last} neurons of the last layer",
    )


def metadata_json(metadata: dict[str, Any]) -> str:
    """A network's free-form metadata as the canonical JSON text the NIR file stores."""
    try:
        return json.dumps(metadata, default=plain_json, sort_keys=True)
    except TypeError as err:
        raise NetworkError(f"network metadata: {err}") from None


INPUT_KINDS = ("spikes", "graded")
"""How a network takes its first layer's inputs (`InputFormat.kind`)."""
INPUT_BITS_MAX = 24
"""Widest graded input payload (bits), the widest graded spike of any target."""


@dataclass(frozen=True)
class InputFormat:
    """How the first layer's inputs are carried (docs/design.md §5a).

    kind:  "spikes": non-negative integer spike counts, used as they are;
           "graded": real values u, carried to an integer network as unsigned
           payloads q = nearest(u·scale) in [0, 2^bits − 1] (`hardware.inputs`)
    bits:  payload width of a graded input, 1..24 (0 for spikes)
    scale: payload units per input unit, > 0 (1 for spikes); the integer
           network's first-layer weights hold the float weights divided by it
    clip:  values beyond the payload range are clipped and counted instead of refused
    """

    kind: str = "spikes"
    bits: int = 0
    scale: float = 1.0
    clip: bool = False

    def __post_init__(self) -> None:
        if self.kind not in INPUT_KINDS:
            raise NetworkError(f"input format: kind must be one of {', '.join(INPUT_KINDS)}, got {self.kind!r}")
        if isinstance(self.bits, (bool, np.bool_)) or not isinstance(self.bits, (int, np.integer)):
            raise NetworkError(f"input format: bits must be an integer, got {self.bits!r}")
        if isinstance(self.clip, np.bool_):
            object.__setattr__(self, "clip", bool(self.clip))
        if not isinstance(self.clip, bool):
            raise NetworkError(f"input format: clip must be true or false, got {self.clip!r}")
        if isinstance(self.scale, (bool, np.bool_)) or not isinstance(self.scale, (int, float, np.integer, np.floating)):
            raise NetworkError(f"input format: scale must be a number, got {self.scale!r}")
        object.__setattr__(self, "bits", int(self.bits))
        object.__setattr__(self, "scale", float(self.scale))
        if self.kind == "spikes":
            _require((self.bits, self.scale, self.clip) == (0, 1.0, False),
                     "input format: spike inputs take bits 0, scale 1 and no clipping")
            return
        _require(1 <= self.bits <= INPUT_BITS_MAX,
                 f"input format: bits must lie in 1..{INPUT_BITS_MAX}, got {self.bits}")
        _require(bool(np.isfinite(self.scale)) and self.scale > 0,
                 f"input format: scale must be a positive finite number, got {self.scale}")

    @property
    def graded(self) -> bool:
        """Whether the inputs are real values carried as graded payloads."""
        return self.kind == "graded"

    @property
    def payload_max(self) -> int:
        """Largest payload a graded input carries (2^bits − 1)."""
        return (1 << self.bits) - 1

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form, for NIR metadata and JSON reports."""
        return {"kind": self.kind, "bits": self.bits, "scale": self.scale, "clip": self.clip}


SPIKE_INPUTS = InputFormat()
"""The input format of every network trained on spikes."""


class _LayerSizes:
    """Sizes, the imaginary-weight test and the skip rule shared by both layer types,
    from the real and imaginary (P, H) weights each returns from `weight_parts`."""

    skip: bool

    def weight_parts(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    @property
    def num_inputs(self) -> int:
        """H, the layer's input width."""
        return int(self.weight_parts()[0].shape[1])

    @property
    def num_neurons(self) -> int:
        """P, the number of neurons."""
        return int(self.weight_parts()[0].shape[0])

    @property
    def uses_imag_weights(self) -> bool:
        """Whether some imaginary weight is non-zero (each synapse is then two: real and imaginary)."""
        return bool(np.any(self.weight_parts()[1]))

    def _check_skip(self) -> None:
        _require(not self.skip or self.num_inputs == self.num_neurons,
                 f"a skip layer needs as many inputs as neurons, got {self.num_inputs} and {self.num_neurons}")

    def _check_mixing(self, kind: type) -> None:
        """The optional mixing stage is a `kind` record that reads all P states of the layer."""
        mixing = getattr(self, "mixing")
        if mixing is None:
            return
        if not isinstance(mixing, kind):
            raise TypeError(f"mixing: expected a {kind.__name__} or None, got {type(mixing).__name__}")
        _require(not self.skip, "a layer with a mixing stage cannot be a skip layer (only a first layer mixes)")
        size = mixing.weight_parts()[0].shape[0]
        _require(size == self.num_neurons,
                 f"mixing has {size} neurons, but the layer has {self.num_neurons} states to mix")

    @property
    def num_mixing_neurons(self) -> int:
        """Neurons of the mixing stage (stage B): P when the layer mixes, else 0."""
        return 0 if getattr(self, "mixing") is None else self.num_neurons


class _MixingSizes:
    """The two synapse matrices of a mixing stage, from the payloads of Re x and of Im x, (P, P) each."""

    def weight_parts(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    @property
    def num_synapses(self) -> int:
        """Synapses of the stage: the non-zero weights of both matrices (within-block only for block-diagonal V)."""
        first, second = self.weight_parts()
        return int(np.count_nonzero(first) + np.count_nonzero(second))

    def _check_stage(self) -> None:
        """`_check_record`, then a square matrix; every message starts with "mixing:"."""
        try:
            _check_record(self)
        except NetworkError as err:
            raise NetworkError(f"mixing: {err}") from None
        first = self.weight_parts()[0]
        _require(first.shape[0] == first.shape[1], f"mixing: weight has shape {first.shape}, expected (P, P)")


@dataclass(frozen=True, eq=False)
class FloatMixing(_MixingSizes):
    """Stage B of a mixing layer in float64: y = Re(M)·Re x − Im(M)·Im x, spikes y > θ (the layer's threshold).

    weight: complex128 (P, P) M, in threshold units per state unit of x. With
            V the model's eigenvector matrix and x = z/|b̄| the scaled states,
            M = V·diag(|b̄|) (the state scales folded into V's columns).
    """

    weight: np.ndarray = array_field("complex", "P", "P")

    def __post_init__(self) -> None:
        self._check_stage()

    def weight_parts(self) -> tuple[np.ndarray, np.ndarray]:
        """Weights on Re x and on Im x: Re M and −Im M, float64 (P, P) each."""
        return self.weight.real, -self.weight.imag


@dataclass(frozen=True, eq=False)
class IntMixing(_MixingSizes):
    """Stage B of a mixing layer in fixed point (docs/design.md §5b).

    Each state neuron sends its state as two graded spikes, the payloads
    p_re, p_im of `hardware.neuron.state_payload` (signed, target.state_payload_bits);
    the memoryless threshold neurons compute

        v = sat( (weight_re·p_re)·2^weight_exp_re + (weight_im·p_im)·2^weight_exp_im )
        spike = v > θ            θ: the layer's threshold, in LSBs of v

    weight_re, weight_im: int64 (P, P) signed mantissas (≈ Re M and −Im M);
    weight_exp_re, weight_exp_im: shared exponents (floor shift for exp < 0);
    state_scale: LSBs of v per float unit of y, > 0 (for reports and de-quantisation).
    """

    weight_re: np.ndarray = array_field("int", "P", "P")
    weight_im: np.ndarray = array_field("int", "P", "P")
    weight_exp_re: int
    weight_exp_im: int
    state_scale: float

    def __post_init__(self) -> None:
        self._check_stage()
        _require(self.state_scale > 0, f"mixing: state_scale must be positive, got {self.state_scale}")

    def weight_parts(self) -> tuple[np.ndarray, np.ndarray]:
        """Mantissas on the payloads of Re x and of Im x, int64 (P, P) each."""
        return self.weight_re, self.weight_im

    def check_fits(self, target: TargetSpec, owner: str) -> None:
        """Raise TargetError naming `owner` unless the mantissas and exponents fit `target`."""
        target.check_weights(f"{owner} mixing", self.weight_re, self.weight_exp_re, "real-state")
        target.check_weights(f"{owner} mixing", self.weight_im, self.weight_exp_im, "imaginary-state")


@dataclass(frozen=True, eq=False)
class FloatLayer(_LayerSizes):
    """One discrete S5-RF layer in float64.

    decay:      complex128 (P,)   λ̄, per neuron, |λ̄| < 1
    weight:     complex128 (P, H) W, input weights in state units per input spike
    threshold:  float64 (P,)      θ, spike when Re x > θ (state units), or y > θ with mixing
    skip:       the layer's output is its spikes plus its input (needs H == P)
    mixing:     None, or the `FloatMixing` stage that spikes instead of the states
    """

    decay: np.ndarray = array_field("complex", "P")
    weight: np.ndarray = array_field("complex", "P", "H")
    threshold: np.ndarray = array_field("float", "P")
    skip: bool = False
    mixing: FloatMixing | None = None

    def __post_init__(self) -> None:
        _check_record(self)
        largest = float(np.abs(self.decay).max(initial=0.0))
        _require(largest < 1, f"decay |λ̄| = {largest:.6g} ≥ 1: the neuron's state would grow without bound")
        self._check_skip()
        self._check_mixing(FloatMixing)

    def weight_parts(self) -> tuple[np.ndarray, np.ndarray]:
        """The real and imaginary input weights, float64 (P, H) each."""
        return self.weight.real, self.weight.imag


@dataclass(frozen=True, eq=False)
class FloatReadout:
    """Leaky-integrator readout in float64.

    weight: float64 (O, P)  R, real readout weights
    decay:  float64 (O,)    d in [0, 1], per output
    """

    weight: np.ndarray = array_field("float", "O", "P")
    decay: np.ndarray = array_field("float", "O")

    def __post_init__(self) -> None:
        _check_record(self)
        _require(bool(np.all((self.decay >= 0) & (self.decay <= 1))), "readout: decay must lie in [0, 1]")


@dataclass(frozen=True, eq=False)
class FloatNetwork:
    """A discrete float S5-RF network: layers in order, then the readout.

    metadata: free-form provenance (class names, source checkpoint, data set).
    input_format: how the inputs are carried; a float network takes graded inputs
    as the real values u themselves (the format says how its integer twin takes them).
    """

    layers: tuple[FloatLayer, ...]
    readout: FloatReadout
    metadata: dict[str, Any] = field(default_factory=dict)
    input_format: InputFormat = SPIKE_INPUTS

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        if not all(isinstance(layer, FloatLayer) for layer in self.layers) or not isinstance(self.readout, FloatReadout):
            raise TypeError("a FloatNetwork holds FloatLayer layers and a FloatReadout")
        _check_input_format(self.input_format)
        _layers_chain(self)

    @property
    def input_dim(self) -> int:
        """Input channels of the first layer."""
        return self.layers[0].num_inputs

    @property
    def output_dim(self) -> int:
        """Number of classes."""
        return int(self.readout.weight.shape[0])


@dataclass(frozen=True, eq=False)
class IntLayer(_LayerSizes):
    """One S5-RF layer in fixed point (all arrays int64).

    decay_re, decay_im: (P,)    c, s with λ̄ ≈ (c + i·s)/2^decay_bits
    weight_re, weight_im: (P, H) signed mantissas, within the target's weight_bits
    weight_exp_re, weight_exp_im: shared exponents: a = (W·u)·2^exp (floor for exp < 0)
    threshold: (P,)             θ in state LSBs, spike when re > θ (with mixing: in LSBs of v, spike when v > θ)
    state_scale: state LSBs per float state unit (for reports and de-quantisation), > 0
    skip: output = spikes + input
    mixing: None, or the `IntMixing` stage that spikes instead of the states

    The ranges that depend on the target (mantissa width, exponent range,
    |λ̄_int| < 1, threshold width) are checked by the `IntNetwork` that holds the layer.
    """

    decay_re: np.ndarray = array_field("int", "P")
    decay_im: np.ndarray = array_field("int", "P")
    weight_re: np.ndarray = array_field("int", "P", "H")
    weight_im: np.ndarray = array_field("int", "P", "H")
    weight_exp_re: int
    weight_exp_im: int
    threshold: np.ndarray = array_field("int", "P")
    state_scale: float
    skip: bool = False
    mixing: IntMixing | None = None

    def __post_init__(self) -> None:
        _check_record(self)
        _require(self.state_scale > 0, f"state_scale must be positive, got {self.state_scale}")
        self._check_skip()
        self._check_mixing(IntMixing)

    def weight_parts(self) -> tuple[np.ndarray, np.ndarray]:
        """The real and imaginary weight mantissas, int64 (P, H) each."""
        return self.weight_re, self.weight_im

    def check_fits(self, target: TargetSpec, owner: str) -> None:
        """Raise TargetError naming `owner` unless every number of the layer fits `target`'s formats."""
        target.check_weights(owner, self.weight_re, self.weight_exp_re, "real")
        target.check_weights(owner, self.weight_im, self.weight_exp_im, "imaginary")
        modulus_squared = self.decay_re.astype(object) ** 2 + self.decay_im.astype(object) ** 2
        if not all(value < target.decay_one**2 for value in modulus_squared):
            raise TargetError(f"{owner}: decay |λ̄_int| = |c + i·s|/2^{target.decay_bits} must be below 1")
        if not np.all((self.threshold >= 0) & (self.threshold <= target.threshold_max)):
            raise TargetError(
                f"{owner}: threshold must lie in [0, {target.threshold_max}] state LSBs "
                f"({target.threshold_bits} unsigned bits of target {target.name})"
            )
        if self.mixing is not None:
            self.mixing.check_fits(target, owner)


@dataclass(frozen=True, eq=False)
class IntReadout:
    """Leaky-integrator readout in fixed point (int64 arrays).

    weight: (O, P) signed mantissas;  weight_exp: shared exponent
    decay:  (O,)   d with decay ≈ d/2^decay_bits, 0 ≤ d ≤ 2^decay_bits
    state_scale: readout LSBs per float readout unit, > 0
    """

    weight: np.ndarray = array_field("int", "O", "P")
    weight_exp: int
    decay: np.ndarray = array_field("int", "O")
    state_scale: float

    def __post_init__(self) -> None:
        _check_record(self)
        _require(self.state_scale > 0, f"readout: state_scale must be positive, got {self.state_scale}")

    def check_fits(self, target: TargetSpec, owner: str = "readout") -> None:
        """Raise TargetError unless every number of the readout fits `target`'s formats."""
        target.check_weights(owner, self.weight, self.weight_exp)
        if not np.all((self.decay >= 0) & (self.decay <= target.decay_one)):
            raise TargetError(f"{owner}: decay must lie in [0, {target.decay_one}] (a decay of 0 to 1)")


@dataclass(frozen=True, eq=False)
class IntNetwork:
    """A fixed-point S5-RF network for one quantised target.

    Construction raises `TargetError` when a number does not fit the target's
    formats (weight mantissas and exponents, |λ̄_int| < 1, threshold width,
    a graded input payload wider than the target's graded spikes).

    input_format: how the inputs are carried; with graded inputs the network
    takes the integer payloads q and its first layer's weights include 1/scale.
    """

    layers: tuple[IntLayer, ...]
    readout: IntReadout
    target: TargetSpec
    metadata: dict[str, Any] = field(default_factory=dict)
    input_format: InputFormat = SPIKE_INPUTS

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        if not all(isinstance(layer, IntLayer) for layer in self.layers) or not isinstance(self.readout, IntReadout):
            raise TypeError("an IntNetwork holds IntLayer layers and an IntReadout")
        if not isinstance(self.target, TargetSpec):
            raise TypeError(f"target: expected a TargetSpec, got {type(self.target).__name__}")
        _require(self.target.quantized, f"target {self.target.name!r} is not a fixed-point target")
        _check_input_format(self.input_format)
        _layers_chain(self)
        for index, layer in enumerate(self.layers):
            layer.check_fits(self.target, f"layer {index}")
        self.readout.check_fits(self.target)
        if self.input_format.graded:
            self.target.check_payload(f"the {self.input_format.bits}-bit graded input", self.input_format.payload_max)

    @property
    def input_dim(self) -> int:
        """Input channels of the first layer."""
        return self.layers[0].num_inputs

    @property
    def output_dim(self) -> int:
        """Number of classes."""
        return int(self.readout.weight.shape[0])


Network = FloatNetwork | IntNetwork


def _check_input_format(value: Any) -> None:
    if not isinstance(value, InputFormat):
        raise TypeError(f"input_format: expected an InputFormat, got {type(value).__name__}")


def check_inputs(network: Network, inputs: Any) -> np.ndarray:
    """`inputs` (N, T, H) as `network` takes them, or S5RFError saying what is wrong.

    Spike inputs are non-negative integer counts (any integer dtype, or floats
    holding whole numbers). With graded inputs a `FloatNetwork` takes the real
    values u (finite floats) and an `IntNetwork` the integer payloads q in
    [0, 2^bits − 1] that `hardware.inputs.quantise_inputs` makes of them.
    """
    inputs = np.asarray(inputs)
    if inputs.ndim != 3 or inputs.shape[2] != network.input_dim:
        raise S5RFError(f"inputs must have shape (samples, time steps, {network.input_dim}), got {inputs.shape}")
    graded = network.input_format.graded
    if graded and isinstance(network, FloatNetwork):
        if inputs.dtype.kind not in "biuf" or (inputs.dtype.kind == "f" and not np.all(np.isfinite(inputs))):
            raise S5RFError(f"graded inputs must be finite real values, got dtype {inputs.dtype}")
        return inputs
    what = "graded input payloads" if graded else "spike counts"
    if inputs.dtype.kind not in "biu" and not (inputs.dtype.kind == "f" and np.array_equal(inputs, np.round(inputs))):
        raise S5RFError(f"inputs must be integer {what}, got dtype {inputs.dtype}")
    if inputs.size and inputs.min() < 0:
        raise S5RFError(f"inputs must be non-negative {what}")
    if graded and inputs.size and inputs.max() > network.input_format.payload_max:
        raise S5RFError(
            f"inputs must be {what} in [0, {network.input_format.payload_max}], got {inputs.max()}"
        )
    return inputs


def networks_identical(first: Network, second: Network) -> bool:
    """Whether two networks are the same bit for bit: type, target, input format, every array's
    dtype, shape and bytes, every scalar parameter, and metadata (compared as the JSON a file stores)."""
    if type(first) is not type(second) or len(first.layers) != len(second.layers):
        return False
    if metadata_json(first.metadata) != metadata_json(second.metadata):
        return False
    if isinstance(first, IntNetwork) and first.target != second.target:
        return False
    if first.input_format != second.input_format:
        return False
    pairs = list(zip(first.layers, second.layers)) + [(first.readout, second.readout)]
    return all(_records_identical(a, b) for a, b in pairs)
