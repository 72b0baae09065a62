"""From a `FloatNetwork` or `IntNetwork` to a graph of Lava processes.

Per layer l (L layers, P_l neurons, input width H_l):

    provider ──Dense(Re W)──► S5RFNeuron_l.a_in_re
             ──Dense(Im W)──► S5RFNeuron_l.a_in_im      (omitted when Im W = 0)
             ──Dense(I)─────► S5RFNeuron_l.a_in_skip    (skip layers only)

where the provider is the `SpikeSource` for layer 0 and S5RFNeuron_{l−1}
otherwise; the source sends each input value (a spike count or a graded
input payload, docs/design.md §5a) as a graded spike of the target's payload
width, and the target's `graded_peaks` refuses a value beyond it; the last layer drives Dense(R) ─► S5RFReadout. On a skip layer
the identity `Dense` delivers the layer's input with the same one-step delay
as the weighted path, and the neuron sends spikes + input as a graded spike,
so that the next layer receives exactly what the golden simulator feeds it.

Latency: every `Dense` delays by one step, so layer l works on golden step
k at Lava step k + l + 2 (offset l + 1 in `lava_procs.process`), the readout at
k + L + 2 (offset L + 1). The source plays golden step k at Lava step k + 1.

Integer weights. Lava's bit-accurate `Dense` clips its weights to 8 bits,
drops the 8 − num_weight_bits (+1 for mixed sign) low bits and shifts the
accumulated product by `weight_exp` (floor for a right shift). A b-bit
mantissa m with exponent E is therefore given to Lava as
weights = m·2^(9−b), num_weight_bits = b, sign mode mixed,
weight_exp = E − (9 − b): Lava computes ((m·u)·2^(9−b)) shifted by E − (9 − b),
which equals `hardware.neuron.dense_int(m, E, u)` for every integer input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s5rf_neuro.hardware import lava_compat  # noqa: F401  (before any Lava import)
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.proc.dense.process import Dense
from lava.utils.weightutils import SignMode

from s5rf_neuro.errors import S5RFError, TargetError
from s5rf_neuro.hardware.lava_procs.process import S5RFNeuron, S5RFReadout, SpikeSource
from s5rf_neuro.hardware.network import FloatNetwork, IntLayer, IntNetwork, IntReadout, Network
from s5rf_neuro.hardware.target import LOIHI2

LAVA_WEIGHT_BITS = 8
"""Bits Lava's `Dense` keeps of a weight before truncation (mixed sign: one more)."""
ACCUMULATOR_LIMIT = 1 << 31
"""Lava's bit-accurate `Dense` accumulates and sends int32."""
FLOAT_MESSAGE_BITS = 24
"""`num_message_bits` of graded float connections (any positive value means graded)."""


def layer_latency(index: int) -> int:
    """Steps by which layer `index` lags: it works on golden step k at Lava time step k + 1 + latency.

    (The source plays golden step k at Lava time step k + 1, i.e. with latency 0.)
    """
    return index + 1


def readout_latency(num_layers: int) -> int:
    """Steps by which the readout of an L-layer network lags (as `layer_latency`): L + 1."""
    return num_layers + 1


@dataclass
class LavaNetwork:
    """The processes of one built network (all connected; run any of them).

    source: plays the inputs; neurons: one per layer; readout: the scores;
    connections: every `Dense`.
    """

    source: SpikeSource
    neurons: list[S5RFNeuron]
    readout: S5RFReadout
    connections: list[Dense]

    @property
    def latencies(self) -> list[int]:
        """Per layer, then the readout: Lava steps behind the golden step."""
        return [layer_latency(i) for i in range(len(self.neurons))] + [readout_latency(len(self.neurons))]


def int_dense(weight: np.ndarray, exponent: int, weight_bits: int, message_bits: int, name: str) -> Dense:
    """A bit-accurate `Dense` computing `dense_int(weight, exponent, ·)` (see the module docstring).

    message_bits: 0 for binary spikes, else the graded spike payload width.
    """
    scale = LAVA_WEIGHT_BITS + 1 - weight_bits
    return Dense(
        weights=(np.asarray(weight, dtype=np.int64) << scale).astype(np.int32),
        weight_exp=int(exponent) - scale,
        num_weight_bits=weight_bits,
        sign_mode=SignMode.MIXED,
        num_message_bits=message_bits,
        name=name,
    )


def _check_accumulator(what: str, weight: np.ndarray, exponent: int, peak: int, weight_bits: int) -> None:
    """Refuse a connection whose synaptic input can overflow the int32 accumulator of Lava's `Dense`."""
    scale = LAVA_WEIGHT_BITS + 1 - weight_bits
    bound = (int(np.abs(weight).sum(axis=1).max(initial=0)) * peak) << max(scale, exponent)
    if bound >= ACCUMULATOR_LIMIT:
        raise TargetError(f"{what}: synaptic input can reach {bound}, beyond the int32 accumulator of Lava's Dense")


