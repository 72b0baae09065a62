"""Lava backend: bit-exact agreement with the golden simulator, float agreement, wiring.

Every test runs real Lava processes (Loihi2SimCfg on the CPU) and compares
them with `hardware.golden.simulate` on the same samples.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from bit_exact import assert_bit_exact
import torch

from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.errors import S5RFError, TargetError
from s5rf_neuro.export.discretise import discretise
from s5rf_neuro.export.conversion import convert
from s5rf_neuro.export.quantise import quantise
from s5rf_neuro.hardware.golden import simulate
from s5rf_neuro.hardware.lava_builder import build_lava
from s5rf_neuro.hardware.lava_procs import models
from s5rf_neuro.hardware.target import DECAY_ROUNDINGS
from s5rf_neuro.hardware.lava_run import run_lava
from s5rf_neuro.hardware.network import FloatNetwork, IntLayer, IntNetwork, IntReadout
from s5rf_neuro.hardware.target import LOIHI2
from s5rf_neuro.model import S5RFClassifier

SAMPLES = 20
ACTIVE_THRESHOLD_SCALE = 0.02
"""Untrained S5-RF layers hardly spike on digits; lowering the thresholds makes every layer active."""


@pytest.fixture(scope="module")
def skip_networks(digits_test_set) -> tuple[FloatNetwork, IntNetwork]:
    """A 4-layer digits model with skip connections on layers 1 and 2: float and quantised (loihi2)."""
    from s5rf_neuro.data.registry import load_split

    torch.manual_seed(0)
    model = S5RFClassifier(S5RFConfig(input_dim=32, output_dim=10, num_neurons=32, num_layers=4)).eval()
    assert model.skip_layers == (1, 2)
    discrete = discretise(model)
    active = dataclasses.replace(
        discrete,
        layers=tuple(dataclasses.replace(layer, threshold=layer.threshold * ACTIVE_THRESHOLD_SCALE) for layer in discrete.layers),
    )
    calibration = load_split({"kind": "digits"}, "train").inputs[:64]
    integer, _ = quantise(active, LOIHI2, calibration)
    return active, integer


def test_digits_default_model_lava_equals_golden(digits_checkpoint, digits_test_set):
    network = convert(digits_checkpoint, LOIHI2).network
    assert isinstance(network, IntNetwork) and len(network.layers) == 2
    inputs = digits_test_set.inputs[:SAMPLES]
    golden = simulate(network, inputs)
    assert all(s.any() for s in golden.spikes), "every layer of the trained model should spike"
    assert_bit_exact(run_lava(network, inputs), golden)


def test_four_layer_skip_model_lava_equals_golden(skip_networks, digits_test_set):
    _, network = skip_networks
    assert [layer.skip for layer in network.layers] == [False, True, True, False]
    inputs = digits_test_set.inputs[:SAMPLES, :16]
    golden = simulate(network, inputs)
    assert all(s.mean() > 0.01 for s in golden.spikes), "every layer should be active"
    assert_bit_exact(run_lava(network, inputs), golden)


def test_float_model_matches_float_network(skip_networks, digits_test_set):
    network, _ = skip_networks
    inputs = digits_test_set.inputs[:SAMPLES, :16]
    golden = simulate(network, inputs)
    lava = run_lava(network, inputs)
    assert lava.scores.dtype == np.float64
    np.testing.assert_allclose(lava.scores, golden.scores, rtol=1e-6, atol=1e-6 * np.abs(golden.scores).max())
    for got, want in zip(lava.spikes, golden.spikes):
        assert np.mean(got == want) > 0.999
    np.testing.assert_array_equal(lava.predictions, golden.predictions)


def _narrow_network(
    rng: np.random.Generator, bits: int, exponents: tuple[int, int, int], skip: bool, **formats
) -> IntNetwork:
    """One layer with `bits`-bit weights spanning the full mantissa range and the given exponents (re, im, readout).

    formats: other `TargetSpec` fields (decay bits, rounding, state bits).
    """
    target = dataclasses.replace(LOIHI2.with_weight_bits(bits), **formats)
    low, high = target.weight_min, target.weight_max
    neurons = inputs = 12
    weight_re = rng.integers(low, high + 1, (neurons, inputs))
    weight_re[0, :2] = [low, high]
    angle = rng.uniform(0.1, 0.8, neurons)
    radius = rng.uniform(0.8, 0.97, neurons)
    layer = IntLayer(
        decay_re=np.round(radius * np.cos(angle) * target.decay_one).astype(np.int64),
        decay_im=np.round(radius * np.sin(angle) * target.decay_one).astype(np.int64),
        weight_re=weight_re,
        weight_im=rng.integers(low, high + 1, (neurons, inputs)),
        weight_exp_re=exponents[0],
        weight_exp_im=exponents[1],
        threshold=rng.integers(1, 40, neurons).astype(np.int64) << max(exponents[0], 0),
        state_scale=1.0,
        skip=skip,
    )
    readout = IntReadout(
        weight=rng.integers(low, high + 1, (3, neurons)), weight_exp=exponents[2],
        decay=np.full(3, round(0.73 * target.decay_one), dtype=np.int64), state_scale=1.0,
    )
    return IntNetwork(layers=(layer,), readout=readout, target=target)


@pytest.mark.parametrize(
    "bits, exponents, skip",
    [(8, (-8, 7, -3), True), (4, (7, -8, 2), False), (2, (0, -1, 7), True)],
)
def test_weight_formats_and_graded_inputs_are_exact(bits, exponents, skip):
    """Lava's Dense truncation and exponent shifts reproduce dense_int for any mantissa width and exponent."""
    rng = np.random.default_rng(bits)
    network = _narrow_network(rng, bits, exponents, skip)
    inputs = rng.integers(0, 4, (4, 9, 12)).astype(np.uint8)  # graded spike counts 0..3
    golden = simulate(network, inputs)
    assert golden.spikes[0].any() and not golden.spikes[0].all()
    assert_bit_exact(run_lava(network, inputs), golden)


