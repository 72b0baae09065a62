"""Operation counts of an S5-RF network from its spikes (docs/design.md §8).

The counts describe one inference per sample on event-driven hardware of the
Loihi class, and the same network run densely as a conventional float model.
They are computed from spikes only, so the float model's spikes, the golden
simulator's and Lava's (the same `SimulationResult` type) all go through the
same code and give equal counts for equal spikes.

Definitions (per sample; layer l has H inputs, P neurons, T time steps):

- **input events** of layer l: the non-zero entries of its input u_l[t, h].
  u_0 is the data; u_{l+1} = s_l + (u_l on a skip layer). A graded value
  (an input count above 1, or a skip output of 2 = spike + forwarded spike)
  is *one* message, as a graded spike is on Loihi 2, so it counts once.
- **synaptic operations** of layer l: Σ over its input events of the fan-out
  P, times 2 when the connection is complex (real and imaginary synapse)
  and 1 when its imaginary weights are all zero; plus, on a skip layer, one
  operation per input event for the identity synapse that forwards u_l to
  the layer's graded output. The fan-out is the dense one (every synapse of
  the row is read), zero-valued weights included.
- **mixing stage** (a layer with one, docs/design.md §4b): every state
  neuron sends two graded messages every step (Re x, Im x), whether or not
  anything spikes: 2·P·T `state_messages` per sample. Each reaches the
  threshold neurons of its block: `mixing_ops` = T × the non-zero mixing
  weights (both parts), added to the layer's synaptic operations. The
  stage's P threshold neurons update every step (`mixing_neurons`; their
  P·T updates are added to the layer's neuron updates, active from the
  first step at which a state of theirs is active); the dense float model
  computes the stage as one real MAC per non-zero mixing weight per step.
- **readout**: one real synapse per readout output (fan-out O) for each
  output event of the last layer (its spikes, plus its input if it is a skip
  layer, as the golden simulator wires it); it updates O leaky integrators
  per step and does not spike.
- **neuron updates**: neurons × time steps, every step (an S5-RF state keeps
  rotating without input, so no update is skipped). An update is *inactive*
  when the neuron's state and input are both zero: that holds from the start
  of a sample until the first step at which one of its non-zero weights
  receives an input event; from then on the update is *active* (a float
  state never returns exactly to zero; an integer state that decays to zero
  is still counted active, so the active count is an upper bound there).
  *Spiking* updates are the active updates that emit a spike.
- **output events** of a layer: the non-zero entries of its output (the next
  layer's input events, or the readout's): each is one spike message sent out
  of the layer's cores.
- **activation sparsity**: the fraction of (step, neuron) slots without a
  spike, 1 − spikes / (T·P).
- **dense MACs** (conventional float model, every step, no sparsity), in real
  multiply-accumulates (one multiply + one add each):
  input projection W·u: P·H per step, ×2 for complex weights (a complex
  weight times a real input is 2 real MACs); recurrence λ̄ ⊙ x: 4 per neuron
  per step (a complex × complex product is 4 real multiplies and 2 adds, and
  adding the drive 2 more adds: 4 multiplies + 4 adds); readout: O·P + O
  per step (R·s and d ⊙ y). Threshold compares and skip additions are not
  MACs and are left out (one compare and at most one add per neuron per
  step).
- **dense memory traffic** (the same dense model, per sample): every step
  reads every weight and every neuron's decay pair (c, s) and threshold once
  (`dense_weight_reads`; readout: O·P weights and O decays), reads each input
  value once (`dense_input_reads`: H per layer, P for the readout) and reads
  and writes each state value once (`dense_state_accesses`: 4 per complex
  neuron, 2 per readout integrator).
- **NeuroBench workload metrics** (`neurobench`): activation sparsity over the
  spiking layers' (step, neuron) slots; synaptic operations as NeuroBench
  defines them for a linear connection: Dense = every weight × every input,
  effective = non-zero weights × non-zero inputs, counted as accumulates
  (Eff_ACs) where the connection's inputs were all 0/1 over the run and as
  multiply-accumulates (Eff_MACs) otherwise. A complex weight matrix counts as
  its real and its imaginary matrix. NeuroBench has no rule for a complex
  diagonal recurrence: it is counted here as a connection from each neuron's
  state to itself of 4 real multiplies (λ̄ × z), MACs since the state is
  graded, in Dense every step and in Eff_MACs for the active updates. The
  skip identity and the readout's leak are not connections and are left out.
  A mixing stage is a connection from graded states: its non-zero weights
  count every step, in Dense and in Eff_MACs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from s5rf_neuro.errors import S5RFError
from s5rf_neuro.hardware.network import FloatLayer, IntLayer, Network, check_inputs


@dataclass(frozen=True)
class LayerCounts:
    """Counts of one layer (or the readout), one entry per sample.

    name:            "layer 0", "layer 1", …, "readout"
    neurons:         P (O for the readout)
    time_steps:      T
    input_events:    int64 (N,)  non-zero input entries (messages received)
    spikes:          int64 (N,)  spikes emitted (0 for the readout)
    synaptic_ops:    int64 (N,)  synaptic operations, skip synapses included
    skip_ops:        int64 (N,)  the part of synaptic_ops due to the skip synapses
    neuron_updates:  int         P·T, the same for every sample
    dense_macs:      int         real MACs of the dense float model, per sample
    output_events:   int64 (N,)  non-zero output entries (messages sent; 0 for the readout)
    active_updates:  int64 (N,)  neuron updates with a non-zero state or input
    dense_weight_reads:   int    weights, decays and thresholds read by the dense model, per sample
    dense_input_reads:    int    input values read by the dense model, per sample
    dense_state_accesses: int    state values read or written by the dense model, per sample
    effective_synops: int64 (N,) NeuroBench effective synaptic operations (non-zero weight × non-zero input)
    dense_synops:    int         NeuroBench Dense synaptic operations, per sample
    binary_inputs:   bool        whether every input value of the run was 0 or 1 (ACs, else MACs)
    mixing_neurons:  int         threshold neurons of the layer's mixing stage (0 without one)
    state_messages:  int         graded state messages the stage's states send, per sample (2·P·T)
    mixing_ops:      int         synaptic operations of those messages, per sample (in synaptic_ops)
    mixing_active:   int64 (N,)  the part of active_updates due to the mixing stage (0 without one)
    """

    name: str
    neurons: int
    time_steps: int
    input_events: np.ndarray
    spikes: np.ndarray
    synaptic_ops: np.ndarray
    skip_ops: np.ndarray
    neuron_updates: int
    dense_macs: int
    output_events: np.ndarray
    active_updates: np.ndarray
    dense_weight_reads: int
    dense_input_reads: int
    dense_state_accesses: int
    effective_synops: np.ndarray
    dense_synops: int
    binary_inputs: bool
    mixing_neurons: int = 0
    state_messages: int = 0
    mixing_ops: int = 0
    mixing_active: np.ndarray | int = 0

    @property
    def inactive_updates(self) -> np.ndarray:
        """int64 (N,): neuron updates with zero state and zero input."""
        return self.neuron_updates - self.active_updates

    @property
    def firing_rate(self) -> np.ndarray:
        """float64 (N,): spikes per neuron per time step."""
        return self.spikes / float(self.neurons * self.time_steps)

    @property
    def sparsity(self) -> np.ndarray:
        """float64 (N,): activation sparsity, 1 − firing rate."""
        return 1.0 - self.firing_rate


@dataclass(frozen=True)
class OperationCounts:
    """Per-sample, per-layer operation counts of one run; `layers[-1]` is the readout."""

    layers: tuple[LayerCounts, ...]

    @property
    def num_samples(self) -> int:
        """N, the number of samples counted."""
        return int(self.layers[0].spikes.shape[0])

    def total(self, field: str) -> np.ndarray:
        """int64 (N,): `field` ("spikes", "synaptic_ops", "input_events", …) summed over layers."""
        return np.sum([np.broadcast_to(getattr(layer, field), (self.num_samples,)) for layer in self.layers], axis=0)

    def mean_per_sample(self) -> dict[str, float]:
        """Whole-network means per inference: spikes, synaptic_ops, neuron_updates, dense_macs."""
        return {
            field: float(np.mean(self.total(field)))
            for field in ("spikes", "synaptic_ops", "neuron_updates", "dense_macs")
        }

    def to_dict(self) -> dict[str, object]:
        """JSON-able per-layer means per sample."""
        return {
            "samples": self.num_samples,
            "layers": [
                {
                    "name": layer.name,
                    "neurons": layer.neurons,
                    "time_steps": layer.time_steps,
                    "input_events": float(np.mean(layer.input_events)),
                    "spikes": float(np.mean(layer.spikes)),
                    "synaptic_ops": float(np.mean(layer.synaptic_ops)),
                    "skip_ops": float(np.mean(layer.skip_ops)),
                    "neuron_updates": layer.neuron_updates,
                    "dense_macs": layer.dense_macs,
                    "firing_rate": float(np.mean(layer.firing_rate)),
                    "sparsity": float(np.mean(layer.sparsity)),
                    "output_events": float(np.mean(layer.output_events)),
                    "active_updates": float(np.mean(layer.active_updates)),
                    "mixing_neurons": layer.mixing_neurons,
                    "state_messages": layer.state_messages,
                    "mixing_ops": layer.mixing_ops,
                }
                for layer in self.layers
            ],
            "total": self.mean_per_sample(),
            "neurobench": self.neurobench().to_dict(),
        }

    def synops_split(self) -> dict[str, float]:
        """Mean synaptic operations per sample: input layer (fed by the data), hidden layers, readout, total."""
        mean = [float(np.mean(layer.synaptic_ops)) for layer in self.layers]
        return {"input": mean[0], "hidden": float(sum(mean[1:-1])), "readout": mean[-1], "total": float(sum(mean))}

    def neurobench(self) -> "NeuroBenchMetrics":
        """NeuroBench's workload metrics of the run (see the module doc)."""
        spiking = self.layers[:-1]
        slots = sum(layer.neurons * layer.time_steps for layer in spiking)
        spikes = float(np.mean(sum(layer.spikes for layer in spiking)))
        effective_macs = effective_acs = 0.0
        dense = 0
        for layer in self.layers:
            effective = float(np.mean(layer.effective_synops))
            if layer.binary_inputs:
                effective_acs += effective
            else:
                effective_macs += effective
            dense += layer.dense_synops
        for layer in spiking:  # the complex recurrence, λ̄ × z: 4 real multiplies
            effective_macs += 4.0 * float(np.mean(layer.active_updates - layer.mixing_active))
            dense += 4 * (layer.neuron_updates - layer.mixing_neurons * layer.time_steps)
            # a mixing stage: graded states × non-zero weights, every step
            effective_macs += layer.mixing_ops
            dense += layer.mixing_ops
        return NeuroBenchMetrics(1.0 - spikes / slots, effective_macs, effective_acs, float(dense))


