"""The in-memory form of a spike data set, shared by every loader.

numpy only (no torch): the export and hardware commands load test sets
through this package.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from s5rf_neuro.errors import DataError


@dataclass
class SpikeData:
    """A labelled set of dense spike rasters.

    Attributes:
        inputs: (N, T, C) array, uint8 spikes (0/1) or float32 values; N samples,
            T time steps, C input channels.
        labels: (N,) int64 class indices in [0, len(class_names)).
        class_names: one name per class.
        name: data set name, e.g. "digits" or "shd".
        encoding: one line saying how raw data became spikes.
    """

    inputs: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    name: str = ""
    encoding: str = ""

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.inputs.ndim != 3:
            raise DataError(f"{self.name or 'data set'}: inputs must be (N, T, C), got shape {self.inputs.shape}")
        if len(self.inputs) != len(self.labels):
            raise DataError(f"{self.name or 'data set'}: {len(self.inputs)} inputs but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def time_steps(self) -> int:
        return int(self.inputs.shape[1])

    @property
    def input_dim(self) -> int:
        return int(self.inputs.shape[2])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def check_fits(self, model: str, channels: int, classes: int, time_steps: int | None = None) -> None:
        """Raise DataError naming `model` and this data when the model's input channels, time steps
        (when it fixes them) or classes differ from the data's."""
        if self.input_dim == channels and self.num_classes == classes and time_steps in (None, self.time_steps):
            return
        raise DataError(
            f"{model}: takes inputs of shape (samples, {time_steps or 'any'}, {channels}) (samples, time steps, "
            f"channels) and {classes} classes; the {self.name or 'given'} data has shape {tuple(self.inputs.shape)} "
            f"and {self.num_classes} classes"
        )

    def subset(self, index: np.ndarray | slice) -> "SpikeData":
        """The samples selected by `index` (a view where numpy allows one)."""
        return SpikeData(self.inputs[index], self.labels[index], list(self.class_names), self.name, self.encoding)


def check_labels(labels: np.ndarray, num_classes: int, where: str) -> None:
    """Raise DataError naming `where` when a label lies outside [0, num_classes)."""
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{where}: label {int(labels[i])} of sample {i} is out of range 0..{num_classes - 1}")
