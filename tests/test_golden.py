"""The golden simulator against a slow, obviously-correct per-neuron Python reference."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s5rf_neuro.errors import S5RFError
from s5rf_neuro.hardware.golden import simulate
from s5rf_neuro.hardware.network import FloatLayer, FloatNetwork, FloatReadout, IntLayer, IntNetwork, IntReadout
from s5rf_neuro.hardware.target import LOIHI2


def _reference_int(network: IntNetwork, sample: list[list[int]]) -> tuple[list[list[list[bool]]], list[int], list[int]]:
    """One sample through the integer network with Python ints, neuron by neuron.

    Returns (spikes[layer][t][neuron], scores[o], saturation per layer + readout).
    """
    target = network.target
    low, high = -(2 ** (target.state_bits - 1)), 2 ** (target.state_bits - 1) - 1
    k = target.decay_bits

    def shift(value: int) -> int:
        if target.decay_rounding == "nearest":
            return (value + 2 ** (k - 1)) // 2**k
        return value // 2**k

    def dense(weights: list[list[int]], exponent: int, values: list[int]) -> list[int]:
        out = []
        for row in weights:
            total = sum(w * v for w, v in zip(row, values))
            out.append(total * 2**exponent if exponent >= 0 else total // 2 ** (-exponent))
        return out

    def sat(value: int) -> tuple[int, int]:
        clipped = min(max(value, low), high)
        return clipped, int(clipped != value)

    layer_input = [list(row) for row in sample]
    all_spikes = []
    saturation = []
    for layer in network.layers:
        w_re, w_im = layer.weight_re.tolist(), layer.weight_im.tolist()
        c, s, vth = layer.decay_re.tolist(), layer.decay_im.tolist(), layer.threshold.tolist()
        re = [0] * layer.num_neurons
        im = [0] * layer.num_neurons
        events = 0
        spikes = []
        for u in layer_input:
            a_re = dense(w_re, layer.weight_exp_re, u)
            a_im = dense(w_im, layer.weight_exp_im, u)
            row = []
            for i in range(layer.num_neurons):
                new_re, e1 = sat(shift(c[i] * re[i] - s[i] * im[i]) + a_re[i])
                new_im, e2 = sat(shift(s[i] * re[i] + c[i] * im[i]) + a_im[i])
                re[i], im[i] = new_re, new_im
                events += e1 + e2
                row.append(new_re > vth[i])
            spikes.append(row)
        all_spikes.append(spikes)
        saturation.append(events)
        if layer.skip:
            layer_input = [[int(sp) + v for sp, v in zip(srow, urow)] for srow, urow in zip(spikes, layer_input)]
        else:
            layer_input = [[int(sp) for sp in srow] for srow in spikes]
    readout = network.readout
    y = [0] * network.output_dim
    scores = [0] * network.output_dim
    events = 0
    for u in layer_input:
        a = dense(readout.weight.tolist(), readout.weight_exp, u)
        for o in range(network.output_dim):
            y[o], e = sat(shift(int(readout.decay[o]) * y[o]) + a[o])
            events += e
            scores[o] += y[o]
    saturation.append(events)
    return all_spikes, scores, saturation


def _assert_equals_reference(network: IntNetwork, inputs: np.ndarray, result) -> None:
    """Spikes of every layer, scores and saturation counts of `result` equal the Python-integer reference."""
    total_saturation = [0] * (len(network.layers) + 1)
    for n, sample in enumerate(inputs.tolist()):
        spikes, scores, saturation = _reference_int(network, sample)
        for layer_spikes, expected in zip(result.spikes, spikes):
            assert layer_spikes[n].tolist() == expected
        assert result.scores[n].tolist() == scores
        total_saturation = [a + b for a, b in zip(total_saturation, saturation)]
    assert result.saturation == total_saturation


@st.composite
def int_networks(draw: st.DrawFn) -> tuple[IntNetwork, np.ndarray]:
    """Small random integer networks (often saturating) and inputs for them."""
    target = dataclasses.replace(
        LOIHI2,
        state_bits=draw(st.integers(6, 24)),
        decay_bits=draw(st.integers(2, 12)),
        weight_bits=draw(st.integers(2, 8)),
        decay_rounding=draw(st.sampled_from(["nearest", "floor"])),
    )
    one = target.decay_one
    ints = lambda lo, hi, shape: np.array(draw(st.lists(st.integers(lo, hi), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))), dtype=np.int64).reshape(shape)  # noqa: E731
    width = draw(st.integers(1, 4))
    num_inputs = width
    layers = []
    for index in range(draw(st.integers(1, 3))):
        skip = index > 0 and num_inputs == width and draw(st.booleans())
        decay_re = ints(1 - one, one - 1, (width,))
        # |λ̄_int| < 1, the network type's guard: |s| at most the largest value keeping c² + s² < one²
        room = np.array([math.isqrt(one * one - 1 - int(c) * int(c)) for c in decay_re], dtype=np.int64)
        decay_im = np.clip(ints(1 - one, one - 1, (width,)), -room, room)
        layers.append(
            IntLayer(
                decay_re=decay_re,
                decay_im=decay_im,
                weight_re=ints(target.weight_min, target.weight_max, (width, num_inputs)),
                weight_im=ints(target.weight_min, target.weight_max, (width, num_inputs)),
                weight_exp_re=draw(st.integers(target.weight_exp_min, target.weight_exp_max)),
                weight_exp_im=draw(st.integers(target.weight_exp_min, target.weight_exp_max)),
                threshold=ints(0, target.state_max, (width,)) >> draw(st.integers(0, target.state_bits)),
                state_scale=1.0,
                skip=skip,
            )
        )
        num_inputs = width
    outputs = draw(st.integers(1, 3))
    readout = IntReadout(
        weight=ints(target.weight_min, target.weight_max, (outputs, width)),
        weight_exp=draw(st.integers(target.weight_exp_min, target.weight_exp_max)),
        decay=ints(0, one - 1, (outputs,)),
        state_scale=1.0,
    )
    network = IntNetwork(layers=tuple(layers), readout=readout, target=target)
    samples, steps = draw(st.integers(1, 3)), draw(st.integers(1, 8))
    inputs = ints(0, 3, (samples, steps, layers[0].num_inputs)).astype(np.uint8)
    return network, inputs


@settings(max_examples=150, deadline=None)
@given(int_networks(), st.integers(1, 3))
def test_golden_equals_python_reference_bit_for_bit(case: tuple[IntNetwork, np.ndarray], batch_size: int) -> None:
    network, inputs = case
    result = simulate(network, inputs, batch_size=batch_size)
    _assert_equals_reference(network, inputs, result)
    assert result.predictions.tolist() == np.argmax(result.scores, axis=1).tolist()


@settings(max_examples=60, deadline=None)
@given(int_networks())
def test_state_saturates_and_never_wraps(case: tuple[IntNetwork, np.ndarray]) -> None:
    network, inputs = case
    target = network.target
    result = simulate(network, inputs)
    assert all(peak <= -target.state_min for peak in result.state_peak)
    assert all(isinstance(events, int) and events >= 0 for events in result.saturation)


def test_saturation_is_counted_for_a_driven_neuron() -> None:
    target = dataclasses.replace(LOIHI2, state_bits=8)
    layer = IntLayer(
        decay_re=np.array([target.decay_one - 1]), decay_im=np.array([0]),
        weight_re=np.array([[100]]), weight_im=np.array([[-100]]), weight_exp_re=0, weight_exp_im=0,
        threshold=np.array([50]), state_scale=1.0,
    )
    readout = IntReadout(weight=np.array([[1]]), weight_exp=0, decay=np.array([0]), state_scale=1.0)
    network = IntNetwork(layers=(layer,), readout=readout, target=target)
    result = simulate(network, np.ones((2, 5, 1), dtype=np.uint8))
    # steps 1..4 push re past 127 and im past -128: 4 steps × 2 components × 2 samples
    assert result.saturation == [16, 0]
    assert result.state_peak[0] == 128
    assert result.spikes[0].all()


def _random_float_network(rng: np.random.Generator, sizes: list[int], outputs: int, skip: list[bool]) -> FloatNetwork:
    layers = []
    for h, p, s in zip(sizes[:-1], sizes[1:], skip):
        step = np.exp(rng.uniform(np.log(1e-3), np.log(1e-1), p))
        decay = np.exp((-0.5 + 1j * rng.uniform(-3, 3, p)) * step)
        weight = (rng.normal(size=(p, h)) + 1j * rng.normal(size=(p, h))) * 4 / np.sqrt(h)
        layers.append(FloatLayer(decay=decay, weight=weight, threshold=1 / step, skip=s))
    readout = FloatReadout(weight=rng.normal(size=(outputs, sizes[-1])), decay=np.full(outputs, 0.8))
    return FloatNetwork(layers=tuple(layers), readout=readout)


def test_float_network_follows_its_recurrence() -> None:
    rng = np.random.default_rng(1)
    network = _random_float_network(rng, [5, 4, 4], 3, [False, True])
    inputs = (rng.random((3, 20, 5)) < 0.3).astype(np.uint8)
    result = simulate(network, inputs, batch_size=2)
    for n in range(3):
        u = inputs[n].astype(float)
        for index, layer in enumerate(network.layers):
            x = np.zeros(layer.num_neurons, complex)
            spikes = []
            for t in range(u.shape[0]):
                x = layer.decay * x + layer.weight @ u[t]
                spikes.append(x.real > layer.threshold)
            spikes = np.array(spikes)
            np.testing.assert_array_equal(result.spikes[index][n], spikes)
            u = spikes + u if layer.skip else spikes.astype(float)
        y = np.zeros(3)
        total = np.zeros(3)
        for t in range(u.shape[0]):
            y = network.readout.decay * y + network.readout.weight @ u[t]
            total += y
        np.testing.assert_allclose(result.scores[n], total / u.shape[0], rtol=1e-12)
    assert result.saturation == [0, 0, 0]


def test_spikes_per_sample_and_shapes() -> None:
    rng = np.random.default_rng(2)
    network = _random_float_network(rng, [6, 5], 2, [False])
    inputs = (rng.random((7, 9, 6)) < 0.5).astype(bool)
    result = simulate(network, inputs, batch_size=3, progress=True)
    assert result.spikes[0].shape == (7, 9, 5) and result.spikes[0].dtype == bool
    assert result.scores.shape == (7, 2) and result.predictions.dtype == np.int64
    assert result.spikes_per_sample() == [float(result.spikes[0].sum() / 7)]


@pytest.mark.parametrize(
    "inputs, message",
    [
        (np.zeros((2, 3, 4)), "shape"),
        (-np.ones((2, 3, 6), dtype=np.int64), "non-negative"),
        (np.full((2, 3, 6), 0.5), "integer"),
    ],
)
def test_bad_inputs_are_refused(inputs: np.ndarray, message: str) -> None:
    network = _random_float_network(np.random.default_rng(3), [6, 5], 2, [False])
    with pytest.raises(S5RFError, match=message):
        simulate(network, inputs)


def test_batch_size_must_be_positive() -> None:
    network = _random_float_network(np.random.default_rng(3), [6, 5], 2, [False])
    with pytest.raises(S5RFError, match="batch size"):
        simulate(network, np.zeros((1, 2, 6), dtype=np.uint8), batch_size=0)


def _stable_decays(rng: np.random.Generator, one: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer decays (c, s) with c² + s² < one², the network type's guard |λ̄_int| < 1."""
    c = rng.integers(1 - one, one, count)
    room = np.array([math.isqrt(one * one - 1 - int(v) * int(v)) for v in c], dtype=np.int64)
    return c, np.clip(rng.integers(1 - one, one, count), -room, room)


