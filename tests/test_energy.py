"""Energy profiles: loading, bad files, and the arithmetic of the estimate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import s5rf_neuro.hardware as hardware

from s5rf_neuro.hardware.counters import count_operations
from s5rf_neuro.hardware.energy import (
    LOIHI2_NOTE,
    EnergyProfileError,
    available_profiles,
    estimate_energy,
    load_profile,
)
from s5rf_neuro.hardware.network import FloatLayer, FloatNetwork, FloatReadout


def test_shipped_profiles_hold_the_published_figures() -> None:
    assert {"loihi1", "horowitz45nm"} <= set(available_profiles())
    loihi = load_profile("loihi1")
    assert loihi.kind == "neuromorphic"
    assert loihi.pj("synaptic_op_pj") == 23.6
    assert loihi.pj("neuron_update_active_pj") == 81.0
    assert loihi.pj("neuron_update_inactive_pj") == 52.0
    assert "Davies" in loihi.figures["synaptic_op_pj"].source
    horowitz = load_profile("horowitz45nm")
    assert horowitz.kind == "arithmetic"
    assert (horowitz.pj("fp32_mul_pj"), horowitz.pj("fp32_add_pj")) == (3.7, 0.9)
    assert (horowitz.pj("int8_mul_pj"), horowitz.pj("int8_add_pj")) == (0.2, 0.03)
    assert all("Horowitz" in figure.source for figure in horowitz.figures.values())


def load_profile_raw(name: str) -> dict:
    """The shipped profile `name` as a plain dict, to be spoiled by a test."""
    return json.loads((Path(hardware.__file__).parent / "profiles" / f"{name}.json").read_text())


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_profile_loads_from_a_path(tmp_path: Path) -> None:
    data = load_profile_raw("loihi1")
    data["figures"]["synaptic_op_pj"]["value"] = 10
    assert load_profile(write(tmp_path, data)).pj("synaptic_op_pj") == 10.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["figures"].pop("neuron_update_active_pj"), "'neuron_update_active_pj' is missing"),
        (lambda d: d["figures"]["synaptic_op_pj"].update(value=-1.0), "'synaptic_op_pj' is negative"),
        (lambda d: d["figures"]["synaptic_op_pj"].update(value="many"), "'synaptic_op_pj' is not a finite number"),
        (lambda d: d["figures"]["synaptic_op_pj"].pop("value"), "'synaptic_op_pj' has no value"),
        (lambda d: d["figures"]["synaptic_op_pj"].update(source=""), "'synaptic_op_pj' has no source"),
        (lambda d: d.update(kind="magic"), "'kind'"),
        (lambda d: d.pop("figures"), "'figures' is missing"),
    ],
)
def test_bad_profile_names_the_field(tmp_path: Path, change, message: str) -> None:
    data = load_profile_raw("loihi1")
    change(data)
    path = write(tmp_path, data)
    with pytest.raises(EnergyProfileError, match=message) as info:
        load_profile(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_unreadable_profiles(tmp_path: Path) -> None:
    with pytest.raises(EnergyProfileError, match="not valid JSON"):
        load_profile(write(tmp_path, "{not json"))
    with pytest.raises(EnergyProfileError, match="cannot be read"):
        load_profile(tmp_path / "absent.json")
    with pytest.raises(EnergyProfileError, match="known profiles: .*loihi1"):
        load_profile("loihi9")


def test_estimate_arithmetic() -> None:
    # One layer, 2 inputs → 3 neurons (complex), readout 2 outputs, T = 4, two samples.
    layer = FloatLayer(decay=np.full(3, 0.5 + 0.5j), weight=np.ones((3, 2)) * (1 + 1j), threshold=np.ones(3))
    network = FloatNetwork(layers=(layer,), readout=FloatReadout(weight=np.ones((2, 3)), decay=np.full(2, 0.5)))
    inputs = np.zeros((2, 4, 2), dtype=np.uint8)
    inputs[0, 0] = [1, 1]  # 2 events
    inputs[1, :, 0] = 1  # 4 events
    spikes = np.zeros((2, 4, 3), dtype=bool)
    spikes[0, 1, :] = True  # 3 spikes
    spikes[1, 2, 0] = True  # 1 spike
    counts = count_operations(network, [spikes], inputs)
    # synops: layer 2·6 = 12 and 4·6 = 24; readout 3·2 = 6 and 1·2 = 2 → mean (18 + 26)/2 = 22.
    # neuron updates: 3·4 + 2·4 = 20; dense MACs: (3·2·2 + 4·3)·4 + (2·3 + 2)·4 = 96 + 32 = 128.
    estimate = estimate_energy(counts)
    assert estimate.neuromorphic_pj == pytest.approx(22 * 23.6 + 20 * 81.0)
    assert estimate.float_pj == pytest.approx(128 * (3.7 + 0.9))
    assert estimate.int8_pj == pytest.approx(128 * (0.2 + 0.03))
    assert estimate.ratio == pytest.approx(128 * 4.6 / (22 * 23.6 + 20 * 81.0))
    assert sum(row.energy_pj for row in estimate.rows) == pytest.approx(
        estimate.neuromorphic_pj + estimate.float_pj + estimate.int8_pj
    )
    assert LOIHI2_NOTE in estimate.notes
    assert "Loihi 2 has been published" in LOIHI2_NOTE
    assert json.dumps(estimate.to_dict())


def test_profiles_of_the_wrong_kind_are_refused() -> None:
    layer = FloatLayer(decay=np.full(1, 0.5 + 0j), weight=np.ones((1, 1)) + 0j, threshold=np.ones(1))
    network = FloatNetwork(layers=(layer,), readout=FloatReadout(weight=np.ones((1, 1)), decay=np.full(1, 0.5)))
    counts = count_operations(network, [np.zeros((1, 2, 1), bool)], np.zeros((1, 2, 1)))
    with pytest.raises(EnergyProfileError, match="expected 'neuromorphic'"):
        estimate_energy(counts, neuromorphic="horowitz45nm")
