"""The differentiable synaptic-operation count equals the hardware counters' count, and the penalty works."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.export.discretise import discretise
from s5rf_neuro.hardware.counters import count_operations, dense_macs as counter_dense_macs
from s5rf_neuro.model import S5RFClassifier
from s5rf_neuro.synops import dense_macs, synaptic_ops


def tiny_model(keep_imag: bool = True, discretization: str = "dirac", layers: int = 4) -> S5RFClassifier:
    """4 layers of 6 neurons (middle two with skips) on 5 inputs, 3 classes."""
    torch.manual_seed(0)
    config = S5RFConfig(input_dim=5, output_dim=3, num_neurons=6, num_blocks=2, num_layers=layers,
                        keep_imag=keep_imag, discretization=discretization, eta_min=0.3, eta_max=1.0)
    return S5RFClassifier(config)


def random_activity(model: S5RFClassifier, samples: int = 7, steps: int = 9, seed: int = 1):
    """Graded inputs (counts 0..3, many zeros) and random binary spikes per layer."""
    rng = np.random.default_rng(seed)
    inputs = rng.integers(0, 4, size=(samples, steps, model.config.input_dim)) * (rng.random((samples, steps, 5)) < 0.4)
    spikes = [rng.random((samples, steps, layer.num_neurons)) < 0.3 for layer in model.layers]
    spikes[0][0] = False  # a silent sample
    return inputs.astype(np.uint8), spikes


@pytest.mark.parametrize("keep_imag, discretization, layers",
                         [(True, "dirac", 4), (False, "dirac", 4), (False, "bilinear", 3), (True, "dirac", 1)])
def test_differentiable_count_equals_the_counters(keep_imag: bool, discretization: str, layers: int) -> None:
    model = tiny_model(keep_imag, discretization, layers)
    inputs, spikes = random_activity(model)
    network = discretise(model)
    counted = count_operations(network, spikes, inputs)
    ops = synaptic_ops(model, torch.from_numpy(inputs).float(), [torch.from_numpy(s).float() for s in spikes])
    for index, layer in enumerate(ops.layers):
        assert layer.tolist() == counted.layers[index].synaptic_ops.tolist(), f"layer {index}"
    assert ops.readout.tolist() == counted.layers[-1].synaptic_ops.tolist()
    assert ops.total.tolist() == counted.total("synaptic_ops").tolist()
    assert ops.dense_macs == sum(counter_dense_macs(network, inputs.shape[1]))
    if layers > 2:  # the skip layers' identity synapses are part of it
        assert counted.layers[1].skip_ops.sum() > 0


def test_count_of_the_models_own_spikes_equals_the_counters() -> None:
    model = tiny_model()
    with torch.no_grad():
        for layer in model.layers:  # make the layers spike
            layer.input_weight_ri.mul_(8.0)
    inputs, _ = random_activity(model)
    x = torch.from_numpy(inputs).float()
    model.eval()
    _, spikes = model.forward_with_spikes(x)
    assert all(float(s.sum()) > 0 for s in spikes)
    counted = count_operations(discretise(model), [s.detach().numpy() > 0 for s in spikes], inputs)
    ops = synaptic_ops(model, x, spikes)
    assert ops.total.tolist() == counted.total("synaptic_ops").tolist()


def test_gradient_flows_to_the_weights_through_the_surrogate() -> None:
    model = tiny_model()
    inputs, _ = random_activity(model)
    _, spikes = model.forward_with_spikes(torch.from_numpy(inputs).float())
    synaptic_ops(model, torch.from_numpy(inputs).float(), spikes).relative().backward()
    assert float(model.layers[0].input_weight_ri.grad.abs().sum()) > 0


def test_penalty_lowers_the_operations_of_a_tiny_model() -> None:
    model = tiny_model(layers=2)
    inputs, _ = random_activity(model, samples=16, steps=12)
    x = torch.from_numpy(inputs).float()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)

    def measure() -> float:
        """Operations driven by spikes (the first layer's are fixed by the data)."""
        with torch.no_grad():
            ops = synaptic_ops(model, x, model.forward_with_spikes(x)[1])
            return float((ops.total - ops.layers[0]).mean())

    before = measure()
    for _ in range(10):
        _, spikes = model.forward_with_spikes(x)
        loss = synaptic_ops(model, x, spikes).relative()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = measure()
    assert before > 0 and after < 0.5 * before, (before, after)


def test_dense_macs_by_hand() -> None:
    model = tiny_model(layers=2)
    # layer 0: (6·5·2 + 4·6)·T, layer 1: (6·6·2 + 24)·T, readout: (3·6 + 3)·T, T = 10
    assert dense_macs(model, 10) == (84 + 96 + 21) * 10


def test_operations_under_the_target_are_not_penalised() -> None:
    model = tiny_model(layers=2)
    inputs, _ = random_activity(model, samples=16, steps=12)
    x = torch.from_numpy(inputs).float()
    _, spikes = model.forward_with_spikes(x)
    ops = synaptic_ops(model, x, spikes)
    mean = float(ops.total.mean())
    assert float(ops.relative()) == pytest.approx(mean / ops.dense_macs)
    assert float(ops.relative(mean - 10)) == pytest.approx(10 / ops.dense_macs)
    under = ops.relative(mean + 1)
    assert float(under) == 0.0
    under.backward()  # no push below the budget: zero gradient
    assert float(model.layers[0].input_weight_ri.grad.abs().sum()) == 0.0
