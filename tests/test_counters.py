"""Operation counters: hand-computed counts on tiny networks, float/int agreement, golden = Lava."""

from __future__ import annotations

import numpy as np
import pytest

from s5rf_neuro.errors import S5RFError
from s5rf_neuro.hardware.counters import count_operations, dense_macs
from s5rf_neuro.hardware.network import FloatLayer, FloatNetwork, FloatReadout, IntLayer, IntNetwork, IntReadout
from s5rf_neuro.hardware.target import LOIHI2


def tiny_float_network() -> FloatNetwork:
    """2 inputs → 3 neurons (complex) → 3 neurons (real weights, skip) → 2 neurons (complex) → 2 outputs."""
    rng = np.random.default_rng(0)

    def layer(p: int, h: int, complex_weights: bool, skip: bool = False) -> FloatLayer:
        weight = rng.normal(size=(p, h)) + (1j * rng.normal(size=(p, h)) if complex_weights else 0)
        return FloatLayer(
            decay=np.full(p, 0.9 * np.exp(0.3j)),
            weight=weight.astype(np.complex128),
            threshold=np.ones(p),
            skip=skip,
        )

    return FloatNetwork(
        layers=(layer(3, 2, True), layer(3, 3, False, skip=True), layer(2, 3, True)),
        readout=FloatReadout(weight=rng.normal(size=(2, 2)), decay=np.full(2, 0.8)),
    )


def int_twin(network: FloatNetwork) -> IntNetwork:
    """An integer network of the same shape and the same real/complex structure."""
    layers = tuple(
        IntLayer(
            decay_re=np.full(layer.num_neurons, 3000, dtype=np.int64),
            decay_im=np.full(layer.num_neurons, 900, dtype=np.int64),
            weight_re=np.round(layer.weight.real * 50).astype(np.int64),
            weight_im=np.round(layer.weight.imag * 50).astype(np.int64),
            weight_exp_re=0,
            weight_exp_im=0,
            threshold=np.full(layer.num_neurons, 100, dtype=np.int64),
            state_scale=100.0,
            skip=layer.skip,
        )
        for layer in network.layers
    )
    readout = IntReadout(
        weight=np.ones((2, 2), dtype=np.int64), weight_exp=0, decay=np.full(2, 3277, dtype=np.int64), state_scale=1.0
    )
    return IntNetwork(layers=layers, readout=readout, target=LOIHI2)


# Sample 0 is worked through by hand below; sample 1 is silent.
INPUTS = np.zeros((2, 3, 2), dtype=np.uint8)
INPUTS[0] = [[1, 0], [2, 1], [0, 0]]
SPIKES = [np.zeros((2, 3, 3), bool), np.zeros((2, 3, 3), bool), np.zeros((2, 3, 2), bool)]
SPIKES[0][0] = [[1, 0, 0], [0, 0, 0], [1, 1, 0]]
SPIKES[1][0] = [[1, 0, 0], [0, 1, 0], [0, 0, 0]]
SPIKES[2][0] = [[0, 1], [1, 1], [0, 0]]