def _graded_network(rng: np.random.Generator, steps: int) -> IntNetwork:
    """Two layers (the second a skip) of 3 neurons, 8-bit weights with exponents up to the target's largest."""
    target = LOIHI2
    low, high = target.weight_min, target.weight_max + 1

    def layer(inputs: int, skip: bool) -> IntLayer:
        decay_re, decay_im = _stable_decays(rng, target.decay_one, 3)
        return IntLayer(
            decay_re=decay_re, decay_im=decay_im,
            weight_re=rng.integers(low, high, (3, inputs)), weight_im=rng.integers(low, high, (3, inputs)),
            weight_exp_re=int(rng.integers(-8, 8)), weight_exp_im=int(rng.integers(0, 8)),
            threshold=rng.integers(0, 1 << 20, 3), state_scale=1.0, skip=skip,
        )

    readout = IntReadout(weight=rng.integers(low, high, (2, 3)), weight_exp=int(rng.integers(-8, 8)),
                         decay=rng.integers(0, target.decay_one, 2), state_scale=1.0)
    return IntNetwork(layers=(layer(4, False), layer(3, True)), readout=readout, target=target,
                      metadata={"time_steps": steps})


@pytest.mark.parametrize("input_bits", [2, 12, 20, 44])
def test_golden_equals_python_reference_across_blocks_precisions_and_workers(input_bits: int) -> None:
    """Input counts large enough for the float32, float64 and int64 products; more steps than one time block."""
    rng = np.random.default_rng(input_bits)
    steps = 150
    network = _graded_network(rng, steps)
    inputs = rng.integers(0, 1 << input_bits, (3, steps, 4), dtype=np.int64)
    runs = [simulate(network, inputs, batch_size=size, workers=workers) for size, workers in ((1, 2), (3, 1))]
    for result in runs:
        _assert_equals_reference(network, inputs, result)
    assert runs[0].state_peak == runs[1].state_peak
    if input_bits > 12:
        assert sum(runs[0].saturation) > 0


