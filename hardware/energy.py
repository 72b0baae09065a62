"""Energy estimates per inference from named, cited energy profiles.

A profile is a small JSON file (`hardware/profiles/<name>.json`):

    {"name": "...", "kind": "neuromorphic" | "arithmetic", "description": "...",
     "figures": {"<field>": {"value": <pJ per operation>, "source": "<citation>"}, ...}}

Every figure is a finite, non-negative number of picojoules with a non-empty
source, and every figure is used by the estimate (an unknown one is refused).

- `neuromorphic` needs `synaptic_op_pj`, `neuron_update_active_pj` and
  `neuron_update_inactive_pj`; it may give `neuron_update_spiking_pj` (an
  update that emits a spike) and `spike_message_pj` (a spike sent out of a
  core). The estimate: synaptic operations × synaptic_op_pj + inactive
  updates × inactive + active updates × active (spiking updates × spiking
  instead where given) + spike messages × spike_message_pj where given. An
  update is inactive while the neuron's state and input are both zero (see
  `counters`). A spike message is one output event of a layer per core of
  the receiving layer (`destination_cores`, one each when not given), and
  each graded state message of a mixing stage is one message to the core
  of its threshold neurons (a block's stage sits on one core); the
  data's input events come from off the chip and are not charged; mesh
  hops are not charged (placement is not modelled).
- `arithmetic` needs the 45 nm operation energies `fp32_mul_pj`,
  `fp32_add_pj`, `int8_mul_pj`, `int8_add_pj` and the 64-bit read energies
  `sram_8kb_read64_pj`, `sram_32kb_read64_pj`, `sram_1mb_read64_pj`,
  `dram_read64_pj`. A dense baseline = dense MACs × (mul + add) + its memory
  traffic (`counters`): weights, inputs and states, each byte charged 1/8 of
  the 64-bit read energy of the smallest memory of the profile that holds
  that kind of data (weights; inputs and states together), writes charged
  like reads. fp32: every value 4 bytes; int8: weights and inputs 1 byte,
  states 4 bytes (32-bit accumulators). The arithmetic alone is reported too.
- ratio = dense baseline / neuromorphic.

No per-operation energy for Loihi 2 has been published (`LOIHI2_NOTE`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np

from s5rf_neuro.errors import EnergyProfileError, S5RFError
from s5rf_neuro.records import parse_json_object
from s5rf_neuro.hardware.counters import OperationCounts

LOIHI2_NOTE = (
    "No per-operation energy for Loihi 2 has been published; the neuromorphic "
    "estimates use figures measured on, or fitted to, Loihi (1)."
)
MEMORY_NOTE = (
    "The dense baselines include reading every weight and input and reading and writing every state once per "
    "time step from the smallest SRAM (or DRAM) of the 45 nm figures that holds them; the arithmetic alone is "
    "shown separately and flatters the dense side."
)

REQUIRED_FIGURES: dict[str, tuple[str, ...]] = {
    "neuromorphic": ("synaptic_op_pj", "neuron_update_active_pj", "neuron_update_inactive_pj"),
    "arithmetic": ("fp32_mul_pj", "fp32_add_pj", "int8_mul_pj", "int8_add_pj", "sram_8kb_read64_pj",
                   "sram_32kb_read64_pj", "sram_1mb_read64_pj", "dram_read64_pj"),
}
OPTIONAL_FIGURES: dict[str, tuple[str, ...]] = {
    "neuromorphic": ("neuron_update_spiking_pj", "spike_message_pj"),
    "arithmetic": (),
}
MEMORIES = (("8 KB SRAM", 8 * 1024, "sram_8kb_read64_pj"), ("32 KB SRAM", 32 * 1024, "sram_32kb_read64_pj"),
            ("1 MB SRAM", 1024 * 1024, "sram_1mb_read64_pj"), ("DRAM", None, "dram_read64_pj"))
"""(label, capacity in bytes or None for unbounded, figure) from the smallest up."""
DENSE_BYTES = {"fp32": {"weight": 4, "input": 4, "state": 4}, "int8": {"weight": 1, "input": 1, "state": 4}}
"""Bytes per weight, input value and state value of each dense baseline."""


@dataclass(frozen=True)
class Figure:
    """One per-operation energy: `value_pj` picojoules, cited by `source`."""

    value_pj: float
    source: str


@dataclass(frozen=True)
class EnergyProfile:
    """A named set of per-operation energies of one kind ("neuromorphic" or "arithmetic")."""

    name: str
    kind: str
    description: str
    figures: dict[str, Figure]

    def pj(self, field: str) -> float:
        """The figure `field` in pJ."""
        return self.figures[field].value_pj

    def has(self, field: str) -> bool:
        """Whether the profile gives the (optional) figure `field`."""
        return field in self.figures


def available_profiles() -> list[str]:
    """Names of the profiles shipped with the package."""
    folder = resources.files("s5rf_neuro.hardware") / "profiles"
    return sorted(entry.name[: -len(".json")] for entry in folder.iterdir() if entry.name.endswith(".json"))


def _profile_text(name_or_path: str | Path) -> tuple[str, str]:
    """(label for messages, JSON text) of a shipped profile name or a file path."""
    path = Path(name_or_path)
    if path.suffix == ".json" or path.exists():
        try:
            return str(path), path.read_text(encoding="utf-8")
        except OSError as err:
            raise EnergyProfileError(f"energy profile {path}: cannot be read ({err.strerror or err})") from None
    if str(name_or_path) not in available_profiles():
        raise EnergyProfileError(
            f"unknown energy profile {str(name_or_path)!r}; known profiles: {', '.join(available_profiles())}"
        )
    entry = resources.files("s5rf_neuro.hardware") / "profiles" / f"{name_or_path}.json"
    return f"{name_or_path}.json", entry.read_text(encoding="utf-8")


def _figure(label: str, field: str, raw: object) -> Figure:
    """Validate one figure entry of the profile `label`."""
    where = f"energy profile {label}: figure '{field}'"
    if not isinstance(raw, dict) or "value" not in raw:
        raise EnergyProfileError(f"{where} has no value")
    value = raw["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise EnergyProfileError(f"{where} is not a finite number ({value!r})")
    if value < 0:
        raise EnergyProfileError(f"{where} is negative ({value})")
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise EnergyProfileError(f"{where} has no source")
    return Figure(value_pj=float(value), source=source)


def load_profile(name_or_path: str | Path) -> EnergyProfile:
    """Load a shipped profile by name ("loihi1", "horowitz45nm") or a profile file by path.

    Raises `EnergyProfileError` naming the file and the field for a missing,
    negative, non-numeric or unsourced figure, an unknown kind or broken JSON.
    """
    try:
        label, text = _profile_text(name_or_path)
    except UnicodeDecodeError as err:
        raise EnergyProfileError(f"energy profile {name_or_path}: not UTF-8 text (byte {err.start})") from None
    data = parse_json_object(text, f"energy profile {label}", EnergyProfileError)
    kind = data.get("kind")
    if kind not in REQUIRED_FIGURES:
        raise EnergyProfileError(
            f"energy profile {label}: field 'kind' is {kind!r}, expected one of {', '.join(REQUIRED_FIGURES)}"
        )
    raw_figures = data.get("figures")
    if not isinstance(raw_figures, dict):
        raise EnergyProfileError(f"energy profile {label}: field 'figures' is missing")
    figures = {}
    for field in REQUIRED_FIGURES[kind]:
        if field not in raw_figures:
            raise EnergyProfileError(f"energy profile {label}: figure '{field}' is missing")
        figures[field] = _figure(label, field, raw_figures[field])
    for field in raw_figures:
        if field in OPTIONAL_FIGURES[kind]:
            figures[field] = _figure(label, field, raw_figures[field])
        elif field not in figures:
            known = ", ".join(REQUIRED_FIGURES[kind] + OPTIONAL_FIGURES[kind])
            raise EnergyProfileError(f"energy profile {label}: figure '{field}' is not used by a {kind} estimate "
                                     f"(known: {known})")
    return EnergyProfile(
        name=str(data.get("name") or Path(label).stem),
        kind=kind,
        description=str(data.get("description", "")),
        figures=figures,
    )


@dataclass(frozen=True)
class EnergyRow:
    """One line of the energy table: `operations` per inference × `pj_per_op` = `energy_pj`."""

    system: str
    operation: str
    operations: float
    pj_per_op: float
    energy_pj: float
    source: str


@dataclass(frozen=True)
class EnergyEstimate:
    """Energy per inference (pJ, mean over the counted samples) and its breakdown.

    neuromorphic_pj: under `profile`; float_pj / int8_pj: the dense baselines with
    their memory traffic; *_arithmetic_pj: the same baselines' arithmetic alone.
    """

    profile: str
    baseline_profile: str
    rows: tuple[EnergyRow, ...]
    neuromorphic_pj: float
    float_pj: float
    int8_pj: float
    float_arithmetic_pj: float
    int8_arithmetic_pj: float
    notes: tuple[str, ...]

    @property
    def ratio(self) -> float:
        """Dense float32 energy (memory included) / neuromorphic energy (inf when the latter is zero)."""
        return self.float_pj / self.neuromorphic_pj if self.neuromorphic_pj > 0 else math.inf

    @property
    def int8_ratio(self) -> float:
        """Dense int8 energy (memory included) / neuromorphic energy (inf when the latter is zero)."""
        return self.int8_pj / self.neuromorphic_pj if self.neuromorphic_pj > 0 else math.inf

    def to_dict(self) -> dict[str, object]:
        """JSON-able form."""
        return {
            "profile": self.profile,
            "baseline_profile": self.baseline_profile,
            "neuromorphic_pj": self.neuromorphic_pj,
            "float_pj": self.float_pj,
            "int8_pj": self.int8_pj,
            "float_arithmetic_pj": self.float_arithmetic_pj,
            "int8_arithmetic_pj": self.int8_arithmetic_pj,
            "ratio_float_to_neuromorphic": self.ratio,
            "ratio_int8_to_neuromorphic": self.int8_ratio,
            "rows": [row.__dict__ for row in self.rows],
            "notes": list(self.notes),
        }


def _row(system: str, operation: str, count: float, profile: EnergyProfile, field: str, share: float = 1.0) -> EnergyRow:
    figure = profile.figures[field]
    pj = figure.value_pj * share
    return EnergyRow(system, operation, count, pj, count * pj, figure.source)


def _require(profile: EnergyProfile, kind: str) -> None:
    if profile.kind != kind:
        raise EnergyProfileError(f"energy profile {profile.name} is of kind {profile.kind!r}, expected {kind!r}")


def _mean(counts: OperationCounts, field: str) -> float:
    return float(np.mean(counts.total(field)))


def neuromorphic_rows(counts: OperationCounts, profile: EnergyProfile,
                      destination_cores: Sequence[int] | None = None) -> list[EnergyRow]:
    """The neuromorphic estimate's rows (see the module doc)."""
    system = f"neuromorphic ({profile.name})"
    spikes = _mean(counts, "spikes")
    active = _mean(counts, "active_updates")
    inactive = _mean(counts, "neuron_updates") - active
    rows = [
        _row(system, "synaptic operation", _mean(counts, "synaptic_ops"), profile, "synaptic_op_pj"),
        _row(system, "neuron update (inactive)", inactive, profile, "neuron_update_inactive_pj"),
    ]
    if profile.has("neuron_update_spiking_pj"):
        rows.append(_row(system, "neuron update (active, no spike)", active - spikes, profile, "neuron_update_active_pj"))
        rows.append(_row(system, "neuron update (spiking)", spikes, profile, "neuron_update_spiking_pj"))
    else:
        rows.append(_row(system, "neuron update (active)", active, profile, "neuron_update_active_pj"))
    if profile.has("spike_message_pj"):
        spiking = counts.layers[:-1]
        cores = list(destination_cores) if destination_cores is not None else [1] * len(spiking)
        if len(cores) != len(spiking):
            raise S5RFError(f"destination_cores has {len(cores)} entries for {len(spiking)} layers")
        messages = sum(float(np.mean(layer.output_events)) * k + layer.state_messages for layer, k in zip(spiking, cores))
        rows.append(_row(system, "spike message out of a core", messages, profile, "spike_message_pj"))
    return rows


