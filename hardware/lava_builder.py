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

A layer with a mixing stage (docs/design.md §4b) is its states, wired as
above into an `S5RFState`, then

    S5RFState.s_out_re ──Dense(mixing re)──► MixingThreshold.a_in_re
    S5RFState.s_out_im ──Dense(mixing im)──► MixingThreshold.a_in_im

with graded state spikes of the target's `state_payload_bits`; the
`MixingThreshold` provides the next layer's input.

Latency: every `Dense` delays by one step, so without mixing layer l works on
golden step k at Lava step k + l + 2 (offset l + 1 in `lava_procs.process`),
the readout at k + L + 2 (offset L + 1); each mixing stage adds one step to
its layer's threshold neurons and to everything after them (`latencies`).
The source plays golden step k at Lava step k + 1.

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
from s5rf_neuro.hardware.lava_procs.process import MixingThreshold, S5RFNeuron, S5RFReadout, S5RFState, SpikeSource
from s5rf_neuro.hardware.network import FloatNetwork, IntLayer, IntMixing, IntNetwork, IntReadout, Network
from s5rf_neuro.hardware.target import LOIHI2

LAVA_WEIGHT_BITS = 8
"""Bits Lava's `Dense` keeps of a weight before truncation (mixed sign: one more)."""
ACCUMULATOR_LIMIT = 1 << 31
"""Lava's bit-accurate `Dense` accumulates and sends int32."""
FLOAT_MESSAGE_BITS = 24
"""`num_message_bits` of graded float connections (any positive value means graded)."""


def latencies(network: Network) -> list[int]:
    """Steps by which each layer's spiking process, then the readout, lags: it works on golden step k
    at Lava time step k + 1 + latency (the source plays golden step k at step k + 1, latency 0).

    One `Dense` per layer adds one step, a mixing stage's `Dense` one more.
    """
    lags, lag = [], 0
    for layer in network.layers:
        lag += 1 if layer.mixing is None else 2
        lags.append(lag)
    return lags + [lag + 1]


