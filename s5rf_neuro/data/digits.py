"""The embedded default data set: scikit-learn's 8×8 handwritten digits as spikes.

Encoding (rows as time, thermometer-coded columns as channels):

- each 8×8 image (intensities 0…16) is read top to bottom, one pixel row at a
  time, and each row is held for `steps_per_row` time steps
  (T = 8 · steps_per_row, 32 by default);
- each pixel column becomes `levels` channels that form a thermometer code of
  its intensity: channel `column · levels + k` spikes while the intensity
  exceeds 16 · (k + 0.5) / levels (thresholds 2, 6, 10, 14 for 4 levels), so
  C = 8 · levels (32 by default);
- spikes are binary (uint8 0/1).

Split: 20 % of every class goes to the test set, chosen by a fixed
`numpy.random.RandomState(SPLIT_SEED)` permutation, so the split (1438 train,
359 test samples) is the same on every machine.
"""

from __future__ import annotations

import numpy as np

from s5rf_neuro.data.base import SpikeData
from s5rf_neuro.errors import DataError

SPLIT_SEED = 2025
TEST_FRACTION = 0.2
STEPS_PER_ROW = 4
LEVELS = 4
MAX_INTENSITY = 16.0
CLASS_NAMES = [str(d) for d in range(10)]


def encode_digits(images: np.ndarray, steps_per_row: int = STEPS_PER_ROW, levels: int = LEVELS) -> np.ndarray:
    """Turn images (N, rows, cols) with values 0…16 into spikes (N, rows·steps_per_row, cols·levels) uint8."""
    if steps_per_row < 1 or levels < 1:
        raise DataError(f"digits encoding: steps_per_row and levels must be >= 1, got {steps_per_row}, {levels}")
    thresholds = MAX_INTENSITY * (np.arange(levels) + 0.5) / levels
    coded = images[..., None] > thresholds  # (N, rows, cols, levels)
    n, rows, cols, _ = coded.shape
    coded = coded.reshape(n, rows, cols * levels)
    return np.repeat(coded, steps_per_row, axis=1).astype(np.uint8)


def split_indices(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fixed stratified (train, test) index arrays, each sorted."""
    rng = np.random.RandomState(SPLIT_SEED)
    test = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        rng.shuffle(members)
        test.append(members[: int(round(TEST_FRACTION * len(members)))])
    test_idx = np.sort(np.concatenate(test))
    train_idx = np.setdiff1d(np.arange(len(labels)), test_idx)
    return train_idx, test_idx


def split_images(split: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The (images (N, 8, 8) of intensities 0…16, int64 labels (N,)) of the fixed train or test split;
    DataError naming data set `name` for another split."""
    from sklearn.datasets import load_digits

    if split not in ("train", "test"):
        raise DataError(f"{name}: no split {split!r} (choose train or test)")
    raw = load_digits()
    labels = raw.target.astype(np.int64)
    train_idx, test_idx = split_indices(labels)
    idx = train_idx if split == "train" else test_idx
    return raw.images[idx], labels[idx]


def load_digits_split(split: str, steps_per_row: int = STEPS_PER_ROW, levels: int = LEVELS) -> SpikeData:
    """The train or test split of the encoded digits."""
    images, labels = split_images(split, "digits")
    spikes = encode_digits(images, steps_per_row, levels)
    encoding = (
        f"sklearn digits: rows as time ({steps_per_row} steps per row), columns x {levels}-level "
        "thermometer code as channels, binary"
    )
    return SpikeData(spikes, labels, list(CLASS_NAMES), "digits", encoding)