class _Factory:
    """Makes the `Dense` and neuron processes of one network in its number format."""

    def __init__(self, network: Network, period: int, num_steps: int, record_buffer: int, input_peak: int) -> None:
        self.network = network
        self.fixed = isinstance(network, IntNetwork)
        self.target = network.target if isinstance(network, IntNetwork) else LOIHI2
        skips = [layer.skip for layer in network.layers]
        # float connections cannot overflow: their peaks go unused
        self.peaks = self.target.graded_peaks(input_peak, skips) if self.fixed else [0] * (len(skips) + 1)
        self.common = dict(period=period, num_steps=num_steps, record_buffer=record_buffer)
        self.formats = dict(decay_bits=self.target.decay_bits, decay_rounding=self.target.decay_rounding,
                            state_bits=self.target.state_bits)

    def message_bits(self, graded: bool) -> int:
        """Payload width of a graded connection (0: binary spikes)."""
        if not graded:
            return 0
        return self.target.spike_payload_bits if self.fixed else FLOAT_MESSAGE_BITS

    def source(self, inputs: np.ndarray) -> SpikeSource:
        """The process playing `inputs` (N, T, H) back to back."""
        count, steps, channels = inputs.shape
        flat = inputs.reshape(count * steps, channels).astype(np.int32 if self.fixed else np.float64)
        return SpikeSource(data=flat, num_message_bits=self.message_bits(True), name="source")

    def dense(self, weight: np.ndarray, exponent: int, graded: bool, peak: int, owner: str, part: str) -> Dense:
        """A connection with real weights (mantissas and exponent for an integer network) into `owner`."""
        name = f"{owner.replace(' ', '')}_{part}"
        if not self.fixed:
            return Dense(weights=np.asarray(weight, dtype=np.float64), num_message_bits=self.message_bits(graded),
                         name=name)
        _check_accumulator(f"{owner}, {part} weights", weight, exponent, peak, self.target.weight_bits)
        return int_dense(weight, exponent, self.target.weight_bits, self.message_bits(graded), name)

    def layer(self, index: int, graded: bool) -> tuple[S5RFNeuron, list[tuple[Dense, InPort]]]:
        """Layer `index`'s neurons and its incoming connections, each with the neuron port it drives."""
        layer = self.network.layers[index]
        label, peak = f"layer {index}", self.peaks[index]
        if isinstance(layer, IntLayer):
            weights = [(layer.weight_re, layer.weight_exp_re), (layer.weight_im, layer.weight_exp_im)]
            decays = (layer.decay_re, layer.decay_im)
        else:
            weights = [(layer.weight.real, 0), (layer.weight.imag, 0)]
            decays = (layer.decay.real, layer.decay.imag)
        neuron = S5RFNeuron(decay_re=decays[0], decay_im=decays[1], threshold=layer.threshold,
                            offset=layer_latency(index), num_message_bits=self.message_bits(layer.skip),
                            name=label.replace(" ", ""),
                            **self.common, **self.formats)
        wired = [(self.dense(*weights[0], graded, peak, label, "re"), neuron.a_in_re)]
        if layer.uses_imag_weights:
            wired.append((self.dense(*weights[1], graded, peak, label, "im"), neuron.a_in_im))
        if layer.skip:
            identity = np.eye(layer.num_neurons, layer.num_inputs, dtype=np.int64)
            wired.append((self.dense(identity, 0, graded, peak, label, "skip"), neuron.a_in_skip))
        return neuron, wired

    def readout(self, graded: bool) -> tuple[S5RFReadout, Dense]:
        """The readout and its incoming connection."""
        readout = self.network.readout
        exponent = readout.weight_exp if isinstance(readout, IntReadout) else 0
        dense = self.dense(readout.weight, exponent, graded, self.peaks[-1], "readout", "w")
        process = S5RFReadout(decay=readout.decay, offset=readout_latency(len(self.network.layers)),
                              name="readout", **self.common, **self.formats)
        return process, dense


def build_lava(network: Network, inputs: np.ndarray, record_buffer: int) -> LavaNetwork:
    """Build the process graph that runs `network` on `inputs` (N, T, H) back to back (spike counts,
    graded payloads, or real values for a float network).

    record_buffer: samples each recording pipe holds (at least the samples that
    finish within one `run` call, or the run blocks). Raises `TargetError` for an integer
    network Lava's `Dense` cannot represent.
    """
    if not isinstance(network, (FloatNetwork, IntNetwork)):
        raise S5RFError(f"cannot build Lava processes for a {type(network).__name__}")
    count, steps, _ = inputs.shape
    factory = _Factory(network, steps, count * steps, record_buffer, int(inputs.max(initial=0)))
    source = factory.source(inputs)
    provider: OutPort = source.s_out
    graded = True  # the source sends spike counts or graded input payloads
    neurons: list[S5RFNeuron] = []
    connections: list[Dense] = []
    for index, layer in enumerate(network.layers):
        neuron, wired = factory.layer(index, graded)
        for dense, port in wired:
            provider.connect(dense.s_in)
            dense.a_out.connect(port)
            connections.append(dense)
        neurons.append(neuron)
        provider, graded = neuron.s_out, layer.skip
    readout, dense = factory.readout(graded)
    provider.connect(dense.s_in)
    dense.a_out.connect(readout.a_in)
    connections.append(dense)
    return LavaNetwork(source, neurons, readout, connections)