@dataclass
class LavaNetwork:
    """The processes of one built network (all connected; run any of them).

    source: plays the inputs; neurons: per layer the process whose spikes it
    sends (a `MixingThreshold` for a layer with a mixing stage); readout: the
    scores; connections: every `Dense`; latencies: per layer then the
    readout, Lava steps behind the golden step (`latencies`); states: per
    layer its `S5RFState`, or None for a layer without a mixing stage.
    """

    source: SpikeSource
    neurons: list[S5RFNeuron | MixingThreshold]
    readout: S5RFReadout
    connections: list[Dense]
    latencies: list[int]
    states: list[S5RFState | None]

    def saturation(self) -> list[int]:
        """Saturation events per layer (a mixing layer's are its states'), then the readout's."""
        counts = [int((neuron if state is None else state).saturation.get()[0])
                  for neuron, state in zip(self.neurons, self.states)]
        return counts + [int(self.readout.saturation.get()[0])]


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
        self.latencies = latencies(network)
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

    def layer(
        self, index: int, graded: bool
    ) -> tuple[S5RFNeuron | S5RFState, list[tuple[Dense, InPort]]]:
        """Layer `index`'s neurons (its states, for a layer with a mixing stage) and its incoming
        connections, each with the port it drives."""
        layer = self.network.layers[index]
        label, peak = f"layer {index}", self.peaks[index]
        if isinstance(layer, IntLayer):
            weights = [(layer.weight_re, layer.weight_exp_re), (layer.weight_im, layer.weight_exp_im)]
            decays = (layer.decay_re, layer.decay_im)
        else:
            weights = [(layer.weight.real, 0), (layer.weight.imag, 0)]
            decays = (layer.decay.real, layer.decay.imag)
        neuron: S5RFNeuron | S5RFState
        if layer.mixing is None:
            neuron = S5RFNeuron(decay_re=decays[0], decay_im=decays[1], threshold=layer.threshold,
                                offset=self.latencies[index], num_message_bits=self.message_bits(layer.skip),
                                name=label.replace(" ", ""),
                                **self.common, **self.formats)
        else:
            neuron = S5RFState(decay_re=decays[0], decay_im=decays[1], offset=self.latencies[index] - 1,
                               payload_bits=self.target.state_payload_bits, name=f"{label.replace(' ', '')}states",
                               period=self.common["period"], num_steps=self.common["num_steps"], **self.formats)
        wired = [(self.dense(*weights[0], graded, peak, label, "re"), neuron.a_in_re)]
        if layer.uses_imag_weights:
            wired.append((self.dense(*weights[1], graded, peak, label, "im"), neuron.a_in_im))
        if layer.skip:
            identity = np.eye(layer.num_neurons, layer.num_inputs, dtype=np.int64)
            wired.append((self.dense(identity, 0, graded, peak, label, "skip"), neuron.a_in_skip))
        return neuron, wired

    def mixing(self, index: int) -> tuple[MixingThreshold, list[tuple[Dense, InPort]]]:
        """Layer `index`'s mixing-stage neurons and their two connections, each with the port it drives
        (the real-state connection first: it reads `s_out_re`)."""
        layer = self.network.layers[index]
        assert layer.mixing is not None
        label = f"layer {index} mixing"
        if isinstance(layer.mixing, IntMixing):
            weights = [(layer.mixing.weight_re, layer.mixing.weight_exp_re), (layer.mixing.weight_im, layer.mixing.weight_exp_im)]
            bits = self.target.state_payload_bits
        else:
            weights = [(part, 0) for part in layer.mixing.weight_parts()]
            bits = FLOAT_MESSAGE_BITS
        neuron = MixingThreshold(threshold=layer.threshold, offset=self.latencies[index],
                                 state_bits=self.target.state_bits, name=f"layer{index}", **self.common)
        peak = self.target.state_payload_max
        wired = []
        for (weight, exponent), part, port in zip(weights, ("re", "im"), (neuron.a_in_re, neuron.a_in_im)):
            name = f"layer{index}_mixing_{part}"
            if self.fixed:
                _check_accumulator(f"{label}, {part} weights", weight, exponent, peak, self.target.weight_bits)
                dense = int_dense(weight, exponent, self.target.weight_bits, bits, name)
            else:
                dense = Dense(weights=np.asarray(weight, dtype=np.float64), num_message_bits=bits, name=name)
            wired.append((dense, port))
        return neuron, wired

    def readout(self, graded: bool) -> tuple[S5RFReadout, Dense]:
        """The readout and its incoming connection."""
        readout = self.network.readout
        exponent = readout.weight_exp if isinstance(readout, IntReadout) else 0
        dense = self.dense(readout.weight, exponent, graded, self.peaks[-1], "readout", "w")
        process = S5RFReadout(decay=readout.decay, offset=self.latencies[-1],
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
    neurons: list[S5RFNeuron | MixingThreshold] = []
    states: list[S5RFState | None] = []
    connections: list[Dense] = []
    for index, layer in enumerate(network.layers):
        neuron, wired = factory.layer(index, graded)
        for dense, port in wired:
            provider.connect(dense.s_in)
            dense.a_out.connect(port)
            connections.append(dense)
        if isinstance(neuron, S5RFState):
            states.append(neuron)
            stage, wired = factory.mixing(index)
            for (dense, port), sender in zip(wired, (neuron.s_out_re, neuron.s_out_im)):
                sender.connect(dense.s_in)
                dense.a_out.connect(port)
                connections.append(dense)
            neurons.append(stage)
            provider, graded = stage.s_out, False
            continue
        states.append(None)
        neurons.append(neuron)
        provider, graded = neuron.s_out, layer.skip
    readout, dense = factory.readout(graded)
    provider.connect(dense.s_in)
    dense.a_out.connect(readout.a_in)
    connections.append(dense)
    return LavaNetwork(source, neurons, readout, connections, factory.latencies, states)
