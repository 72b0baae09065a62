"""Sequential digits: an offline twin of sequential (and permuted) MNIST.

Scikit-learn's 8×8 handwritten digits read one pixel per time step, row by
row (T = 64), on one input channel whose value is the pixel's intensity / 16,
a real number in [0, 1] (float32: graded inputs, not spikes). The permuted
variant reads the 64 pixels in one fixed order, recorded in the data source
as ``permutation`` (the pixel index read at each time step), so a checkpoint
rebuilds exactly the data it was trained on. Train/test split: the digits
default's (`s5rf_neuro.data.digits.split_images`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from s5rf_neuro.data.base import SpikeData
from s5rf_neuro.data.digits import CLASS_NAMES, MAX_INTENSITY, split_images
from s5rf_neuro.errors import DataError

PIXELS = 64
PERMUTATION_SEED = 2025
"""`numpy.random.RandomState(PERMUTATION_SEED).permutation(PIXELS)` is the default pixel order of psdigits."""


def default_permutation() -> list[int]:
    """The default psdigits pixel order: 64 distinct pixel indices (row-major, 0…63)."""
    return [int(i) for i in np.random.RandomState(PERMUTATION_SEED).permutation(PIXELS)]


def check_permutation(permutation: Any, where: str) -> list[int]:
    """`permutation` as a list of ints; DataError naming `where` unless it orders all 64 pixels once each."""
    if isinstance(permutation, (str, bytes)) or not isinstance(permutation, Sequence) \
            or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in permutation) \
            or sorted(int(i) for i in permutation) != list(range(PIXELS)):
        raise DataError(f"{where}: field 'permutation' must list each pixel index 0..{PIXELS - 1} once, "
                        f"got {permutation!r}")
    return [int(i) for i in permutation]


def encode_sequential(images: np.ndarray, permutation: Sequence[int] | None = None) -> np.ndarray:
    """Images (N, 8, 8) with values 0…16 -> inputs (N, 64, 1) float32 in [0, 1], one pixel per step.

    permutation: the pixel index (row-major) read at each step; None reads them in order.
    """
    pixels = images.reshape(len(images), PIXELS).astype(np.float32) / np.float32(MAX_INTENSITY)
    if permutation is not None:
        pixels = pixels[:, np.asarray(permutation, dtype=np.int64)]
    return np.ascontiguousarray(pixels[:, :, None])


def load_sdigits_split(split: str, permutation: Sequence[int] | None = None) -> SpikeData:
    """The train or test split of sdigits (permutation None) or psdigits (the given pixel order)."""
    name = "sdigits" if permutation is None else "psdigits"
    images, labels = split_images(split, name)
    inputs = encode_sequential(images, permutation)
    order = "row by row" if permutation is None else "in a fixed recorded permutation"
    encoding = (f"sklearn digits read one pixel per step {order} (T = {PIXELS}), one channel, "
                f"value = intensity / 16 (real, 0 to 1)")
    return SpikeData(inputs, labels, list(CLASS_NAMES), name, encoding)
