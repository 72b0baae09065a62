"""Energy profiles: loading, bad files, and the arithmetic of the estimate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import s5rf_neuro.hardware as hardware
import s5rf_neuro.hardware.energy as energy

from s5rf_neuro.hardware.counters import count_operations
from s5rf_neuro.errors import EnergyProfileError
from s5rf_neuro.hardware.energy import (
    LOIHI2_NOTE,
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
    assert [horowitz.pj(f"sram_{size}_read64_pj") for size in ("8kb", "32kb", "1mb")] == [10.0, 20.0, 100.0]
    assert horowitz.pj("dram_read64_pj") == 1300.0
    sanafe = load_profile("sanafe_loihi")
    assert sanafe.kind == "neuromorphic"
    assert [sanafe.pj(f) for f in ("synaptic_op_pj", "neuron_update_inactive_pj", "neuron_update_active_pj",
                                   "neuron_update_spiking_pj", "spike_message_pj")] == [35.5, 51.2, 72.8, 69.3, 76.8]
    assert all("arch/loihi.yaml" in f.source and "TCAD" in f.source for f in sanafe.figures.values())
    for name in available_profiles():
        assert "Loihi 2" in load_profile(name).description or load_profile(name).kind == "arithmetic"


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
        (lambda d: d["figures"].update(hop_pj={"value": 3.0, "source": "x"}), "'hop_pj' is not used"),
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


def hand_network():
    """One layer, 2 inputs → 3 neurons (complex weights), readout 2 outputs, T = 4, two samples."""
    layer = FloatLayer(decay=np.full(3, 0.5 + 0.5j), weight=np.ones((3, 2)) * (1 + 1j), threshold=np.ones(3))
    network = FloatNetwork(layers=(layer,), readout=FloatReadout(weight=np.ones((2, 3)), decay=np.full(2, 0.5)))
    inputs = np.zeros((2, 4, 2), dtype=np.uint8)
    inputs[0, 0] = [1, 1]  # 2 events at t = 0
    inputs[1, :, 0] = 1  # 4 events, from t = 0
    spikes = np.zeros((2, 4, 3), dtype=bool)
    spikes[0, 1, :] = True  # 3 spikes at t = 1
    spikes[1, 2, 0] = True  # 1 spike at t = 2
    return count_operations(network, [spikes], inputs)


# Per sample (mean of the two): synops: layer 2·6 = 12 and 4·6 = 24, readout 3·2 = 6 and 1·2 = 2 → 22.
# Neuron updates 3·4 + 2·4 = 20. Active: the layer's neurons from t = 0 (12 each); the readout from the
# first spike on: 2·3 = 6 and 2·2 = 4 → 17 active, 3 inactive. Spikes: 2. Messages out of layer 0: 2.
SYNOPS, ACTIVE, INACTIVE, SPIKES = 22, 17, 3, 2
# Dense: MACs (3·2·2 + 4·3)·4 + (2·3 + 2)·4 = 128; weight reads (12 + 3·3)·4 + (6 + 2)·4 = 116;
# input reads 2·4 + 3·4 = 20; state accesses 4·3·4 + 2·2·4 = 64. Everything fits the 8 KB SRAM: 10 pJ / 8 B.
MACS, WEIGHTS, INPUTS, STATES = 128, 116, 20, 64


def test_counts_of_the_hand_network() -> None:
    counts = hand_network()
    assert counts.layers[0].active_updates.tolist() == [12, 12]
    assert counts.layers[1].active_updates.tolist() == [6, 4]
    assert counts.layers[0].output_events.tolist() == [3, 1]
    for field, value in (("dense_macs", MACS), ("dense_weight_reads", WEIGHTS), ("dense_input_reads", INPUTS),
                         ("dense_state_accesses", STATES)):
        assert float(np.mean(counts.total(field))) == value, field


def test_estimate_under_each_profile() -> None:
    counts = hand_network()
    loihi = estimate_energy(counts, "loihi1")
    assert loihi.neuromorphic_pj == pytest.approx(SYNOPS * 23.6 + INACTIVE * 52.0 + ACTIVE * 81.0)
    sanafe = estimate_energy(counts, "sanafe_loihi")
    expected = SYNOPS * 35.5 + INACTIVE * 51.2 + (ACTIVE - SPIKES) * 72.8 + SPIKES * 69.3
    assert sanafe.neuromorphic_pj == pytest.approx(expected + SPIKES * 76.8)
    # A receiving layer on three cores gets each message three times.
    spread = estimate_energy(counts, "sanafe_loihi", destination_cores=[3])
    assert spread.neuromorphic_pj == pytest.approx(expected + 3 * SPIKES * 76.8)
    for estimate in (loihi, sanafe):
        assert LOIHI2_NOTE in estimate.notes and "Loihi 2 has been published" in LOIHI2_NOTE
        assert any(estimate.profile in note for note in estimate.notes)
        assert json.dumps(estimate.to_dict())
    assert any("no energy per spike message" in note for note in loihi.notes)


def test_memory_inclusive_dense_baselines() -> None:
    estimate = estimate_energy(hand_network())
    assert estimate.float_arithmetic_pj == pytest.approx(MACS * (3.7 + 0.9))
    assert estimate.int8_arithmetic_pj == pytest.approx(MACS * (0.2 + 0.03))
    per_byte = 10.0 / 8  # 8 KB SRAM, 64-bit read
    assert estimate.float_pj == pytest.approx(MACS * 4.6 + (WEIGHTS + INPUTS + STATES) * 4 * per_byte)
    # int8: 1-byte weights and inputs, 4-byte (32-bit) states.
    assert estimate.int8_pj == pytest.approx(MACS * 0.23 + (WEIGHTS + INPUTS) * per_byte + STATES * 4 * per_byte)
    assert estimate.ratio == pytest.approx(estimate.float_pj / estimate.neuromorphic_pj)
    assert sum(row.energy_pj for row in estimate.rows) == pytest.approx(
        estimate.neuromorphic_pj + estimate.float_pj + estimate.int8_pj
    )


@pytest.mark.parametrize(("footprint", "memory"), [(8192, "8 KB SRAM"), (8193, "32 KB SRAM"),
                                                   (1024 * 1024, "1 MB SRAM"), (1024 * 1024 + 1, "DRAM")])
def test_the_smallest_memory_that_holds_the_data_is_charged(footprint: int, memory: str) -> None:
    assert energy._memory(load_profile("horowitz45nm"), footprint)[0] == memory


def test_neurobench_metrics_of_the_hand_network() -> None:
    metrics = hand_network().neurobench()
    assert metrics.activation_sparsity == pytest.approx(1 - SPIKES / 12)
    # Binary inputs everywhere: accumulates. Layer: events × 6 non-zero weights per input (3 real, 3 imaginary):
    # 12 and 24; readout: events × 2: 6 and 2 → 22. Recurrence: 4 MACs per active update of the layer (12).
    assert metrics.effective_acs == pytest.approx(22)
    assert metrics.effective_macs == pytest.approx(4 * 12)
    # Dense: 3·2·2·4 + 2·3·4 + 4·3·4 = 48 + 24 + 48.
    assert metrics.dense == 120


def test_profiles_of_the_wrong_kind_are_refused() -> None:
    layer = FloatLayer(decay=np.full(1, 0.5 + 0j), weight=np.ones((1, 1)) + 0j, threshold=np.ones(1))
    network = FloatNetwork(layers=(layer,), readout=FloatReadout(weight=np.ones((1, 1)), decay=np.full(1, 0.5)))
    counts = count_operations(network, [np.zeros((1, 2, 1), bool)], np.zeros((1, 2, 1)))
    with pytest.raises(EnergyProfileError, match="expected 'neuromorphic'"):
        estimate_energy(counts, neuromorphic="horowitz45nm")