def test_spike_counts_without_keeping_spikes() -> None:
    rng = np.random.default_rng(4)
    network = _graded_network(rng, 40)
    inputs = rng.integers(0, 2, (7, 40, 4)).astype(np.uint8)
    full = simulate(network, inputs, batch_size=2)
    lean = simulate(network, inputs, batch_size=3, workers=1, keep_spikes=False)
    assert lean.spikes == []
    for counts, spikes in zip(lean.spike_counts, full.spikes):
        assert counts.tolist() == spikes.sum(axis=(1, 2)).tolist()
    assert lean.spikes_per_sample() == full.spikes_per_sample()
    assert np.array_equal(lean.scores, full.scores) and lean.saturation == full.saturation


@pytest.mark.parametrize("magnitude_bits", [6, 22, 52])
def test_dense_int_and_steps_equal_python_integers(magnitude_bits: int) -> None:
    from s5rf_neuro.hardware.neuron import dense_int, int_neuron_step, int_readout_step

    rng = np.random.default_rng(magnitude_bits)
    weight = rng.integers(-(1 << magnitude_bits), 1 << magnitude_bits, (5, 6))
    inputs = rng.integers(0, 4, (3, 6))
    for exponent in (-8, -1, 0, 7):
        expected = [[(sum(w * u for w, u in zip(row, sample)) * 2**exponent) // 1 if exponent >= 0
                     else sum(w * u for w, u in zip(row, sample)) // 2**-exponent
                     for row in weight.tolist()] for sample in inputs.tolist()]
        assert dense_int(weight, exponent, inputs).tolist() == expected
    target = dataclasses.replace(LOIHI2, state_bits=16)
    one, half = target.decay_one, 1 << (target.decay_bits - 1)
    re, im = rng.integers(target.state_min, target.state_max + 1, (2, 2, 5))
    a_re, a_im = rng.integers(-(1 << 17), 1 << 17, (2, 2, 5))
    c, s = rng.integers(-one, one + 1, (2, 5))
    threshold = rng.integers(0, target.state_max, 5)
    new_re, new_im, spikes, events = int_neuron_step(re, im, a_re, a_im, c, s, threshold, target)
    clip = lambda v: min(max(v, target.state_min), target.state_max)  # noqa: E731
    want_re = [[(ci * r - si * i + half) // one + a for ci, si, r, i, a in zip(c.tolist(), s.tolist(), rr, ii, aa)]
               for rr, ii, aa in zip(re.tolist(), im.tolist(), a_re.tolist())]
    want_im = [[(si * r + ci * i + half) // one + a for ci, si, r, i, a in zip(c.tolist(), s.tolist(), rr, ii, aa)]
               for rr, ii, aa in zip(re.tolist(), im.tolist(), a_im.tolist())]
    assert new_re.tolist() == [[clip(v) for v in row] for row in want_re]
    assert new_im.tolist() == [[clip(v) for v in row] for row in want_im]
    assert spikes.tolist() == [[clip(v) > t for v, t in zip(row, threshold.tolist())] for row in want_re]
    assert events == sum(clip(v) != v for row in want_re + want_im for v in row) > 0
    y, events = int_readout_step(re, a_re, c % one, target)
    want_y = [[(d * v + half) // one + a for d, v, a in zip((c % one).tolist(), rr, aa)] for rr, aa in zip(re.tolist(), a_re.tolist())]
    assert y.tolist() == [[clip(v) for v in row] for row in want_y]
    assert events == sum(clip(v) != v for row in want_y for v in row)


def test_accumulator_is_the_narrowest_integer_that_cannot_overflow() -> None:
    from s5rf_neuro.hardware.neuron import accumulator_dtype, dense_int

    weight = np.array([[127, -127, 127, -127], [1, 2, 3, 4]])  # largest row sum of magnitudes: 508
    assert accumulator_dtype(weight, 64) is np.int16  # 32,512
    assert accumulator_dtype(weight, 65) is np.int32  # 33,020
    assert accumulator_dtype(weight, 1 << 22) is np.int32
    assert accumulator_dtype(weight, 1 << 23) is np.int64
    with pytest.raises(S5RFError, match="overflow the 64-bit sums"):
        accumulator_dtype(weight, 1 << 60)
    for largest in (64, 65, 1 << 23):
        inputs = np.array([[largest, 0, largest, 0], [0, largest, 0, largest]])
        assert dense_int(weight, -1, inputs).tolist() == [[254 * largest // 2, 4 * largest // 2],
                                                           [-254 * largest // 2, 6 * largest // 2]]


def test_event_driven_sums_of_signed_payloads_equal_python_integers() -> None:
    """The sums over non-zero inputs only, for signed inputs (a mixing stage's state payloads) and every
    accumulator width, equal Python's integer sums and floor shifts."""
    from s5rf_neuro.hardware.neuron import dense_int

    rng = np.random.default_rng(7)
    for payload_bits in (4, 16, 40):
        weight = rng.integers(-128, 128, (6, 9))
        inputs = rng.integers(-(1 << (payload_bits - 1)), 1 << (payload_bits - 1), (5, 9))
        inputs[rng.random(inputs.shape) < 0.4] = 0
        for exponent in (-7, 0, 3):
            expected = [[sum(w * u for w, u in zip(row, sample)) * 2**exponent // 1 if exponent >= 0
                         else sum(w * u for w, u in zip(row, sample)) // 2**-exponent
                         for row in weight.tolist()] for sample in inputs.tolist()]
            assert dense_int(weight, exponent, inputs).tolist() == expected


def test_workers_reuse_their_threads_and_agree() -> None:
    import threading

    rng = np.random.default_rng(5)
    network = _graded_network(rng, 30)
    inputs = rng.integers(0, 2, (9, 30, 4)).astype(np.uint8)
    alone = simulate(network, inputs, batch_size=2, workers=1)
    first = simulate(network, inputs, batch_size=2, workers=3)
    threads = threading.active_count()
    again = simulate(network, inputs, batch_size=1, workers=3)
    assert threading.active_count() == threads
    for result in (first, again):
        assert np.array_equal(result.scores, alone.scores) and result.saturation == alone.saturation
        assert result.state_peak == alone.state_peak
        assert all(np.array_equal(a, b) for a, b in zip(result.spikes, alone.spikes))


def test_a_forked_child_starts_its_own_helper_threads() -> None:
    import os
    import time

    rng = np.random.default_rng(6)
    network = _graded_network(rng, 20)
    inputs = rng.integers(0, 2, (6, 20, 4)).astype(np.uint8)
    expected = simulate(network, inputs, batch_size=1, workers=2)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            result = simulate(network, inputs, batch_size=1, workers=2)
            os.write(write, b"1" if np.array_equal(result.scores, expected.scores) else b"0")
        finally:
            os._exit(0)
    os.close(write)
    deadline = time.monotonic() + 60
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child's simulation never finished")
        time.sleep(0.05)
    assert os.read(read, 1) == b"1"
