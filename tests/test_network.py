"""The network types check themselves on construction (shapes, dtypes, ranges, the target's formats)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from nir_test_networks import random_float_network, random_int_network

from s5rf_neuro.errors import NetworkError, TargetError
from s5rf_neuro.hardware.network import FloatLayer, FloatNetwork, FloatReadout, networks_identical
from s5rf_neuro.hardware.target import LOIHI2, TargetSpec


def float_layer(**changes) -> FloatLayer:
    fields = dict(decay=np.full(3, 0.5 + 0.5j), weight=np.ones((3, 2), dtype=complex), threshold=np.ones(3))
    fields.update(changes)
    return FloatLayer(**fields)


def test_arrays_take_their_canonical_dtypes():
    layer = FloatLayer(decay=np.full(3, 0.5, dtype=np.float32), weight=np.ones((3, 2), dtype=np.int8), threshold=[1, 2, 3])
    assert layer.decay.dtype == np.complex128 and layer.weight.dtype == np.complex128
    assert layer.threshold.dtype == np.float64
    network = random_int_network(np.random.default_rng(0), 2)
    narrow = dataclasses.replace(network.layers[0], weight_re=network.layers[0].weight_re.astype(np.int8))
    assert narrow.weight_re.dtype == np.int64


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(threshold=np.ones(4)), "threshold has shape .* P = 3"),
        (dict(weight=np.ones(3, dtype=complex)), r"weight has shape \(3,\), expected \(P, H\)"),
        (dict(decay=np.full(3, 1.0 + 0j)), "≥ 1"),
        (dict(threshold=np.array([1.0, np.nan, 1.0])), "threshold holds values that are not finite"),
        (dict(weight=np.full((3, 2), np.inf + 0j)), "weight holds values that are not finite"),
        (dict(skip=True), "skip layer needs as many inputs as neurons"),
    ],
)
def test_impossible_float_layers_are_refused(changes, message):
    with pytest.raises(NetworkError, match=message):
        float_layer(**changes)


def test_integer_layers_need_a_positive_state_scale():
    layer = random_int_network(np.random.default_rng(2), 1).layers[0]
    with pytest.raises(NetworkError, match="state_scale must be positive"):
        dataclasses.replace(layer, state_scale=0.0)


def test_wrong_kinds_are_programming_errors():
    with pytest.raises(TypeError, match="threshold"):
        float_layer(threshold=np.array(["a", "b", "c"]))
    network = random_int_network(np.random.default_rng(0), 1)
    with pytest.raises(TypeError, match="weight_re"):
        dataclasses.replace(network.layers[0], weight_re=network.layers[0].weight_re * 0.5)
    with pytest.raises(TypeError, match="weight_exp_re"):
        dataclasses.replace(network.layers[0], weight_exp_re=1.5)
    with pytest.raises(TypeError, match="FloatLayer"):
        FloatNetwork(layers=(network.layers[0],), readout=FloatReadout(np.ones((2, 10)), np.full(2, 0.5)))


def test_layers_must_chain_into_the_readout():
    network = random_float_network(np.random.default_rng(1), 2, inputs=12, neurons=10)
    with pytest.raises(NetworkError, match="layer 1 has 12 inputs but layer 0 has 10 neurons"):
        FloatNetwork(layers=network.layers[::-1], readout=network.readout)
    with pytest.raises(NetworkError, match="readout"):
        FloatNetwork(layers=network.layers[:1], readout=FloatReadout(np.ones((2, 7)), np.full(2, 0.5)))
    with pytest.raises(NetworkError, match="no layers"):
        FloatNetwork(layers=(), readout=network.readout)


@pytest.mark.parametrize(
    "where, changes, message",
    [
        ("layer", dict(weight_re=lambda l: l.weight_re + 200), "layer 0: real weight mantissas span .* 8-bit range"),
        ("layer", dict(weight_exp_im=lambda l: 9), "layer 0: imaginary weight exponent 9 outside"),
        ("layer", dict(decay_re=lambda l: l.decay_re * 0 + 4096, decay_im=lambda l: l.decay_im * 0), "below 1"),
        ("layer", dict(decay_re=lambda l: l.decay_re * 0 + 2897, decay_im=lambda l: l.decay_im * 0 + 2897), "below 1"),
        ("layer", dict(threshold=lambda l: -l.threshold), "threshold must lie in"),
        ("readout", dict(weight_exp=lambda r: -20), "readout: weight exponent -20 outside"),
        ("readout", dict(decay=lambda r: r.decay * 0 - 1), "readout: decay must lie in"),
    ],
)
def test_integer_numbers_beyond_the_target_are_refused(where, changes, message):
    network = random_int_network(np.random.default_rng(2), 2, apply_skip=False)
    with pytest.raises(TargetError, match=message):
        if where == "layer":
            layer = network.layers[0]
            layer = dataclasses.replace(layer, **{key: edit(layer) for key, edit in changes.items()})
            dataclasses.replace(network, layers=(layer,) + network.layers[1:])
        else:
            readout = dataclasses.replace(network.readout, **{key: edit(network.readout) for key, edit in changes.items()})
            dataclasses.replace(network, readout=readout)


def test_networks_identical_compares_every_field():
    network = random_int_network(np.random.default_rng(3), 2)
    same = dataclasses.replace(network, layers=tuple(dataclasses.replace(layer) for layer in network.layers))
    assert networks_identical(network, same)
    moved = dataclasses.replace(network.layers[1], state_scale=network.layers[1].state_scale * 2)
    assert not networks_identical(network, dataclasses.replace(network, layers=(network.layers[0], moved)))
    assert not networks_identical(network, dataclasses.replace(network, metadata={"other": 1}))


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(state_bits=200), "state_bits must be an integer in 2..32, got 200"),
        (dict(state_bits=0), "state_bits"),
        (dict(decay_bits=0), "decay_bits"),
        (dict(decay_bits=70), "decay_bits"),
        (dict(decay_rounding="banana"), "decay_rounding must be one of floor, nearest"),
        (dict(cores_per_chip=0), "cores_per_chip"),
        (dict(weight_bits=9), "weight_bits must be an integer in 2..8"),
        (dict(weight_exp_min=5, weight_exp_max=2), "exceeds weight_exp_max"),
        (dict(state_bits=32, decay_bits=20), "state_bits \\+ decay_bits = 52 exceeds 51"),
    ],
)
def test_target_specs_that_cannot_execute_are_refused(changes, message):
    with pytest.raises(TargetError, match=message):
        dataclasses.replace(LOIHI2, **changes)
    with pytest.raises(TargetError, match=message):
        TargetSpec.from_dict({**LOIHI2.to_dict(), **changes})
