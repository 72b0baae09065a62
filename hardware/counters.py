"""Operation counts of an S5-RF network from its spikes (DESIGN §8).

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
- **readout**: one real synapse per readout output (fan-out O) for each
  output event of the last layer (its spikes, plus its input if it is a skip
  layer, as the golden simulator wires it); it updates O leaky integrators
  per step and does not spike.
- **neuron updates**: neurons × time steps, every step (an S5-RF state keeps
  rotating without input, so no update is skipped).
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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from s5rf_neuro.errors import S5RFError
from s5rf_neuro.hardware.network import Network


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
                }
                for layer in self.layers
            ],
            "total": self.mean_per_sample(),
        }


def dense_macs(network: Network, time_steps: int) -> list[int]:
    """Real MACs per sample of every layer and then the readout, run densely for `time_steps` steps."""
    macs = []
    for layer in network.layers:
        per_weight = 2 if layer.uses_imag_weights else 1
        per_step = layer.num_neurons * layer.num_inputs * per_weight + 4 * layer.num_neurons
        macs.append(per_step * time_steps)
    outputs, neurons = network.readout.weight.shape
    macs.append((outputs * neurons + outputs) * time_steps)
    return macs


def _events(values: np.ndarray) -> np.ndarray:
    """int64 (N,): non-zero entries per sample of a (N, T, C) array."""
    return np.count_nonzero(values.reshape(values.shape[0], -1), axis=1).astype(np.int64)


def count_operations(network: Network, spikes: Sequence[np.ndarray], inputs: np.ndarray) -> OperationCounts:
    """Count the operations of `network` for one run.

    spikes: one array per layer, (N, T, P_l), bool or 0/1 (e.g. `SimulationResult.spikes`
            or the float model's spike tensors converted with `.numpy()`);
    inputs: (N, T, H) non-negative spike counts given to the first layer.
    A mismatch between the network and the arrays raises `S5RFError` naming both shapes.
    """
    inputs = np.asarray(inputs)
    if len(spikes) != len(network.layers):
        raise S5RFError(f"spikes hold {len(spikes)} layer(s) but the network has {len(network.layers)}")
    if inputs.ndim != 3 or inputs.shape[2] != network.input_dim:
        raise S5RFError(f"inputs have shape {inputs.shape}, expected (N, T, {network.input_dim})")
    samples, time_steps = inputs.shape[:2]
    macs = dense_macs(network, time_steps)
    layer_input = inputs.astype(np.int64)
    rows = []
    for index, (layer, layer_spikes) in enumerate(zip(network.layers, spikes)):
        layer_spikes = np.asarray(layer_spikes).astype(np.int64)
        expected = (samples, time_steps, layer.num_neurons)
        if layer_spikes.shape != expected:
            raise S5RFError(f"spikes of layer {index} have shape {layer_spikes.shape}, expected {expected}")
        events = _events(layer_input)
        skip_ops = events if layer.skip else np.zeros(samples, dtype=np.int64)
        fan_out = layer.num_neurons * (2 if layer.uses_imag_weights else 1)
        rows.append(
            LayerCounts(
                name=f"layer {index}",
                neurons=layer.num_neurons,
                time_steps=time_steps,
                input_events=events,
                spikes=_events(layer_spikes),
                synaptic_ops=events * fan_out + skip_ops,
                skip_ops=skip_ops,
                neuron_updates=layer.num_neurons * time_steps,
                dense_macs=macs[index],
            )
        )
        layer_input = layer_spikes + layer_input if layer.skip else layer_spikes
    outputs = network.output_dim
    readout_events = _events(layer_input)
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
        )
    )
    return OperationCounts(layers=tuple(rows))
