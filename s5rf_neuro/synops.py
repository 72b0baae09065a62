"""Synaptic operations of a forward pass, as differentiable tensors (the training penalty).

The count is the one the hardware counters make from spikes (event-driven
hardware of the Loihi class), written on the model's tensors so that its
gradient flows through the surrogate spike:

- the input of layer l is u_0 = the data, u_{l+1} = s_l (+ u_l on a skip
  layer); one non-zero entry of u_l is one message (a graded value counts
  once). Its indicator a_l ∈ {0, 1} is constant for the data and, since
  spikes and inputs are non-negative, a_{l+1} = s_l + a_l − s_l·a_l on a skip
  layer (s_l OR a_l), a_{l+1} = s_l otherwise;
- layer l: Σ a_l × P_l × (2 when its weights are complex, else 1), plus Σ a_l
  for the identity synapse of a skip layer;
- readout: Σ a_L × O (one real synapse per output).

On binary spikes the values equal the counters' integers exactly; between 0
and 1 (never produced by the forward pass) they only matter for the gradient.
The dense reference is the real multiply-accumulates per sample of the same
network run densely (P·H per step, ×2 for complex weights, 4 per neuron per
step for the complex recurrence, O·P + O per step for the readout).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from s5rf_neuro.layer import S5RFLayer
from s5rf_neuro.model import S5RFClassifier


@dataclass(frozen=True)
class SynapticOps:
    """Synaptic operations per sample, float tensors (batch,) that carry gradients.

    layers: one per spiking layer (its input synapses, skip synapse included);
    readout: the readout's synapses; dense_macs: real MACs per sample of the
    dense network (a plain number, the same for every sample).
    """

    layers: tuple[Tensor, ...]
    readout: Tensor
    dense_macs: float

    @property
    def total(self) -> Tensor:
        """(batch,) all synaptic operations per sample."""
        return torch.stack([*self.layers, self.readout]).sum(dim=0)

    @property
    def hidden(self) -> Tensor:
        """(batch,) operations of the layers fed by spikes (every layer but the first, no readout)."""
        if len(self.layers) < 2:
            return torch.zeros_like(self.readout)
        return torch.stack(self.layers[1:]).sum(dim=0)

    def relative(self, target: float = 0.0) -> Tensor:
        """Scalar: (mean over the batch of total − target, floored at 0) / dense_macs, the penalty's measure.

        target: synaptic operations per sample that are free (0: every operation counts).
        """
        return torch.relu(self.total.mean() - target) / self.dense_macs


def uses_imag_weights(layer: S5RFLayer) -> bool:
    """Whether the deployed layer has complex synapses (its discretised weights b̄·B have an imaginary part).

    dirac's b̄ = Δ is real, so a dirac layer without keep_imag has real weights;
    zoh and bilinear b̄ are complex, so their weights always are.
    """
    if layer.discretization != "dirac":
        return True
    return layer.keep_imag and bool(torch.any(layer.input_weight_ri[..., 1] != 0))


def dense_macs(model: S5RFClassifier, time_steps: int) -> int:
    """Real MACs per sample of the dense network over `time_steps` steps (the counters' definition)."""
    total = 0
    for layer in model.layers:
        per_weight = 2 if uses_imag_weights(layer) else 1
        total += (layer.num_neurons * layer.input_dim * per_weight + 4 * layer.num_neurons) * time_steps
    outputs, neurons = model.readout_weight.shape
    return total + (outputs * neurons + outputs) * time_steps


def _events(mask: Tensor) -> Tensor:
    """(batch,) sum of a (batch, T, C) indicator."""
    return mask.flatten(1).sum(dim=1)


def synaptic_ops(model: S5RFClassifier, inputs: Tensor, spikes: list[Tensor]) -> SynapticOps:
    """Synaptic operations per sample of `model` on `inputs` (batch, T, H) with its `spikes` (batch, T, P) per layer.

    `spikes` are the tensors of `model.forward_with_spikes(inputs)`, so the
    gradient reaches the parameters through the surrogate.
    """
    active = (inputs != 0).to(spikes[0].dtype if spikes else torch.get_default_dtype())
    per_layer = []
    for index, (layer, layer_spikes) in enumerate(zip(model.layers, spikes)):
        events = _events(active)
        fan_out = layer.num_neurons * (2 if uses_imag_weights(layer) else 1)
        skip = index in model.skip_layers
        per_layer.append(events * (fan_out + (1 if skip else 0)))
        active = layer_spikes + active - layer_spikes * active if skip else layer_spikes
    outputs = model.readout_weight.shape[0]
    return SynapticOps(tuple(per_layer), _events(active) * outputs, float(dense_macs(model, inputs.shape[1])))
