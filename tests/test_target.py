"""TargetSpec's resource checks: the one place the builder, the quantiser and the mapping ask."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from s5rf_neuro.errors import TargetError
from s5rf_neuro.hardware.target import LOIHI2


def test_weights_within_the_mantissa_and_exponent_ranges_pass():
    LOIHI2.check_weights("layer 0", np.array([[-128, 127], [0, 5]]), -8, "real")
    LOIHI2.check_weights("readout", np.zeros((0, 3), dtype=np.int64), 7)


@pytest.mark.parametrize(
    "mantissas, exponent, message",
    [
        (np.array([[-129, 3]]), 0, r"layer 2: real weight mantissas span \[-129, 3\], beyond the 8-bit range \[-128, 127\]"),
        (np.array([[128]]), 0, r"layer 2: real weight mantissas span \[128, 128\]"),
        (np.array([[1]]), 8, r"layer 2: real weight exponent 8 outside the limit \[-8, 7\] of target loihi2"),
        (np.array([[1]]), -9, r"layer 2: real weight exponent -9 outside"),
    ],
)
def test_weights_beyond_the_target_are_refused(mantissas, exponent, message):
    with pytest.raises(TargetError, match=message):
        LOIHI2.check_weights("layer 2", mantissas, exponent, "real")


def test_narrower_mantissas_narrow_the_range():
    four = LOIHI2.with_weight_bits(4)
    four.check_weights("readout", np.array([[-8, 7]]), 0)
    with pytest.raises(TargetError, match=r"readout: weight mantissas span \[-9, 7\], beyond the 4-bit range \[-8, 7\]"):
        four.check_weights("readout", np.array([[-9, 7]]), 0)


def test_graded_peaks_follow_the_skip_path():
    assert LOIHI2.graded_peaks(3, [False, True, True, False]) == [3, 1, 2, 3, 1]
    assert LOIHI2.graded_peaks(2, [True, True]) == [2, 3, 4]
    assert LOIHI2.graded_peaks(1.0, []) == [1.0]


def test_graded_spikes_beyond_the_payload_are_refused_naming_where():
    narrow = dataclasses.replace(LOIHI2, spike_payload_bits=2)
    assert narrow.payload_max == 3
    assert narrow.graded_peaks(1, [True, True]) == [1, 2, 3]
    with pytest.raises(TargetError, match=r"layer 2: its output can reach 4, more than the 2-bit spike payload \(3\)"):
        narrow.graded_peaks(1, [True, True, True])
    with pytest.raises(TargetError, match=r"the input can reach 4, more than the 2-bit spike payload"):
        narrow.graded_peaks(4, [False])
