"""Augmentations: time jitter, channel shift, CutMix on dense spike batches."""

from __future__ import annotations

import numpy as np

from s5rf_neuro.data.augment import Augment, channel_shift, cutmix, one_hot, time_jitter


def batch(seed: int = 0, shape=(6, 50, 20)) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) < 0.1).astype(np.uint8)


def test_time_jitter_moves_spikes_in_time_only():
    x = batch()
    y = time_jitter(x, np.random.default_rng(1), sigma=2.0)
    assert y.shape == x.shape and y.dtype == x.dtype and set(np.unique(y)) <= {0, 1}
    assert not np.array_equal(x, y)
    # per (sample, channel) no spike is created: counts can only drop (merging), mostly preserved
    assert np.all(y.sum(axis=1) <= x.sum(axis=1)) and y.sum() > 0.8 * x.sum()
    np.testing.assert_array_equal(time_jitter(x, np.random.default_rng(1), 0.0), x)
    np.testing.assert_array_equal(y, time_jitter(x, np.random.default_rng(1), 2.0))


def test_channel_shift_exact():
    x = batch()
    rng = np.random.default_rng(3)
    shifts = np.random.default_rng(3).integers(-4, 5, size=len(x))
    y = channel_shift(x, rng, 4)
    for i, s in enumerate(shifts):
        expected = np.zeros_like(x[i])
        if s >= 0:
            expected[:, s:] = x[i][:, : x.shape[2] - s]
        else:
            expected[:, :s] = x[i][:, -s:]
        np.testing.assert_array_equal(y[i], expected)


def test_cutmix_mixes_windows_and_labels():
    steps = 40
    x = np.broadcast_to(np.arange(1, 9, dtype=np.uint8)[:, None, None], (8, steps, 10)).copy()  # sample i holds i+1
    y = one_hot(np.arange(8), 8)
    out, soft = cutmix(x, y, np.random.default_rng(5), alpha=1.0, prob=1.0)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-6)
    mixed = 0
    for i in range(8):
        rows = out[i, :, 0]
        assert np.all(out[i] == rows[:, None])
        foreign = np.flatnonzero(rows != i + 1)
        if foreign.size == 0:
            assert soft[i, i] == 1.0
            continue
        mixed += 1
        partner = int(rows[foreign[0]]) - 1
        assert np.all(rows[foreign] == partner + 1)
        assert foreign[-1] - foreign[0] + 1 == foreign.size  # one contiguous time window
        np.testing.assert_allclose(soft[i, partner], foreign.size / steps, rtol=1e-6)
        np.testing.assert_allclose(soft[i, i], 1 - foreign.size / steps, rtol=1e-6)
    assert mixed >= 4
    none, soft0 = cutmix(x, y, np.random.default_rng(5), prob=0.0)
    np.testing.assert_array_equal(none, x)
    np.testing.assert_array_equal(soft0, y)


def test_augment_pipeline():
    aug = Augment(time_jitter=1.0, channel_shift=2, cutmix=0.5)
    assert aug.active and not Augment().active
    x = batch()
    out, soft = aug(x, one_hot(np.arange(6) % 3, 3), np.random.default_rng(0))
    assert out.shape == x.shape and soft.shape == (6, 3)
