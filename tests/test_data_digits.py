"""The embedded digits default: encoding, fixed split, registry round trip."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

from s5rf_neuro.data import dataset_info, load_split, resolve_source
from s5rf_neuro.data.digits import encode_digits, split_indices
from s5rf_neuro.errors import DataError


def test_shapes_split_and_balance():
    train = load_split({"kind": "digits"}, "train")
    test = load_split({"kind": "digits"}, "test")
    assert train.inputs.shape == (1438, 32, 32) and test.inputs.shape == (359, 32, 32)
    assert train.inputs.dtype == np.uint8 and set(np.unique(train.inputs)) == {0, 1}
    assert train.class_names == [str(d) for d in range(10)]
    counts = np.bincount(test.labels, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37


def test_split_fixed_disjoint_and_complete():
    labels = load_digits().target
    train_a, test_a = split_indices(labels)
    train_b, test_b = split_indices(labels)
    np.testing.assert_array_equal(test_a, test_b)
    assert not set(train_a) & set(test_a) and len(train_a) + len(test_a) == len(labels)


def test_thermometer_encoding_exact():
    image = np.zeros((1, 8, 8))
    image[0, 0, 0] = 16  # all four levels
    image[0, 0, 1] = 7   # above 2 and 6
    image[0, 3, 7] = 1   # below the first threshold
    spikes = encode_digits(image, steps_per_row=4, levels=4)
    assert spikes.shape == (1, 32, 32)
    np.testing.assert_array_equal(spikes[0, 0, :8], [1, 1, 1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(spikes[0, 0], spikes[0, 3])  # row held for 4 steps
    assert spikes[0, 4:].sum() == 0 and spikes.sum() == 4 * 6


def test_source_and_dataset_info():
    source = resolve_source({"kind": "digits"})
    assert source == {"kind": "digits", "steps_per_row": 4, "levels": 4}
    wide = load_split({"kind": "digits", "steps_per_row": 2, "levels": 8}, "test")
    assert wide.inputs.shape == (359, 16, 64)
    info = dataset_info(source, load_split(source, "test"))
    assert info.name == "digits" and info.time_steps == 32 and info.input_dim == 32
    assert info.source == source and "thermometer" in info.encoding
    with pytest.raises(DataError, match="no split 'valid'"):
        load_split(source, "valid")


def test_data_package_loads_without_torch():
    """Export/hardware commands load test sets through s5rf_neuro.data: it must not pull in torch."""
    code = ("import sys; import s5rf_neuro.data, s5rf_neuro.data.augment, s5rf_neuro.data.spoken_digits; "
            "s5rf_neuro.data.load_split({'kind': 'digits'}, 'test'); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
