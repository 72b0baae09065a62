"""The mixing stage of a zoh first layer (V ≠ I) through every room: discretisation, quantisation,
golden simulator, NIR and Lava."""

from __future__ import annotations

import dataclasses

import h5py
import nir
import numpy as np
import pytest
from bit_exact import assert_bit_exact
import torch

from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.errors import FormatError
from s5rf_neuro.export.conversion import layer_summary
from s5rf_neuro.export.discretise import discretise
from s5rf_neuro.export.nir_io import read_nir, write_nir
from s5rf_neuro.export.quantise import quantise
from s5rf_neuro.export.report import destination_cores
from s5rf_neuro.hardware.counters import count_operations
from s5rf_neuro.hardware.energy import estimate_energy
from s5rf_neuro.hardware.golden import simulate
from s5rf_neuro.hardware.inputs import graded_format, network_inputs
from s5rf_neuro.hardware.lava_builder import latencies
from s5rf_neuro.hardware.lava_run import run_lava
from s5rf_neuro.hardware.mapping import map_network
from s5rf_neuro.hardware.network import FloatNetwork, FloatReadout, networks_identical
from s5rf_neuro.hardware.target import LOIHI2
from s5rf_neuro.model import S5RFClassifier

SAMPLES = 24
STEPS = 40


def mixing_model(num_neurons: int, num_blocks: int, input_dim: int = 6, seed: int = 0) -> S5RFClassifier:
    """A random HiPPO-initialised 2-layer model with a zoh first layer, input weights scaled up to spike often."""
    torch.manual_seed(seed)
    config = S5RFConfig(
        input_dim=input_dim, output_dim=4, num_layers=2, num_neurons=num_neurons, num_blocks=num_blocks,
        discretization="zoh", eta_min=0.01, eta_max=0.5,
    )
    model = S5RFClassifier(config).eval()
    with torch.no_grad():
        for layer in model.layers:
            layer.input_weight_ri.mul_(20.0)
    return model


def spike_inputs(input_dim: int = 6, samples: int = SAMPLES, seed: int = 1) -> np.ndarray:
    """Random spike counts 0…2, (samples, STEPS, input_dim) int64."""
    return np.random.default_rng(seed).integers(0, 3, size=(samples, STEPS, input_dim)).astype(np.int64)


def _single_layer(network: FloatNetwork, index: int) -> FloatNetwork:
    layer = network.layers[index]
    readout = FloatReadout(weight=np.zeros((1, layer.num_neurons)), decay=np.zeros(1))
    return FloatNetwork(layers=(layer,), readout=readout)


@pytest.mark.parametrize("num_neurons, num_blocks", [(8, 1), (16, 2), (24, 4), (32, 8)])
def test_float_network_reproduces_the_mixing_model_layer_by_layer(num_neurons: int, num_blocks: int) -> None:
    model = mixing_model(num_neurons, num_blocks)
    mixing = model.layers[0].mixing
    assert mixing is not None and float((mixing - torch.eye(num_neurons)).abs().max()) > 0.1
    network = discretise(model)
    first = network.layers[0]
    assert first.mixing is not None and all(layer.mixing is None for layer in network.layers[1:])
    block = num_neurons // num_blocks
    outside = np.ones((num_neurons, num_neurons), bool)
    for b in range(num_blocks):
        outside[b * block : (b + 1) * block, b * block : (b + 1) * block] = False
    assert not np.any(first.mixing.weight[outside])
    inputs = spike_inputs()
    double = model.double()
    hidden = torch.from_numpy(inputs).double()
    with torch.no_grad():
        for index, layer in enumerate(double.layers):
            expected = layer(hidden).numpy().astype(bool)
            got = simulate(_single_layer(network, index), hidden.numpy().astype(np.int64)).spikes[0]
            np.testing.assert_array_equal(got, expected, err_msg=f"layer {index}")
            assert 0.02 < expected.mean() < 0.98, f"layer {index} spikes too rarely or too often to test"
            hidden = torch.from_numpy(expected).double()
        log_probs, _ = double.forward_with_spikes(torch.from_numpy(inputs).double())
    result = simulate(network, inputs)
    reference = torch.log_softmax(torch.from_numpy(result.scores), dim=-1).numpy()
    np.testing.assert_allclose(reference, log_probs.numpy(), rtol=0, atol=1e-9)
    # the same states compared with Re z > 1 directly (no mixing) spike differently: the stage matters
    b_bar = np.abs(double.layers[0].discretise()[1].detach().numpy())
    unmixed = dataclasses.replace(first, mixing=None, threshold=1.0 / b_bar)
    assert not np.array_equal(simulate(_single_layer(network, 0), inputs).spikes[0],
                              simulate(_single_layer(dataclasses.replace(network, layers=(unmixed,)), 0), inputs).spikes[0])