@dataclass(frozen=True)
class NeuroBenchMetrics:
    """NeuroBench workload metrics, means per sample (see the module doc for the complex recurrence)."""

    activation_sparsity: float
    effective_macs: float
    effective_acs: float
    dense: float

    def to_dict(self) -> dict[str, float]:
        """JSON-able form, NeuroBench's names."""
        return {"activation_sparsity": self.activation_sparsity, "Effective_MACs": self.effective_macs,
                "Effective_ACs": self.effective_acs, "Dense": self.dense}


def dense_macs(network: Network, time_steps: int) -> list[int]:
    """Real MACs per sample of every layer and then the readout, run densely for `time_steps` steps."""
    macs = []
    for layer in network.layers:
        per_weight = 2 if layer.uses_imag_weights else 1
        per_step = layer.num_neurons * layer.num_inputs * per_weight + 4 * layer.num_neurons
        macs.append((per_step + _mixing_synapses(layer)) * time_steps)
    outputs, neurons = network.readout.weight.shape
    macs.append((outputs * neurons + outputs) * time_steps)
    return macs


def _used_weights(layer: FloatLayer | IntLayer) -> list[np.ndarray]:
    """The real matrices (P, H) of a layer's weights: real part, then imaginary part when used."""
    real, imag = layer.weight_parts()
    return [real, imag] if layer.uses_imag_weights else [real]