def test_number_formats_reach_the_models_through_vars():
    """Decay bits, rounding and state width other than loihi2's: Lava still equals golden, saturation included."""
    rng = np.random.default_rng(11)
    network = _narrow_network(rng, 8, (3, 2, 0), True, decay_bits=9, decay_rounding="floor", state_bits=12)
    inputs = rng.integers(0, 3, (3, 12, 12)).astype(np.uint8)
    built = build_lava(network, inputs, record_buffer=8)
    def value(var) -> int:
        return int(np.ravel(var.get())[0])

    for process in [*built.neurons, built.readout]:
        assert (value(process.decay_bits), value(process.state_bits)) == (9, 12)
        assert DECAY_ROUNDINGS[value(process.decay_rounding)] == "floor"
    assert value(built.neurons[0].num_message_bits) == value(built.source.num_message_bits) == 8
    golden = simulate(network, inputs)
    assert golden.saturation[0] > 0 and golden.spikes[0].any()
    assert_bit_exact(run_lava(network, inputs), golden)


def test_model_discovery_executes_only_the_process_package(recwarn, monkeypatch):
    """Lava finds each process's models by executing the modules beside it: only `lava_procs` ones, no warning."""
    import importlib.util

    from lava.magma.compiler import compiler_graphs

    executed: list[Path] = []
    original = importlib.util.spec_from_file_location

    def recording(name, location, *args, **kwargs):
        executed.append(Path(location))
        return original(name, location, *args, **kwargs)

    monkeypatch.setattr(compiler_graphs.import_utils, "spec_from_file_location", recording)
    rng = np.random.default_rng(3)
    built = build_lava(_narrow_network(rng, 8, (0, 0, 0), False), np.zeros((1, 2, 12), np.uint8), record_buffer=8)
    for process, expected in (
        (built.source, {models.PySpikeSourceFixed, models.PySpikeSourceFloat}),
        (built.neurons[0], {models.PyS5RFNeuronFixed, models.PyS5RFNeuronFloat}),
        (built.readout, {models.PyS5RFReadoutFixed, models.PyS5RFReadoutFloat}),
    ):
        assert set(compiler_graphs.ProcGroupDiGraphs._find_proc_models(process)) == expected
    package = Path(models.__file__).parent
    assert executed and {path.parent for path in executed} == {package}
    assert {path.name for path in executed} == {"process.py", "models.py"}
    assert not [w for w in recwarn if "Cannot import module" in str(w.message)]


def test_bad_inputs_and_backends_are_refused(skip_networks):
    _, network = skip_networks
    with pytest.raises(S5RFError, match=r"shape \(samples, time steps, 32\)"):
        run_lava(network, np.zeros((2, 5, 31), dtype=np.uint8))
    with pytest.raises(S5RFError, match="non-negative"):
        run_lava(network, -np.ones((2, 5, 32), dtype=np.int64))
    with pytest.raises(S5RFError, match="lava-loihi"):
        run_lava(network, np.zeros((1, 5, 32), dtype=np.uint8), backend="loihi2-hw")
    with pytest.raises(S5RFError, match="unknown Lava backend"):
        run_lava(network, np.zeros((1, 5, 32), dtype=np.uint8), backend="gpu")
    empty = run_lava(network, np.zeros((0, 5, 32), dtype=np.uint8))
    assert empty.scores.shape == (0, 10) and [s.shape for s in empty.spikes] == [(0, 5, 32)] * 4


def test_builder_refuses_what_lava_dense_cannot_hold(skip_networks):
    _, network = skip_networks
    layer = network.layers[0]
    too_wide = dataclasses.replace(layer, weight_re=layer.weight_re * 4 + 1)
    with pytest.raises(TargetError, match=r"layer 0: real weight mantissas span .* 8-bit range"):
        dataclasses.replace(network, layers=(too_wide,) + network.layers[1:])
    with pytest.raises(TargetError, match=r"the input can reach 300, more than the 8-bit spike payload"):
        build_lava(network, np.full((1, 4, 32), 300), record_buffer=8)
