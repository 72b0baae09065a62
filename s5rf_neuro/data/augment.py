"""Training augmentations on batches of dense spike rasters (numpy).

Every function takes a batch `x` (B, T, C) of spikes and a `numpy.random.Generator`
and returns a new array; labels are soft targets (B, K) float32 so that CutMix
can mix them (one-hot rows for unmixed samples).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(B,) int labels -> (B, K) float32 one-hot rows."""
    out = np.zeros((len(labels), num_classes), dtype=np.float32)
    out[np.arange(len(labels)), labels] = 1.0
    return out


def time_jitter(x: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Move every spike by round(N(0, sigma)) time steps, clipped to [0, T); coinciding spikes merge."""
    if sigma <= 0:
        return x
    b, t, c = np.nonzero(x)
    values = x[b, t, c]
    shift = np.rint(rng.normal(0.0, sigma, size=t.shape)).astype(np.int64)
    out = np.zeros_like(x)
    out[b, np.clip(t + shift, 0, x.shape[1] - 1), c] = values
    return out


def channel_shift(x: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
    """Shift all channels of each sample by one integer in [-max_shift, max_shift]; vacated channels are 0."""
    if max_shift <= 0:
        return x
    shifts = rng.integers(-max_shift, max_shift + 1, size=len(x))
    channels = x.shape[2]
    src = np.arange(channels)[None, :] - shifts[:, None]  # (B, C): where each output channel comes from
    valid = (src >= 0) & (src < channels)
    out = np.take_along_axis(x, np.clip(src, 0, channels - 1)[:, None, :], axis=2)
    return out * valid[:, None, :].astype(x.dtype)


def cutmix(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, alpha: float = 1.0,
           prob: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Paste a random time window of another sample of the batch into each sample (with probability `prob`).

    The window length is (1 - lam)·T with lam ~ Beta(alpha, alpha); the soft
    label mixes the two labels by the fraction of time steps each contributes.
    """
    batch, steps = x.shape[:2]
    partner = rng.permutation(batch)
    lam = rng.beta(alpha, alpha, size=batch)
    length = np.rint((1.0 - lam) * steps).astype(np.int64) * (rng.random(batch) < prob)
    start = rng.integers(0, steps - length + 1)
    t = np.arange(steps)[None, :]
    window = (t >= start[:, None]) & (t < (start + length)[:, None])  # (B, T)
    out = np.where(window[:, :, None], x[partner], x)
    frac = (length / steps).astype(np.float32)[:, None]
    return out, (1.0 - frac) * y + frac * y[partner]


@dataclass
class Augment:
    """The augmentations applied to each training batch, in this order (0 disables one).

    time_jitter: std of the per-spike time shift in steps; channel_shift: largest
    channel shift; cutmix: probability that a sample gets a CutMix window.
    """

    time_jitter: float = 0.0
    channel_shift: int = 0
    cutmix: float = 0.0
    cutmix_alpha: float = 1.0

    @property
    def active(self) -> bool:
        return self.time_jitter > 0 or self.channel_shift > 0 or self.cutmix > 0

    def __call__(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Augment a batch: x (B, T, C) spikes, y (B, K) soft targets."""
        x = time_jitter(x, rng, self.time_jitter)
        x = channel_shift(x, rng, self.channel_shift)
        if self.cutmix > 0:
            x, y = cutmix(x, y, rng, self.cutmix_alpha, self.cutmix)
        return x, y