def test_integer_network_follows_the_float_mixing_network() -> None:
    model = mixing_model(32, 4)
    network = discretise(model)
    inputs = spike_inputs(samples=64)
    integer, report = quantise(network, LOIHI2, inputs)
    stage = integer.layers[0].mixing
    assert stage is not None and integer.layers[1].mixing is None
    mixing_report = report.layers[0].mixing
    assert mixing_report is not None and report.layers[1].mixing is None
    assert mixing_report.neurons == 32 and mixing_report.synapses == stage.num_synapses <= 2 * 32 * 8
    assert mixing_report.payload_bits == LOIHI2.state_payload_bits and mixing_report.weight_clip_fraction == 0.0
    assert max(mixing_report.weight_mantissa_max_re, mixing_report.weight_mantissa_max_im) == LOIHI2.weight_max
    assert mixing_report.weight_error_max < 0.02 * np.abs(network.layers[0].mixing.weight).max()
    float_result, int_result = simulate(network, inputs), simulate(integer, inputs)
    assert report.calibration is not None and sum(report.calibration.saturation) == 0
    for index, (want, got) in enumerate(zip(float_result.spikes, int_result.spikes)):
        assert want.mean() > 0.02
        assert np.mean(want != got) < 0.02, f"layer {index}: integer spikes stray from the float ones"
    assert np.mean(float_result.predictions == int_result.predictions) > 0.9


def test_nir_round_trip_is_bit_exact_with_stock_nodes(tmp_path) -> None:

    network = discretise(mixing_model(16, 2))
    integer, _ = quantise(network, LOIHI2)
    inputs = spike_inputs()
    for name, written in (("float", network), ("int", integer)):
        path = tmp_path / f"{name}.nir"
        write_nir(written, path)
        back = read_nir(path)
        assert networks_identical(written, back), name
        assert back.layers[0].mixing is not None and back.layers[1].mixing is None
        np.testing.assert_array_equal(simulate(back, inputs).spikes[0], simulate(written, inputs).spikes[0])
        graph = nir.read(path)
        layer = graph.nodes["layer_0"]
        assert {type(node).__name__ for node in layer.nodes.values()} <= {"Input", "Output", "Linear", "LI", "Scale", "Threshold"}
        assert ("state_re", "mixing_re") in layer.edges and ("state_im", "mixing_im") in layer.edges
        assert ("mixing_re", "spike") in layer.edges and ("mixing_im", "spike") in layer.edges
        assert ("state_re", "spike") not in layer.edges and ("state_re", "spike") in graph.nodes["layer_1"].edges
        assert layer.nodes["mixing_re"].weight.shape == (16, 16)


def test_lava_fixed_point_equals_golden_every_layer_every_step() -> None:
    network = discretise(mixing_model(16, 2, seed=2))
    inputs = spike_inputs(samples=6)
    integer, _ = quantise(network, LOIHI2, inputs)
    assert latencies(integer) == [2, 3, 4]
    golden = simulate(integer, inputs)
    assert all(0.02 < s.mean() < 0.98 for s in golden.spikes)
    lava = run_lava(integer, inputs)
    assert_bit_exact(lava, golden)
    # the float network runs through the same wiring
    float_lava, float_golden = run_lava(network, inputs), simulate(network, inputs)
    for got, want in zip(float_lava.spikes, float_golden.spikes):
        assert np.mean(got == want) > 0.999
    np.testing.assert_allclose(float_lava.scores, float_golden.scores, rtol=1e-6, atol=1e-6 * np.abs(float_golden.scores).max())


def test_lava_equals_golden_with_mixing_and_graded_inputs() -> None:
    """The sMNIST case: a mixing first layer driven by graded 8-bit payloads, Lava = golden every layer and step."""
    model = mixing_model(16, 4, input_dim=1, seed=3)
    real = np.random.default_rng(4).uniform(0.0, 1.0, (6, STEPS, 1)).astype(np.float32)
    input_format = graded_format(real, "random real inputs")
    network = discretise(model, input_format=input_format)
    payloads = network_inputs(quantise(network, LOIHI2)[0], real, "random real inputs").values
    integer, _ = quantise(network, LOIHI2, payloads)
    assert integer.input_format.graded and len(np.unique(payloads)) > 100
    golden = simulate(integer, payloads)
    assert all(0.02 < s.mean() < 0.98 for s in golden.spikes)
    lava = run_lava(integer, payloads)
    assert_bit_exact(lava, golden)


