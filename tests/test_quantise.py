"""Quantisation: every value fits its bit width, the state never saturates within the bound,
bad networks are refused with numbers, and the integer network tracks the float one."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s5rf_neuro.checkpoint import load_checkpoint
from s5rf_neuro.errors import TargetError
from s5rf_neuro.export.discretise import discretise
from s5rf_neuro.export.quantise import quantise
from s5rf_neuro.hardware.golden import simulate
from s5rf_neuro.hardware.network import FloatLayer, FloatNetwork, FloatReadout, IntNetwork
from s5rf_neuro.hardware.target import FLOAT, LOIHI2, TargetSpec
from s5rf_neuro.qat import QATFormat, quantised_model


def _network(rng: np.random.Generator, sizes: list[int], skips: list[bool], outputs: int = 3,
             weight_scale: float = 4.0, decay_radius: tuple[float, float] = (0.5, 0.9999)) -> FloatNetwork:
    layers = []
    for h, p, skip in zip(sizes[:-1], sizes[1:], skips):
        radius = rng.uniform(*decay_radius, p)
        decay = radius * np.exp(1j * rng.uniform(-np.pi, np.pi, p))
        weight = (rng.normal(size=(p, h)) + 1j * rng.normal(size=(p, h))) * weight_scale / np.sqrt(h)
        weight[rng.random((p, h)) < 0.2] = 0.0
        threshold = np.exp(rng.uniform(np.log(0.5), np.log(50.0), p))
        layers.append(FloatLayer(decay=decay, weight=weight, threshold=threshold, skip=skip))
    readout = FloatReadout(weight=rng.normal(size=(outputs, sizes[-1])), decay=rng.uniform(0.3, 0.99, outputs))
    return FloatNetwork(layers=tuple(layers), readout=readout)


def _check_fits(network: IntNetwork) -> None:
    target = network.target
    for layer in network.layers:
        for weight in (layer.weight_re, layer.weight_im):
            assert weight.dtype == np.int64
            assert target.weight_min <= weight.min() and weight.max() <= target.weight_max
        for exponent in (layer.weight_exp_re, layer.weight_exp_im):
            assert target.weight_exp_min <= exponent <= target.weight_exp_max
        c, s = layer.decay_re, layer.decay_im
        assert c.dtype == np.int64 and s.dtype == np.int64
        assert np.all(c * c + s * s < target.decay_one**2)
        assert layer.threshold.dtype == np.int64
        assert 0 <= layer.threshold.min() and layer.threshold.max() < min(target.state_max, target.threshold_max)
    readout = network.readout
    assert target.weight_min <= readout.weight.min() and readout.weight.max() <= target.weight_max
    assert target.weight_exp_min <= readout.weight_exp <= target.weight_exp_max
    assert 0 <= readout.decay.min() and readout.decay.max() < target.decay_one


targets = st.builds(
    lambda bits, decay_bits, rounding: dataclasses.replace(
        LOIHI2, weight_bits=bits, decay_bits=decay_bits, decay_rounding=rounding
    ),
    st.integers(2, 8),
    st.integers(6, 12),
    st.sampled_from(["nearest", "floor"]),
)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), targets, st.integers(1, 4), st.booleans())
def test_quantised_values_fit_their_bit_widths_and_never_saturate_within_the_bound(
    seed: int, target: TargetSpec, width: int, skip: bool
) -> None:
    rng = np.random.default_rng(seed)
    network = _network(rng, [3, width, width, width], [False, skip, False])
    steps = 12
    int_network, report = quantise(network, target, time_steps=steps)
    _check_fits(int_network)
    json.dumps(report.to_dict())
    for layer, info in zip(network.layers, report.layers):
        assert info.decay_error_max <= 2.0 ** -target.decay_bits
        assert info.weight_clip_fraction == 0.0
        assert info.state_headroom_bits >= 1.0 - 1e-9
    # the weight bound holds for any binary input of at most `steps` steps: no saturation ever
    worst = np.ones((1, steps, 3), dtype=np.uint8)
    noise = (rng.random((8, steps, 3)) < 0.5).astype(np.uint8)
    assert simulate(int_network, np.concatenate([worst, noise])).saturation == [0, 0, 0, 0]


def test_decay_guard_keeps_every_oscillation_stable() -> None:
    rng = np.random.default_rng(1)
    network = _network(rng, [3, 64], [False])
    edge = np.exp(1j * np.linspace(-np.pi, np.pi, 64)) * (1 - 1e-7)
    network = dataclasses.replace(network, layers=(dataclasses.replace(network.layers[0], decay=edge),))
    int_network, report = quantise(network, LOIHI2)
    layer = int_network.layers[0]
    assert np.all(layer.decay_re**2 + layer.decay_im**2 < LOIHI2.decay_one**2)
    assert report.layers[0].decay_guarded > 0
    assert report.layers[0].decay_magnitude_max < 1.0
    assert report.layers[0].decay_error_max < 2.0 ** -LOIHI2.decay_bits


QUANTISE_WITHOUT_TORCH = """
import sys
import numpy as np
from s5rf_neuro.export.quantise import quantise
from s5rf_neuro.hardware.network import FloatLayer, FloatNetwork, FloatReadout
from s5rf_neuro.hardware.target import LOIHI2

rng = np.random.default_rng(0)
edge = np.exp(1j * np.linspace(-np.pi, np.pi, 16)) * (1 - 1e-7)
layer = FloatLayer(decay=edge, weight=rng.normal(size=(16, 3)) + 1j * rng.normal(size=(16, 3)),
                   threshold=np.full(16, 4.0), skip=False)
