"""Writes small HDF5 files in exactly the official SHD/SSC layout (plain h5py), for tests."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

SHD_CLASSES = [f"english-{i}" for i in range(10)] + [f"german-{i}" for i in range(10)]


def class_pattern(label: int, rng: np.random.Generator, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Spikes of one sample: a burst in a class-specific band of units, at a class-specific time."""
    n = int(rng.integers(40, 120))
    band = (label * 35) % 700
    units = np.clip(band + rng.integers(0, 30, n), 0, 699)
    centre = duration * (0.2 + 0.6 * ((label * 7) % 20) / 20)
    times = np.clip(rng.normal(centre, duration * 0.05, n), 0.0, duration)
    order = np.argsort(times)
    return times[order], units[order]


def write_official(path: Path, labels: np.ndarray, class_names: list[str], seed: int = 0,
                   drop: str | None = None) -> Path:
    """An SHD-layout file: vlen float16 times (s), vlen uint16 units, uint16 labels, extra group.

    drop: name of one dataset to leave out (for error tests).
    """
    rng = np.random.default_rng(seed)
    n = len(labels)
    with h5py.File(path, "w") as f:
        if drop != "spikes/times":
            times = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(np.float16))
        if drop != "spikes/units":
            units = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.uint16))
        for i, label in enumerate(labels):
            t, u = class_pattern(int(label) % len(class_names), rng, duration=float(rng.uniform(0.6, 1.2)))
            if drop != "spikes/times":
                times[i] = t.astype(np.float16)
            if drop != "spikes/units":
                units[i] = u.astype(np.uint16)
        if drop != "labels":
            f.create_dataset("labels", data=np.asarray(labels, dtype=np.uint16))
        f.create_dataset("extra/keys", data=np.array([c.encode() for c in class_names]))
        f.create_dataset("extra/speaker", data=rng.integers(0, 3, n).astype(np.uint16))
        f.create_dataset("extra/meta_info/gender", data=np.array([b"female", b"male", b"male"]))
        f.create_dataset("extra/meta_info/age", data=np.array([25, 31, 40], dtype=np.uint16))
        f.create_dataset("extra/meta_info/body_height", data=np.array([170, 180, 175], dtype=np.uint16))
    return path


def write_shd_dir(root: Path, train_per_class: int = 3, test_per_class: int = 1, kind: str = "shd",
                  num_classes: int = 20) -> Path:
    """A directory with <kind>_train.h5, <kind>_test.h5 (and ssc_valid.h5 for SSC)."""
    root.mkdir(parents=True, exist_ok=True)
    names = SHD_CLASSES if num_classes == 20 else [f"word-{i}" for i in range(num_classes)]
    splits = {"train": train_per_class, "test": test_per_class}
    if kind == "ssc":
        splits["valid"] = test_per_class
    for seed, (split, per_class) in enumerate(splits.items()):
        labels = np.repeat(np.arange(num_classes), per_class)
        write_official(root / f"{kind}_{split}.h5", labels, names, seed=seed)
    return root
