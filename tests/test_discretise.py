"""Discretisation: the float64 discrete network reproduces model.double()'s spikes exactly."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from s5rf_neuro.checkpoint import load_checkpoint
from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.export.discretise import discretise
from s5rf_neuro.hardware.golden import simulate
from s5rf_neuro.hardware.network import FloatNetwork, FloatReadout
from s5rf_neuro.model import S5RFClassifier

SAMPLES = 48


def _model(discretization: str, keep_imag: bool, apply_skip: bool, input_dim: int) -> S5RFClassifier:
    """A 3-layer model whose input weights are scaled up so that an untrained net spikes a lot."""
    torch.manual_seed(0)
    config = S5RFConfig(
        input_dim=input_dim, output_dim=10, num_layers=3, num_neurons=16, discretization=discretization,
        keep_imag=keep_imag, apply_skip=apply_skip, eta_min=0.01, eta_max=0.5,
    )
    model = S5RFClassifier(config).eval()
    with torch.no_grad():
        for layer in model.layers:
            layer.input_weight_ri.mul_(30.0)
        if discretization == "zoh":
            eye = torch.eye(16, dtype=torch.complex64)
            model.layers[0].mixing_ri.copy_(torch.view_as_real(eye))
    return model


def _single_layer(network: FloatNetwork, index: int) -> FloatNetwork:
    layer = network.layers[index]
    readout = FloatReadout(weight=np.zeros((1, layer.num_neurons)), decay=np.zeros(1))
    return FloatNetwork(layers=(layer,), readout=readout)


@pytest.mark.parametrize(
    "discretization, keep_imag, apply_skip",
    list(itertools.product(["dirac", "zoh", "bilinear"], [True, False], [True, False])),
)
def test_discrete_network_reproduces_the_model_layer_by_layer(
    digits_test_set, discretization: str, keep_imag: bool, apply_skip: bool
) -> None:
    inputs = digits_test_set.inputs[:SAMPLES]
    model = _model(discretization, keep_imag, apply_skip, inputs.shape[2])
    network = discretise(model)
    double = model.double()
    hidden = torch.from_numpy(inputs).double()
    total_spikes = 0
    with torch.no_grad():
        for index, layer in enumerate(double.layers):
            expected = layer(hidden).numpy().astype(bool)
            got = simulate(_single_layer(network, index), hidden.numpy().astype(np.int64)).spikes[0]
            np.testing.assert_array_equal(got, expected, err_msg=f"layer {index}")
            total_spikes += int(expected.sum())
            out = torch.from_numpy(expected).double()
            hidden = out + hidden if index in double.skip_layers else out
        log_probs, _ = double.forward_with_spikes(torch.from_numpy(inputs).double())
    assert total_spikes > 0.05 * SAMPLES * inputs.shape[1] * 16 * 3
    result = simulate(network, inputs)
    reference = torch.log_softmax(torch.from_numpy(result.scores), dim=-1).numpy()
    np.testing.assert_allclose(reference, log_probs.numpy(), rtol=0, atol=1e-9)
    assert [layer.skip for layer in network.layers] == [i in model.skip_layers for i in range(3)]


def test_layer_parameters_follow_the_design(digits_test_set) -> None:
    model = _model("bilinear", False, True, digits_test_set.input_dim).double()
    network = discretise(model, {"note": "x"})
    with torch.no_grad():
        for layer, discrete in zip(model.layers, network.layers):
            lam_bar, b_bar = (t.numpy() for t in layer.discretise())
            weight = layer.input_weight.numpy().real
            np.testing.assert_allclose(discrete.decay, lam_bar, rtol=1e-15)
            np.testing.assert_allclose(discrete.threshold, 1 / np.abs(b_bar), rtol=1e-15)
            np.testing.assert_allclose(discrete.weight, (b_bar / np.abs(b_bar))[:, None] * weight, rtol=1e-14)
        np.testing.assert_allclose(network.readout.weight, model.readout_weight.numpy())
        np.testing.assert_allclose(network.readout.decay, model.readout_decay.numpy())
    assert network.metadata["note"] == "x" and network.metadata["config"]["discretization"] == "bilinear"
    dirac = discretise(_model("dirac", True, False, 8))
    np.testing.assert_array_equal(dirac.layers[0].weight.imag != 0, True)


def test_trained_model_spikes_are_reproduced_on_the_test_set(digits_checkpoint, digits_test_set) -> None:
    checkpoint = load_checkpoint(digits_checkpoint)
    model = checkpoint.build_model()
    network = discretise(model, {"dataset": checkpoint.dataset.to_dict()})
    inputs = digits_test_set.inputs
    with torch.no_grad():
        log_probs, spikes = model.double().forward_with_spikes(torch.from_numpy(inputs).double())
    result = simulate(network, inputs)
    for index, (expected, got) in enumerate(zip(spikes, result.spikes)):
        np.testing.assert_array_equal(got, expected.numpy().astype(bool), err_msg=f"layer {index}")
    np.testing.assert_array_equal(result.predictions, log_probs.argmax(dim=1).numpy())
    assert network.metadata["dataset"]["name"] == checkpoint.dataset.name