network = FloatNetwork(layers=(layer,), readout=FloatReadout(weight=rng.normal(size=(2, 16)), decay=np.array([0.5, 0.9])))
_, report = quantise(network, LOIHI2, (rng.random((4, 10, 3)) < 0.5).astype(np.uint8))
print(report.layers[0].decay_guarded > 0, "torch" in sys.modules)
"""


def test_quantising_a_network_never_loads_torch() -> None:
    """The export path evaluates the grids on its NumPy arrays: no tensor is made, torch is not even imported."""
    out = subprocess.run([sys.executable, "-c", QUANTISE_WITHOUT_TORCH], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.split() == ["True", "False"]


def test_decay_rounding_to_zero_is_a_marked_warning_with_numbers() -> None:
    network = _network(np.random.default_rng(2), [3, 4], [False])
    tiny = np.array([1e-5, 0.5, 0.5j, -0.3])
    network = dataclasses.replace(network, layers=(dataclasses.replace(network.layers[0], decay=tiny),))
    int_network, report = quantise(network, LOIHI2)
    assert report.layers[0].decay_zero == 1
    assert any(w.startswith("WARNING layer 0: 1 neuron(s) have a decay that rounds to 0") and "1e-05" in w for w in report.warnings)


def test_calibration_measures_peaks_and_refuses_saturation() -> None:
    rng = np.random.default_rng(3)
    network = _network(rng, [3, 5, 5], [False, False])
    inputs = (rng.random((16, 20, 3)) < 0.5).astype(np.uint8)
    int_network, report = quantise(network, LOIHI2, inputs)
    assert report.calibration.samples == 16 and report.calibration.saturation == [0, 0, 0]
    assert all(layer.peak_source == "calibration" for layer in report.layers)
    bounded, bound_report = quantise(network, LOIHI2, time_steps=20)
    assert all(a.state_exponent >= b.state_exponent for a, b in zip(report.layers, bound_report.layers))
    low = dataclasses.replace(network, layers=tuple(dataclasses.replace(l, threshold=l.threshold / 100) for l in network.layers))
    with pytest.raises(TargetError, match=r"layer \d: \d+ saturation events on 16 calibration samples \(.* %"):
        quantise(low, dataclasses.replace(LOIHI2, state_bits=12), inputs, headroom_bits=-4)


def test_weights_that_all_round_to_zero_are_refused() -> None:
    network = _network(np.random.default_rng(4), [3, 4], [False])
    huge = dataclasses.replace(network.layers[0], threshold=np.full(4, 1e12))
    with pytest.raises(TargetError, match=r"layer 0 real weights: every weight rounds to 0 at exponent -8"):
        quantise(dataclasses.replace(network, layers=(huge,)), LOIHI2)


def test_graded_spikes_beyond_the_payload_are_refused() -> None:
    network = _network(np.random.default_rng(5), [4, 4, 4, 4], [False, True, False])
    with pytest.raises(TargetError, match=r"layer 1: its output can reach 2, more than the 1-bit spike payload"):
        quantise(network, dataclasses.replace(LOIHI2, spike_payload_bits=1))


def test_float_target_is_not_quantised() -> None:
    with pytest.raises(TargetError, match="not a fixed-point target"):
        quantise(_network(np.random.default_rng(6), [2, 2], [False]), FLOAT)


def test_neuron_gauge_uses_the_full_mantissa_for_every_row() -> None:
    network = _network(np.random.default_rng(7), [16, 8], [False], weight_scale=1.0)
    rows = np.array([1.0, 0.5, 0.1, 0.01, 2.0, 3.0, 0.3, 1e-3])
    layer = dataclasses.replace(network.layers[0], weight=network.layers[0].weight * rows[:, None])
    int_network, _ = quantise(dataclasses.replace(network, layers=(layer,)), LOIHI2)
    quantised = int_network.layers[0]
    row_max = np.maximum(np.abs(quantised.weight_re), np.abs(quantised.weight_im)).max(axis=1)
    assert np.all(row_max >= 64) and row_max.max() == LOIHI2.weight_max
    # the gauge scales weights and thresholds alike: the threshold/weight ratio per neuron is kept
    ratio = quantised.threshold / (np.abs(quantised.weight_re).max(axis=1) * 2.0**quantised.weight_exp_re)
    expected = layer.threshold / np.abs(layer.weight.real).max(axis=1)
    np.testing.assert_allclose(ratio, expected, rtol=0.02)


def test_trained_model_integer_network_tracks_the_float_network(digits_checkpoint, digits_test_set) -> None:
    checkpoint = load_checkpoint(digits_checkpoint)
    model = checkpoint.build_model()
    network = discretise(model, {"dataset": checkpoint.dataset.to_dict()})
    inputs, labels = digits_test_set.inputs, digits_test_set.labels
    int_network, report = quantise(network, LOIHI2)
    _check_fits(int_network)
    assert report.warnings == []
    float_result, int_result = simulate(network, inputs), simulate(int_network, inputs)
    assert int_result.saturation == [0] * 3
    assert np.mean(float_result.predictions == int_result.predictions) > 0.9
    assert abs(np.mean(int_result.predictions == labels) - np.mean(float_result.predictions == labels)) < 0.03
    for f, i in zip(float_result.spikes_per_sample(), int_result.spikes_per_sample()):
        assert abs(i - f) <= 0.05 * f
    # on the QAT grid the float and the integer network agree (only state rounding differs)
    on_grid = discretise(quantised_model(model, QATFormat(LOIHI2.weight_bits, LOIHI2.decay_bits)), {"dataset": checkpoint.dataset.to_dict()})
    grid_int, _ = quantise(on_grid, LOIHI2)
    agreement = np.mean(simulate(on_grid, inputs).predictions == simulate(grid_int, inputs).predictions)
    assert agreement >= 0.99
