"""The equality every Lava-against-golden test asserts."""

from __future__ import annotations

import numpy as np

from s5rf_neuro.hardware.golden import SimulationResult


def assert_bit_exact(lava: SimulationResult, golden: SimulationResult) -> None:
    """Spikes of every layer equal step for step; integer scores, predictions and saturation equal."""
    assert len(lava.spikes) == len(golden.spikes)
    for index, (got, want) in enumerate(zip(lava.spikes, golden.spikes)):
        assert got.shape == want.shape, f"layer {index}"
        mismatch = np.argwhere(got != want)
        assert mismatch.size == 0, f"layer {index}: first mismatch (sample, step, neuron) {mismatch[0].tolist()}"
    assert lava.scores.dtype == golden.scores.dtype == np.int64
    np.testing.assert_array_equal(lava.scores, golden.scores)
    np.testing.assert_array_equal(lava.predictions, golden.predictions)
    assert lava.saturation == golden.saturation
