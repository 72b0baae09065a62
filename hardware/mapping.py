"""Assign an integer S5-RF network's neurons and synapses to neuro cores.

Model of the hardware (the `TargetSpec` limits, docs/design.md §5):

- a neuron and all its input synapses live on one core (synapses are stored
  at the destination, as on Loihi); a complex S5-RF neuron is one neuron
  with two state words;
- layer l's neurons have fan-in H_l from the real `Dense`, H_l more from the
  imaginary `Dense` (when its weights are not all zero) and 1 from the
  identity skip connection on a skip layer; a readout neuron has fan-in P_L;
- a layer with a mixing stage (docs/design.md §4b) has its P states as the
  layer's neurons and P more memoryless threshold neurons ("layer l
  mixing", the row right after the layer's), whose fan-in is the largest
  number of non-zero mixing weights of one neuron over both parts (the
  states of its block, real and imaginary);
- each layer (and the readout) gets its own cores, filled up to
  `neurons_per_core` neurons and `synapses_per_core` synapses, the same
  number of neurons on every core of a layer but the last;
- cores fill chips of `cores_per_chip`.

`map_network` refuses (`TargetError`, naming the layer and the limit) a
network whose single neuron needs more synapses than a core holds, or whose
graded spikes do not fit the target's payload; weights, exponents and
thresholds fit the target by construction of the `IntNetwork`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from s5rf_neuro.errors import TargetError
from s5rf_neuro.hardware.network import IntNetwork


@dataclass(frozen=True)
class CoreUse:
    """One neuro core: which chip, which layer, how many neurons and synapses."""

    core: int
    chip: int
    layer: str
    neurons: int
    synapses: int


@dataclass(frozen=True)
class LayerMapping:
    """One layer (or the readout) on the cores: fan-in per neuron and totals."""

    layer: str
    neurons: int
    fan_in: int
    synapses: int
    cores: int
    neurons_per_core: int


@dataclass
class MappingReport:
    """Where a network goes on the target.

    layers: one entry per layer (followed by one for its mixing stage, if any)
    then the readout; cores: every core used, in order.
    """

    target: str
    layers: list[LayerMapping]
    cores: list[CoreUse]
    neurons_per_core_limit: int
    synapses_per_core_limit: int
    cores_per_chip: int
    notes: list[str] = field(default_factory=list)

    @property
    def cores_used(self) -> int:
        """Number of neuro cores the network occupies."""
        return len(self.cores)

    @property
    def chips_needed(self) -> int:
        """Chips needed to hold those cores."""
        return max(1, math.ceil(self.cores_used / self.cores_per_chip))

    @property
    def total_neurons(self) -> int:
        """Neurons of all layers and the readout."""
        return sum(layer.neurons for layer in self.layers)

    @property
    def total_synapses(self) -> int:
        """Synapses of all connections."""
        return sum(layer.synapses for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "target": self.target,
            "cores_used": self.cores_used,
            "chips_needed": self.chips_needed,
            "total_neurons": self.total_neurons,
            "total_synapses": self.total_synapses,
            "neurons_per_core_limit": self.neurons_per_core_limit,
            "synapses_per_core_limit": self.synapses_per_core_limit,
            "layers": [asdict(layer) for layer in self.layers],
            "cores": [asdict(core) for core in self.cores],
            "notes": list(self.notes),
        }



def _place(name: str, neurons: int, fan_in: int, network: IntNetwork, first_core: int) -> tuple[LayerMapping, list[CoreUse]]:
    """Spread `neurons` of one layer with `fan_in` synapses each over fresh cores."""
    target = network.target
    if fan_in > target.synapses_per_core:
        raise TargetError(
            f"{name}: one neuron has {fan_in} input synapses but a core holds at most "
            f"{target.synapses_per_core} (synapses_per_core of target {target.name})"
        )
    per_core = min(target.neurons_per_core, target.synapses_per_core // max(fan_in, 1), max(neurons, 1))
    count = math.ceil(neurons / per_core)
    cores = []
    for i in range(count):
        held = min(per_core, neurons - i * per_core)
        core = first_core + i
        cores.append(CoreUse(core, core // target.cores_per_chip, name, held, held * fan_in))
    return LayerMapping(name, neurons, fan_in, neurons * fan_in, count, per_core), cores


def mixing_row_name(index: int) -> str:
    """The mapping row (and counter name) of layer `index`'s mixing stage."""
    return f"layer {index} mixing"


def map_network(network: IntNetwork) -> MappingReport:
    """Assign `network` to cores of its target; `TargetError` when it cannot be mapped."""
    if not isinstance(network, IntNetwork):
        raise TargetError(
            f"core mapping needs a quantised (integer) network, got {type(network).__name__}; export for a fixed-point target"
        )
    target = network.target
    layers: list[LayerMapping] = []
    cores: list[CoreUse] = []
    target.graded_peaks(1, (layer.skip for layer in network.layers))
    for index, layer in enumerate(network.layers):
        name = f"layer {index}"
        fan_in = layer.num_inputs * (2 if layer.uses_imag_weights else 1) + (1 if layer.skip else 0)
        placed, used = _place(name, layer.num_neurons, fan_in, network, len(cores))
        layers.append(placed)
        cores.extend(used)
        if layer.mixing is not None:
            first, second = layer.mixing.weight_parts()
            fan_in = int(np.max(np.count_nonzero(first, axis=1) + np.count_nonzero(second, axis=1), initial=0))
            placed, used = _place(mixing_row_name(index), layer.num_mixing_neurons, fan_in, network, len(cores))
            layers.append(placed)
            cores.extend(used)
    readout = network.readout
    placed, used = _place("readout", network.output_dim, int(readout.weight.shape[1]), network, len(cores))
    layers.append(placed)
    cores.extend(used)
    notes = []
    if any(layer.skip for layer in network.layers):
        notes.append("skip layers hold one identity synapse per neuron for their input (graded spikes)")
    if any(layer.mixing is not None for layer in network.layers):
        notes.append(
            f"a mixing stage's states send Re x and Im x as {target.state_payload_bits}-bit graded spikes every step "
            "to threshold neurons holding one synapse per state of their block and part"
        )
    return MappingReport(target.name, layers, cores, target.neurons_per_core, target.synapses_per_core,
                         target.cores_per_chip, notes)