def _memory(profile: EnergyProfile, footprint_bytes: float) -> tuple[str, str]:
    """(label, figure) of the smallest memory of `profile` that holds `footprint_bytes`."""
    for label, capacity, field in MEMORIES:
        if capacity is None or footprint_bytes <= capacity:
            return label, field
    raise AssertionError("unreachable: DRAM is unbounded")


def dense_rows(counts: OperationCounts, profile: EnergyProfile, kind: str) -> tuple[list[EnergyRow], list[EnergyRow]]:
    """(arithmetic rows, memory rows) of the dense `kind` ("fp32" or "int8") baseline."""
    system = f"dense {kind} ({profile.name})"
    macs = _mean(counts, "dense_macs")
    arithmetic = [_row(system, "multiply", macs, profile, f"{kind}_mul_pj"),
                  _row(system, "add", macs, profile, f"{kind}_add_pj")]
    size = DENSE_BYTES[kind]
    steps = counts.layers[0].time_steps
    weights = _mean(counts, "dense_weight_reads")
    inputs = _mean(counts, "dense_input_reads")
    states = _mean(counts, "dense_state_accesses")
    weight_memory = _memory(profile, weights / steps * size["weight"])
    # Stored per step: every input value and the state values (half of the reads-and-writes).
    data_memory = _memory(profile, (inputs * size["input"] + states / 2 * size["state"]) / steps)
    memory = [
        _row(system, f"weight read ({size['weight']} B, {weight_memory[0]})", weights, profile, weight_memory[1],
             size["weight"] / 8),
        _row(system, f"input read ({size['input']} B, {data_memory[0]})", inputs, profile, data_memory[1],
             size["input"] / 8),
        _row(system, f"state read/write ({size['state']} B, {data_memory[0]})", states, profile, data_memory[1],
             size["state"] / 8),
    ]
    return arithmetic, memory