def test_mapping_counters_energy_and_summary_count_the_mixing_stage() -> None:
    neurons, blocks = 24, 3
    network = discretise(mixing_model(neurons, blocks))
    inputs = spike_inputs()
    integer, report = quantise(network, LOIHI2, inputs)
    stage = integer.layers[0].mixing
    block = neurons // blocks
    in_block = np.kron(np.eye(blocks, dtype=bool), np.ones((block, block), dtype=bool))
    assert not np.any(stage.weight_re[~in_block]) and not np.any(stage.weight_im[~in_block])
    row_synapses = np.count_nonzero(stage.weight_re, axis=1) + np.count_nonzero(stage.weight_im, axis=1)
    assert stage.num_synapses == row_synapses.sum() > neurons * block

    mapping = map_network(integer)
    assert [row.layer for row in mapping.layers] == ["layer 0", "layer 0 mixing", "layer 1", "readout"]
    mixing_row = mapping.layers[1]
    assert (mixing_row.neurons, mixing_row.fan_in) == (neurons, row_synapses.max())
    assert mixing_row.synapses == neurons * row_synapses.max() >= stage.num_synapses
    assert mapping.total_neurons == 3 * neurons + integer.output_dim
    assert destination_cores(mapping, 2) == [mapping.layers[2].cores, mapping.layers[3].cores]
    assert any("graded spikes every step" in note for note in mapping.notes)

    result = simulate(integer, inputs)
    counts = count_operations(integer, result.spikes, inputs)
    first, plain = counts.layers[0], counts.layers[1]
    steps = inputs.shape[1]
    assert (first.mixing_neurons, first.state_messages, first.mixing_ops) == (neurons, 2 * neurons * steps, stage.num_synapses * steps)
    assert plain.mixing_neurons == plain.state_messages == plain.mixing_ops == 0
    events = (inputs != 0).reshape(len(inputs), -1).sum(axis=1)
    np.testing.assert_array_equal(first.synaptic_ops, events * 2 * neurons + stage.num_synapses * steps)
    assert first.neuron_updates == 2 * neurons * steps
    assert np.all(first.mixing_active <= neurons * steps) and np.all(first.mixing_active > 0)
    assert first.dense_macs == (neurons * inputs.shape[2] * 2 + 4 * neurons + stage.num_synapses) * steps
    messages = [row for row in estimate_energy(counts, "sanafe_loihi").rows if row.operation.startswith("spike message")]
    spikes_out = sum(float(np.mean(layer.output_events)) for layer in counts.layers[:-1])
    assert messages[0].operations == pytest.approx(spikes_out + 2 * neurons * steps)

    rows = layer_summary(integer, report)
    assert [row.name for row in rows] == ["layer 0", "layer 0 mixing", "layer 1", "readout"]
    assert (rows[1].inputs, rows[1].neurons, rows[1].synapses) == (neurons, neurons, stage.num_synapses)
    assert rows[1].weight_exponents == [stage.weight_exp_re, stage.weight_exp_im]


@pytest.mark.parametrize(
    "key, edit, message",
    [
        ("weight_re", lambda v: v[:, :-1], r"node 'layer_0': mixing: weight_re has shape \(16, 15\), but P = 16 elsewhere"),
        ("weight_im", lambda v: v.astype(np.int16) * 3 + 200, r"layer 0 mixing: imaginary-state weight mantissas span .* beyond the 8-bit"),
        ("weight_exp_re", lambda v: np.int64(40), r"layer 0 mixing: real-state weight exponent 40 outside"),
        ("state_scale", lambda v: np.float64(-1.0), r"node 'layer_0': mixing: state_scale must be positive"),
    ],
)
def test_impossible_mixing_stage_in_a_nir_file_is_refused_in_one_line(tmp_path, key, edit, message) -> None:

    integer, _ = quantise(discretise(mixing_model(16, 2)), LOIHI2)
    path = write_nir(integer, tmp_path / "edited.nir")
    group = "node/nodes/layer_0/metadata/s5rf_neuro/mixing"
    with h5py.File(path, "r+") as handle:
        value = edit(handle[group][key][()])
        del handle[group][key]
        handle[group].create_dataset(key, data=value)
    with pytest.raises(FormatError, match=message) as err:
        read_nir(path)
    text = str(err.value)
    assert "\n" not in text and str(path) in text and ("layer_0" in text or "layer 0" in text)