def test_hand_computed_counts() -> None:
    counts = count_operations(tiny_float_network(), SPIKES, INPUTS)
    names = [layer.name for layer in counts.layers]
    assert names == ["layer 0", "layer 1", "layer 2", "readout"]
    layer0, layer1, layer2, readout = counts.layers
    # Layer 0: 3 input events (the count of 2 is one message) × fan-out 3 × 2 (complex).
    assert layer0.input_events.tolist() == [3, 0]
    assert layer0.synaptic_ops.tolist() == [18, 0]
    assert layer0.spikes.tolist() == [3, 0]
    # Layer 1: its 3 input spikes × fan-out 3 (real weights) + 3 identity skip synapses.
    assert layer1.input_events.tolist() == [3, 0]
    assert layer1.skip_ops.tolist() == [3, 0]
    assert layer1.synaptic_ops.tolist() == [12, 0]
    assert layer1.spikes.tolist() == [2, 0]
    # Layer 2 receives spikes + skipped input: [2,0,0], [0,1,0], [1,1,0] = 4 graded events (2 counts once).
    assert layer2.input_events.tolist() == [4, 0]
    assert layer2.synaptic_ops.tolist() == [16, 0]
    assert layer2.spikes.tolist() == [3, 0]
    # Readout: 3 spikes of the last layer × 2 outputs, real weights; it never spikes.
    assert readout.synaptic_ops.tolist() == [6, 0]
    assert readout.spikes.tolist() == [0, 0]
    assert [layer.neuron_updates for layer in counts.layers] == [9, 9, 6, 6]
    assert counts.total("spikes").tolist() == [8, 0]
    assert counts.total("synaptic_ops").tolist() == [52, 0]
    assert counts.total("neuron_updates").tolist() == [30, 30]
    np.testing.assert_allclose(layer0.sparsity, [1 - 3 / 9, 1.0])
    np.testing.assert_allclose(layer2.firing_rate, [3 / 6, 0.0])
    assert counts.mean_per_sample()["synaptic_ops"] == 26.0


def test_dense_macs_by_hand() -> None:
    # Per step: P·H·(2 if complex) + 4·P for the complex recurrence; readout O·P + O.
    assert dense_macs(tiny_float_network(), 3) == [3 * (12 + 12), 3 * (9 + 12), 3 * (12 + 8), 3 * (4 + 2)]
    counts = count_operations(tiny_float_network(), SPIKES, INPUTS)
    assert counts.total("dense_macs").tolist() == [213, 213]


def test_int_network_counts_equal_float_network_counts() -> None:
    float_net = tiny_float_network()
    float_counts = count_operations(float_net, SPIKES, INPUTS).to_dict()
    int_counts = count_operations(int_twin(float_net), SPIKES, INPUTS).to_dict()
    assert float_counts == int_counts


def test_all_zero_imaginary_weights_count_once() -> None:
    float_net = tiny_float_network()
    real_first = FloatLayer(
        decay=float_net.layers[0].decay, weight=float_net.layers[0].weight.real + 0j, threshold=np.ones(3)
    )
    network = FloatNetwork(layers=(real_first,) + float_net.layers[1:], readout=float_net.readout)
    assert count_operations(network, SPIKES, INPUTS).layers[0].synaptic_ops.tolist() == [9, 0]


def test_readout_of_a_skip_last_layer_counts_its_graded_output() -> None:
    float_net = tiny_float_network()
    network = FloatNetwork(layers=float_net.layers[:2], readout=FloatReadout(np.ones((2, 3)), np.full(2, 0.8)))
    counts = count_operations(network, SPIKES[:2], INPUTS)
    # Layer 1 output (spikes + its input) has 4 events in sample 0, each sent to 2 outputs.
    assert counts.layers[-1].input_events.tolist() == [4, 0]
    assert counts.layers[-1].synaptic_ops.tolist() == [8, 0]


def test_shape_mismatch_is_a_user_error() -> None:
    network = tiny_float_network()
    with pytest.raises(S5RFError, match="layer 1"):
        count_operations(network, [SPIKES[0], SPIKES[2], SPIKES[2]], INPUTS)
    with pytest.raises(S5RFError, match=r"inputs must have shape \(samples, time steps, 2\)"):
        count_operations(network, SPIKES, INPUTS[:, :, :1])
    with pytest.raises(S5RFError, match="2 layer"):
        count_operations(network, SPIKES[:2], INPUTS)