def _mixing_synapses(layer: FloatLayer | IntLayer) -> int:
    """Non-zero weights of the layer's mixing stage, both parts (0 without one)."""
    return 0 if layer.mixing is None else layer.mixing.num_synapses


def _activity(
    values: np.ndarray, weights: list[np.ndarray], chunk: int = 64, mixing: list[np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(active updates, effective synaptic ops, active mixing updates), int64 (N,) each, of neurons fed
    `values` (N, T, H) through `weights`.

    A neuron is active from the first step at which a non-zero weight of it receives a non-zero input.
    mixing: the (P, P) parts of a mixing stage, whose neurons are active from the first step at which
    a state they read is (their count is the third array, zeros without a stage).
    """
    connected = np.any([part != 0 for part in weights], axis=0).astype(np.float32)  # (P, H)
    per_input = np.sum([np.count_nonzero(part, axis=0) for part in weights], axis=0)  # (H,)
    events = values != 0
    effective = events.sum(axis=1).astype(np.int64) @ per_input.astype(np.int64)
    active = np.empty(len(values), dtype=np.int64)
    mixed = np.zeros(len(values), dtype=np.int64)
    for start in range(0, len(values), chunk):
        driven = (events[start:start + chunk].astype(np.float32) @ connected.T) > 0  # (n, T, P)
        states = np.logical_or.accumulate(driven, axis=1)
        active[start:start + chunk] = states.sum(axis=(1, 2))
        if mixing is not None:
            reads = np.any([part != 0 for part in mixing], axis=0).astype(np.float32)  # (P, P)
            mixed[start:start + chunk] = ((states.astype(np.float32) @ reads.T) > 0).sum(axis=(1, 2))
    return active, effective, mixed


def _events(values: np.ndarray) -> np.ndarray:
    """int64 (N,): non-zero entries per sample of a (N, T, C) array."""
    return np.count_nonzero(values.reshape(values.shape[0], -1), axis=1).astype(np.int64)


def count_operations(network: Network, spikes: Sequence[np.ndarray], inputs: np.ndarray) -> OperationCounts:
    """Count the operations of `network` for one run.

    spikes: one array per layer, (N, T, P_l), bool or 0/1 (e.g. `SimulationResult.spikes`
            or the float model's spike tensors converted with `.numpy()`);
    inputs: (N, T, H) what the first layer was given (`check_inputs`): spike counts, graded
            payloads, or real values for a float network with graded inputs.
    A mismatch between the network and the arrays raises `S5RFError` naming both shapes.
    """
    inputs = check_inputs(network, inputs)
    if len(spikes) != len(network.layers):
        raise S5RFError(f"spikes hold {len(spikes)} layer(s) but the network has {len(network.layers)}")
    samples, time_steps = inputs.shape[:2]
    macs = dense_macs(network, time_steps)
    # a float network takes graded inputs as real values: keep them, only their non-zero pattern counts
    layer_input = inputs.astype(np.float64 if inputs.dtype.kind == "f" else np.int64)
    rows = []
    for index, (layer, layer_spikes) in enumerate(zip(network.layers, spikes)):
        layer_spikes = np.asarray(layer_spikes).astype(np.int64)
        expected = (samples, time_steps, layer.num_neurons)
        if layer_spikes.shape != expected:
            raise S5RFError(f"spikes of layer {index} have shape {layer_spikes.shape}, expected {expected}")
        events = _events(layer_input)
        skip_ops = events if layer.skip else np.zeros(samples, dtype=np.int64)
        parts = 2 if layer.uses_imag_weights else 1
        fan_out = layer.num_neurons * parts
        layer_output = layer_spikes + layer_input if layer.skip else layer_spikes
        mixing = None if layer.mixing is None else list(layer.mixing.weight_parts())
        active, effective, mixing_active = _activity(layer_input, _used_weights(layer), mixing=mixing)
        neurons, width = layer.num_neurons, layer.num_inputs
        mixing_ops = _mixing_synapses(layer) * time_steps
        rows.append(
            LayerCounts(
                name=f"layer {index}",
                neurons=layer.num_neurons,
                time_steps=time_steps,
                input_events=events,
                spikes=_events(layer_spikes),
                synaptic_ops=events * fan_out + skip_ops + mixing_ops,
                skip_ops=skip_ops,
                neuron_updates=(neurons + layer.num_mixing_neurons) * time_steps,
                dense_macs=macs[index],
                output_events=_events(layer_output),
                active_updates=active + mixing_active,
                dense_weight_reads=(neurons * width * parts + 3 * neurons) * time_steps + mixing_ops,
                dense_input_reads=width * time_steps,
                dense_state_accesses=4 * neurons * time_steps,
                effective_synops=effective,
                dense_synops=neurons * width * parts * time_steps,
                binary_inputs=bool(np.all((layer_input == 0) | (layer_input == 1))),
                mixing_neurons=layer.num_mixing_neurons,
                state_messages=2 * neurons * time_steps if layer.mixing is not None else 0,
                mixing_ops=mixing_ops,
                mixing_active=mixing_active,
            )
        )
        layer_input = layer_output
    outputs = network.output_dim
    readout_events = _events(layer_input)
    readout_weight = np.asarray(network.readout.weight)
    width = readout_weight.shape[1]
    active, effective, _ = _activity(layer_input, [readout_weight])
    rows.append(
        LayerCounts(
            name="readout",
            neurons=outputs,
            time_steps=time_steps,
            input_events=readout_events,
            spikes=np.zeros(samples, dtype=np.int64),
            synaptic_ops=readout_events * outputs,
            skip_ops=np.zeros(samples, dtype=np.int64),
            neuron_updates=outputs * time_steps,
            dense_macs=macs[-1],
            output_events=np.zeros(samples, dtype=np.int64),
            active_updates=active,
            dense_weight_reads=(outputs * width + outputs) * time_steps,
            dense_input_reads=width * time_steps,
            dense_state_accesses=2 * outputs * time_steps,
            effective_synops=effective,
            dense_synops=outputs * width * time_steps,
            binary_inputs=bool(np.all((layer_input == 0) | (layer_input == 1))),
        )
    )
    return OperationCounts(layers=tuple(rows))
