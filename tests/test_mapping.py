"""Core mapping of integer networks: placement within the per-core limits, and refusals."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from s5rf_neuro.errors import TargetError
from s5rf_neuro.hardware.mapping import map_network
from s5rf_neuro.hardware.network import FloatLayer, FloatNetwork, FloatReadout, IntLayer, IntNetwork, IntReadout
from s5rf_neuro.hardware.target import LOIHI2, TargetSpec


def int_network(sizes: list[int], outputs: int, skip: list[bool], target: TargetSpec = LOIHI2,
                imag: bool = True) -> IntNetwork:
    """Layers of widths sizes[1:] on sizes[0] inputs, small non-zero weights."""
    rng = np.random.default_rng(0)
    layers = []
    for h, p, s in zip(sizes[:-1], sizes[1:], skip):
        layers.append(
            IntLayer(
                decay_re=np.full(p, 3900, dtype=np.int64), decay_im=np.full(p, 300, dtype=np.int64),
                weight_re=rng.integers(1, 5, (p, h)),
                weight_im=rng.integers(1, 5, (p, h)) if imag else np.zeros((p, h), dtype=np.int64),
                weight_exp_re=0, weight_exp_im=-1, threshold=np.full(p, 100, dtype=np.int64),
                state_scale=64.0, skip=s,
            )
        )
    readout = IntReadout(weight=rng.integers(-3, 4, (outputs, sizes[-1])), weight_exp=0,
                         decay=np.full(outputs, 3000, dtype=np.int64), state_scale=1.0)
    return IntNetwork(layers=tuple(layers), readout=readout, target=target)


def test_digits_sized_network_fits_one_core_per_layer():
    report = map_network(int_network([32, 64, 64], 10, [False, False]))
    assert [layer.layer for layer in report.layers] == ["layer 0", "layer 1", "readout"]
    assert [layer.fan_in for layer in report.layers] == [64, 128, 64]
    assert [layer.synapses for layer in report.layers] == [64 * 64, 64 * 128, 10 * 64]
    assert report.cores_used == 3 and report.chips_needed == 1
    assert [(core.core, core.neurons, core.synapses) for core in report.cores] == [
        (0, 64, 4096), (1, 64, 8192), (2, 10, 640)
    ]
    assert report.total_neurons == 138 and report.total_synapses == 4096 + 8192 + 640
    assert report.to_dict()["cores_used"] == 3


def test_skip_layer_counts_identity_synapse_and_imaginary_connection_only_when_used():
    report = map_network(int_network([16, 16, 16, 16], 4, [False, True, False], imag=False))
    assert [layer.fan_in for layer in report.layers] == [16, 17, 16, 16]
    assert report.notes


def test_limits_spread_layers_over_cores_and_chips():
    small = dataclasses.replace(LOIHI2, name="small", neurons_per_core=16, synapses_per_core=1000, cores_per_chip=4)
    report = map_network(int_network([20, 40, 50], 3, [False, False], target=small))
    layer0, layer1, readout = report.layers
    assert layer0.fan_in == 40 and layer0.neurons_per_core == 16 and layer0.cores == 3   # 16 + 16 + 8 neurons
    assert layer1.fan_in == 80 and layer1.neurons_per_core == 12 and layer1.cores == 5   # synapse-bound: 1000 // 80
    assert readout.cores == 1
    assert report.cores_used == 9 and report.chips_needed == 3
    assert all(core.neurons <= 16 and core.synapses <= 1000 for core in report.cores)
    assert sum(core.neurons for core in report.cores if core.layer == "layer 1") == 50
    assert [core.chip for core in report.cores] == [0, 0, 0, 0, 1, 1, 1, 1, 2]


def test_fan_in_beyond_a_core_is_refused_naming_layer_and_limit():
    tight = dataclasses.replace(LOIHI2, name="tight", synapses_per_core=100)
    with pytest.raises(TargetError, match=r"layer 1: one neuron has 120 input synapses .* at most 100 \(synapses_per_core"):
        map_network(int_network([40, 60, 8], 2, [False, False], target=tight))


def test_formats_beyond_the_target_cannot_reach_the_mapper():
    network = int_network([8, 8, 8], 2, [False, False])
    layer = dataclasses.replace(network.layers[1], weight_exp_im=9)
    with pytest.raises(TargetError, match=r"layer 1: imaginary weight exponent 9 outside the limit \[-8, 7\]"):
        dataclasses.replace(network, layers=(network.layers[0], layer))
    layer = dataclasses.replace(network.layers[0], weight_re=network.layers[0].weight_re + 200)
    with pytest.raises(TargetError, match="layer 0: real weight mantissas span"):
        dataclasses.replace(network, layers=(layer, network.layers[1]))
    readout = dataclasses.replace(network.readout, weight_exp=-20)
    with pytest.raises(TargetError, match="readout: weight exponent -20"):
        dataclasses.replace(network, readout=readout)


def test_float_network_is_refused():
    layer = FloatLayer(decay=np.full(2, 0.9 + 0.1j), weight=np.ones((2, 3), dtype=complex), threshold=np.ones(2))
    network = FloatNetwork(layers=(layer,), readout=FloatReadout(weight=np.ones((2, 2)), decay=np.full(2, 0.8)))
    with pytest.raises(TargetError, match="quantised"):
        map_network(network)