def random_int_network(seed: int) -> IntNetwork:
    """4 layers (skips on the middle two, as the model makes them), complex weights, readout of 3."""
    rng = np.random.default_rng(seed)

    def layer(p: int, h: int, skip: bool) -> IntLayer:
        return IntLayer(
            decay_re=np.full(p, 3500, dtype=np.int64),
            decay_im=rng.integers(200, 1500, p),
            weight_re=rng.integers(-60, 60, (p, h)),
            weight_im=rng.integers(-60, 60, (p, h)),
            weight_exp_re=1,
            weight_exp_im=1,
            threshold=rng.integers(50, 300, p),
            state_scale=100.0,
            skip=skip,
        )

    layers = (layer(6, 4, False), layer(6, 6, True), layer(6, 6, True), layer(5, 6, False))
    readout = IntReadout(rng.integers(-10, 10, (3, 5)), 0, np.full(3, 3000, dtype=np.int64), 1.0)
    return IntNetwork(layers=layers, readout=readout, target=LOIHI2)


def test_golden_counts_equal_lava_counts() -> None:
    from s5rf_neuro.hardware.golden import simulate
    from s5rf_neuro.hardware.lava_run import run_lava

    network = random_int_network(0)
    inputs = (np.random.default_rng(1).random((5, 12, 4)) < 0.3).astype(np.uint8)
    golden = count_operations(network, simulate(network, inputs).spikes, inputs)
    lava = count_operations(network, run_lava(network, inputs).spikes, inputs)
    assert golden.total("spikes").sum() > 0 and golden.layers[2].skip_ops.sum() > 0
    assert lava.to_dict() == golden.to_dict()
    for ours, theirs in zip(golden.layers, lava.layers):
        np.testing.assert_array_equal(ours.synaptic_ops, theirs.synaptic_ops)


def test_float_model_spikes_count_like_the_discrete_network() -> None:
    import torch

    from s5rf_neuro.config import S5RFConfig
    from s5rf_neuro.export.discretise import discretise
    from s5rf_neuro.hardware.golden import simulate
    from s5rf_neuro.model import S5RFClassifier

    torch.manual_seed(0)
    model = S5RFClassifier(S5RFConfig(input_dim=5, output_dim=3, num_neurons=8, num_layers=3, eta_min=1.0, eta_max=2.0)).double().eval()
    inputs = np.random.default_rng(2).integers(0, 4, (4, 20, 5)).astype(np.uint8)  # graded input counts
    network = discretise(model)
    model_spikes = [s.numpy() for s in model.spikes(torch.from_numpy(inputs.astype(np.float64)))]
    from_model = count_operations(network, model_spikes, inputs)
    from_golden = count_operations(network, simulate(network, inputs).spikes, inputs)
    assert from_model.total("spikes").sum() > 0
    assert from_model.to_dict() == from_golden.to_dict()
    assert network.layers[1].skip and from_model.layers[1].skip_ops.sum() == from_model.layers[1].input_events.sum()


def test_neurobench_counts_graded_inputs_as_macs() -> None:
    counts = count_operations(tiny_float_network(), SPIKES, INPUTS)
    layer0, layer1, layer2, readout = counts.layers
    # The data holds a count of 2 and layer 2 gets spikes + skipped input (values up to 2): MACs there.
    assert [layer.binary_inputs for layer in counts.layers] == [False, True, False, True]
    # Layer 0, sample 0: input 0 fires at t = 0 and 1, input 1 at t = 1; every weight is non-zero,
    # 3 real + 3 imaginary per input: 3 events × 6 = 18 effective operations.
    assert layer0.effective_synops.tolist() == [18, 0]
    metrics = counts.neurobench()
    recurrence = 4 * sum(float(np.mean(layer.active_updates)) for layer in counts.layers[:-1])
    assert metrics.effective_macs == pytest.approx(
        float(np.mean(layer0.effective_synops)) + float(np.mean(layer2.effective_synops)) + recurrence)
    assert metrics.effective_acs == pytest.approx(
        float(np.mean(layer1.effective_synops)) + float(np.mean(readout.effective_synops)))
    spikes = float(np.mean(counts.total("spikes")))
    assert metrics.activation_sparsity == pytest.approx(1 - spikes / (3 * (3 + 3 + 2)))
