"""A foreign NIR tool (nirtorch 2.6) loads and runs the files s5rf-export writes.

nirtorch maps Input/Output/Linear itself; like every tool that runs neurons it
needs its own modules for the neuron primitives. The modules below implement
the stock NIR meaning of LI, Scale and Threshold for one step of length dt
(an LI integrated exactly over the step, with Dirac-impulse inputs). They
know nothing of S5-RF: they are what any NIR user would write.
"""

from __future__ import annotations

import nir
import nirtorch
import numpy as np
import pytest
import torch
from nir_test_networks import random_float_network, random_int_network, random_spikes

from s5rf_neuro.export.nir_io import write_nir
from s5rf_neuro.hardware.golden import simulate

DT = 1.0


class ImpulseLI(torch.nn.Module):
    """NIR LI, τ dv/dt = (v_leak − v) + r·I, over one step dt with the input an impulse at the step."""

    def __init__(self, node: nir.LI) -> None:
        super().__init__()
        self.register_buffer("decay", torch.from_numpy(np.exp(-DT / node.tau)))
        self.register_buffer("gain", torch.from_numpy(node.r / node.tau))
        self.register_buffer("leak", torch.from_numpy(node.v_leak * (1.0 - np.exp(-DT / node.tau))))

    def forward(self, current: torch.Tensor, state: torch.Tensor | None = None):
        previous = torch.zeros_like(current) if state is None else state
        voltage = self.decay * previous + self.leak + self.gain * current
        return voltage, voltage


class Scale(torch.nn.Module):
    def __init__(self, node: nir.Scale) -> None:
        super().__init__()
        self.register_buffer("scale", torch.from_numpy(node.scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class Threshold(torch.nn.Module):
    def __init__(self, node: nir.Threshold) -> None:
        super().__init__()
        self.register_buffer("threshold", torch.from_numpy(node.threshold))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > self.threshold).to(x.dtype)


NODE_MAP = {nir.LI: ImpulseLI, nir.Scale: Scale, nir.Threshold: Threshold}


def run_foreign(path, inputs: np.ndarray) -> np.ndarray:
    """Load `path` with nirtorch and run it step by step: readout states (N, T, O)."""
    module = nirtorch.nir_to_torch(str(path), NODE_MAP, dtype=torch.float64)
    state = None
    outputs = []
    with torch.no_grad():
        for step in range(inputs.shape[1]):
            output, state = module(torch.from_numpy(inputs[:, step].astype(np.float64)), state)
            outputs.append(output.numpy().copy())
    return np.stack(outputs, axis=1)


def test_nirtorch_reproduces_non_rotating_network_exactly(tmp_path):
    rng = np.random.default_rng(11)
    network = random_float_network(rng, 4, inputs=16, neurons=12, outputs=5, rotate=False)
    path = write_nir(network, tmp_path / "model.nir")
    inputs = random_spikes(rng, 8, 30, network.input_dim)
    readout = run_foreign(path, inputs)
    golden = simulate(network, inputs)
    assert readout.shape == (8, 30, network.output_dim)
    assert any(s.any() for s in golden.spikes)
    np.testing.assert_allclose(readout.mean(axis=1), golden.scores, rtol=1e-9, atol=1e-12)
    assert np.array_equal(readout.mean(axis=1).argmax(axis=1), golden.predictions)


def test_nirtorch_runs_rotating_float_and_integer_exports(tmp_path):
    rng = np.random.default_rng(12)
    for name, network in (
        ("float", random_float_network(rng, 3, inputs=16, neurons=12, outputs=5)),
        ("int", random_int_network(rng, 3, inputs=16, neurons=12, outputs=5)),
    ):
        path = write_nir(network, tmp_path / f"{name}.nir")
        readout = run_foreign(path, random_spikes(rng, 4, 20, network.input_dim))
        assert readout.shape == (4, 20, network.output_dim), name
        assert np.all(np.isfinite(readout)) and np.any(readout != 0), name


def test_nirtorch_without_neuron_modules_names_the_missing_primitive(tmp_path):
    rng = np.random.default_rng(13)
    path = write_nir(random_float_network(rng, 2), tmp_path / "model.nir")
    with pytest.raises(ValueError, match="LI|Scale|Threshold"):
        nirtorch.nir_to_torch(str(path), {})
