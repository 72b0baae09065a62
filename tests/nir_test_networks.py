"""Random FloatNetwork / IntNetwork factories for the NIR tests (built from the dataclasses directly)."""

from __future__ import annotations

import numpy as np

from s5rf_neuro.hardware.network import FloatLayer, FloatNetwork, FloatReadout, IntLayer, IntNetwork, IntReadout
from s5rf_neuro.hardware.target import LOIHI2, TargetSpec


def skip_flags(num_layers: int, apply_skip: bool) -> list[bool]:
    """The model's skip pattern: middle layers (not first, not last) when `apply_skip`."""
    return [apply_skip and 0 < index < num_layers - 1 for index in range(num_layers)]


def random_float_network(
    rng: np.random.Generator,
    num_layers: int,
    inputs: int = 12,
    neurons: int = 10,
    outputs: int = 4,
    apply_skip: bool = True,
    keep_imag: bool = True,
    rotate: bool = True,
) -> FloatNetwork:
    """A float network with random λ̄ (|λ̄| in [0.5, 0.99]), weights, thresholds and readout.

    keep_imag=False gives real input weights (imaginary parts exactly zero);
    rotate=False gives real positive decays (no rotation, ω = 0).
    """
    layers = []
    width = inputs
    for skip in skip_flags(num_layers, apply_skip):
        phase = rng.uniform(-np.pi, np.pi, neurons) if rotate else np.zeros(neurons)
        decay = rng.uniform(0.5, 0.99, neurons) * np.exp(1j * phase)
        weight = rng.normal(0.0, 0.8, (neurons, width)).astype(np.complex128)
        if keep_imag:
            weight.imag = rng.normal(0.0, 0.8, (neurons, width))
        layers.append(FloatLayer(decay=decay, weight=weight, threshold=rng.uniform(0.5, 2.0, neurons), skip=skip))
        width = neurons
    readout = FloatReadout(weight=rng.normal(0.0, 1.0, (outputs, neurons)), decay=rng.uniform(0.5, 0.95, outputs))
    metadata = {"class_names": [f"class {k}" for k in range(outputs)], "source": {"kind": "test", "seed": 1}}
    return FloatNetwork(layers=tuple(layers), readout=readout, metadata=metadata)


def random_int_network(
    rng: np.random.Generator,
    num_layers: int,
    inputs: int = 12,
    neurons: int = 10,
    outputs: int = 4,
    apply_skip: bool = True,
    keep_imag: bool = True,
    target: TargetSpec = LOIHI2,
) -> IntNetwork:
    """An integer network within `target`'s formats: stable decays, 8-bit mantissas, random exponents."""
    one = target.decay_one
    layers = []
    width = inputs
    for skip in skip_flags(num_layers, apply_skip):
        modulus = rng.uniform(0.5, 0.99, neurons)
        phase = rng.uniform(-np.pi, np.pi, neurons)
        weight_im = rng.integers(target.weight_min, target.weight_max + 1, (neurons, width))
        layers.append(
            IntLayer(
                decay_re=np.round(modulus * np.cos(phase) * one).astype(np.int64),
                decay_im=np.round(modulus * np.sin(phase) * one).astype(np.int64),
                weight_re=rng.integers(target.weight_min, target.weight_max + 1, (neurons, width)),
                weight_im=weight_im if keep_imag else np.zeros_like(weight_im),
                weight_exp_re=int(rng.integers(target.weight_exp_min, target.weight_exp_max + 1)),
                weight_exp_im=int(rng.integers(target.weight_exp_min, target.weight_exp_max + 1)),
                threshold=rng.integers(1, 1 << 12, neurons),
                state_scale=float(rng.uniform(100.0, 5000.0)),
                skip=skip,
            )
        )
        width = neurons
    readout = IntReadout(
        weight=rng.integers(target.weight_min, target.weight_max + 1, (outputs, neurons)),
        weight_exp=int(rng.integers(-2, 3)),
        decay=rng.integers(one // 2, one, outputs),
        state_scale=float(rng.uniform(10.0, 100.0)),
    )
    return IntNetwork(layers=tuple(layers), readout=readout, target=target, metadata={"checkpoint": "none.ckpt"})


def random_spikes(rng: np.random.Generator, samples: int, steps: int, inputs: int, rate: float = 0.3) -> np.ndarray:
    """Binary input spikes, uint8 (samples, steps, inputs)."""
    return (rng.random((samples, steps, inputs)) < rate).astype(np.uint8)


def assert_networks_identical(first, second) -> None:
    """Same type, same target, same metadata, and every array equal bit for bit with the same dtype."""
    assert type(first) is type(second)
    assert first.metadata == second.metadata
    assert len(first.layers) == len(second.layers)
    if isinstance(first, IntNetwork):
        assert first.target == second.target
        layer_fields = ("decay_re", "decay_im", "weight_re", "weight_im", "threshold")
        layer_scalars = ("weight_exp_re", "weight_exp_im", "state_scale", "skip")
        readout_fields = ("weight", "decay")
        readout_scalars = ("weight_exp", "state_scale")
    else:
        layer_fields = ("decay", "weight", "threshold")
        layer_scalars = ("skip",)
        readout_fields = ("weight", "decay")
        readout_scalars = ()
    pairs = [(a, b, layer_fields, layer_scalars) for a, b in zip(first.layers, second.layers)]
    pairs.append((first.readout, second.readout, readout_fields, readout_scalars))
    for a, b, fields, scalars in pairs:
        for name in fields:
            left, right = np.asarray(getattr(a, name)), getattr(b, name)
            assert isinstance(right, np.ndarray), name
            assert right.dtype == left.dtype, (name, right.dtype, left.dtype)
            assert right.shape == left.shape, name
            assert right.tobytes() == left.tobytes(), name
        for name in scalars:
            left, right = getattr(a, name), getattr(b, name)
            assert type(right) is type(left) and right == left, (name, left, right)