def _profile(value: EnergyProfile | str | Path) -> EnergyProfile:
    return load_profile(value) if isinstance(value, (str, Path)) else value


def estimate_energy(
    counts: OperationCounts,
    neuromorphic: EnergyProfile | str = "loihi1",
    arithmetic: EnergyProfile | str = "horowitz45nm",
    destination_cores: Sequence[int] | None = None,
) -> EnergyEstimate:
    """Energy per inference of `counts` under the neuromorphic profile and of the dense fp32/int8 baselines.

    destination_cores: per spiking layer, the cores of the layer (or readout)
    its output events go to, each receiving one message per event (default 1).
    """
    neuro, arith = _profile(neuromorphic), _profile(arithmetic)
    _require(neuro, "neuromorphic")
    _require(arith, "arithmetic")
    neuro_rows = neuromorphic_rows(counts, neuro, destination_cores)
    float_arith, float_memory = dense_rows(counts, arith, "fp32")
    int8_arith, int8_memory = dense_rows(counts, arith, "int8")
    total = lambda rows: float(sum(row.energy_pj for row in rows))  # noqa: E731
    notes = [LOIHI2_NOTE, f"Neuromorphic figures: profile {neuro.name} ({neuro.description})", MEMORY_NOTE]
    if not neuro.has("spike_message_pj"):
        notes.append(f"Profile {neuro.name} gives no energy per spike message, so messages are not charged.")
    return EnergyEstimate(
        profile=neuro.name,
        baseline_profile=arith.name,
        rows=tuple(neuro_rows + float_arith + float_memory + int8_arith + int8_memory),
        neuromorphic_pj=total(neuro_rows),
        float_pj=total(float_arith + float_memory),
        int8_pj=total(int8_arith + int8_memory),
        float_arithmetic_pj=total(float_arith),
        int8_arithmetic_pj=total(int8_arith),
        notes=tuple(notes),
    )
