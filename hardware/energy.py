"""Energy estimates per inference from named, cited energy profiles (DESIGN §8).

A profile is a small JSON file (`hardware/profiles/<name>.json`):

    {"name": "...", "kind": "neuromorphic" | "arithmetic", "description": "...",
     "figures": {"<field>": {"value": <pJ per operation>, "source": "<citation>"}, ...}}

A `neuromorphic` profile needs `synaptic_op_pj`, `neuron_update_active_pj` and
`neuron_update_inactive_pj`; an `arithmetic` profile needs `fp32_mul_pj`,
`fp32_add_pj`, `int8_mul_pj` and `int8_add_pj`. Every figure is a finite,
non-negative number of picojoules with a non-empty source.

The estimate (all energies in pJ per inference, i.e. per sample):

- neuromorphic = synaptic operations × synaptic_op_pj
                 + neuron updates × neuron_update_active_pj.
  Every update is charged at the *active* figure: an S5-RF neuron's state
  keeps rotating after its input stops, so it is never idle.
- float baseline = dense real MACs × (fp32_mul_pj + fp32_add_pj), the same
  network run densely as a conventional float model (see `counters`);
  int8 baseline likewise with the 8-bit integer figures.
- ratio = float baseline / neuromorphic.

No per-operation energy for Loihi 2 has been published; the neuromorphic
estimate uses the published Loihi (1) figures (`LOIHI2_NOTE`). The 45 nm
figures cover the arithmetic only, not memory access, which favours the
dense baseline.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from s5rf_neuro.errors import S5RFError
from s5rf_neuro.hardware.counters import OperationCounts

LOIHI2_NOTE = (
    "No per-operation energy for Loihi 2 has been published; the neuromorphic "
    "estimate uses the published Loihi (1) figures."
)
ARITHMETIC_NOTE = (
    "The 45 nm figures are the arithmetic alone (no memory access), which favours the dense baselines."
)

REQUIRED_FIGURES: dict[str, tuple[str, ...]] = {
    "neuromorphic": ("synaptic_op_pj", "neuron_update_active_pj", "neuron_update_inactive_pj"),
    "arithmetic": ("fp32_mul_pj", "fp32_add_pj", "int8_mul_pj", "int8_add_pj"),
}


class EnergyProfileError(S5RFError, ValueError):
    """An energy profile that cannot be used; the message names the file and the field."""


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
    label, text = _profile_text(name_or_path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise EnergyProfileError(f"energy profile {label}: not valid JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(data, dict):
        raise EnergyProfileError(f"energy profile {label}: expected a JSON object")
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
    """Energy per inference (pJ, mean over the counted samples) and its breakdown."""

    rows: tuple[EnergyRow, ...]
    neuromorphic_pj: float
    float_pj: float
    int8_pj: float
    notes: tuple[str, ...]

    @property
    def ratio(self) -> float:
        """Float baseline energy / neuromorphic energy (inf when the latter is zero)."""
        return self.float_pj / self.neuromorphic_pj if self.neuromorphic_pj > 0 else math.inf

    @property
    def int8_ratio(self) -> float:
        """Dense int8 energy / neuromorphic energy (inf when the latter is zero)."""
        return self.int8_pj / self.neuromorphic_pj if self.neuromorphic_pj > 0 else math.inf

    def to_dict(self) -> dict[str, object]:
        """JSON-able form."""
        return {
            "neuromorphic_pj": self.neuromorphic_pj,
            "float_pj": self.float_pj,
            "int8_pj": self.int8_pj,
            "ratio_float_to_neuromorphic": self.ratio,
            "ratio_int8_to_neuromorphic": self.int8_ratio,
            "rows": [row.__dict__ for row in self.rows],
            "notes": list(self.notes),
        }


def _row(system: str, operation: str, count: float, profile: EnergyProfile, field: str) -> EnergyRow:
    figure = profile.figures[field]
    return EnergyRow(system, operation, count, figure.value_pj, count * figure.value_pj, figure.source)


def _require(profile: EnergyProfile, kind: str) -> None:
    if profile.kind != kind:
        raise EnergyProfileError(f"energy profile {profile.name} is of kind {profile.kind!r}, expected {kind!r}")


def estimate_energy(
    counts: OperationCounts,
    neuromorphic: EnergyProfile | str = "loihi1",
    arithmetic: EnergyProfile | str = "horowitz45nm",
) -> EnergyEstimate:
    """Energy per inference of `counts` on the neuromorphic profile and the dense float/int8 baselines."""
    neuro = load_profile(neuromorphic) if isinstance(neuromorphic, (str, Path)) else neuromorphic
    arith = load_profile(arithmetic) if isinstance(arithmetic, (str, Path)) else arithmetic
    _require(neuro, "neuromorphic")
    _require(arith, "arithmetic")
    synops = float(np.mean(counts.total("synaptic_ops")))
    updates = float(np.mean(counts.total("neuron_updates")))
    macs = float(np.mean(counts.total("dense_macs")))
    system = f"neuromorphic ({neuro.name})"
    rows = (
        _row(system, "synaptic operation", synops, neuro, "synaptic_op_pj"),
        _row(system, "neuron update (active)", updates, neuro, "neuron_update_active_pj"),
        _row(f"dense fp32 ({arith.name})", "multiply", macs, arith, "fp32_mul_pj"),
        _row(f"dense fp32 ({arith.name})", "add", macs, arith, "fp32_add_pj"),
        _row(f"dense int8 ({arith.name})", "multiply", macs, arith, "int8_mul_pj"),
        _row(f"dense int8 ({arith.name})", "add", macs, arith, "int8_add_pj"),
    )
    return EnergyEstimate(
        rows=rows,
        neuromorphic_pj=rows[0].energy_pj + rows[1].energy_pj,
        float_pj=rows[2].energy_pj + rows[3].energy_pj,
        int8_pj=rows[4].energy_pj + rows[5].energy_pj,
        notes=(LOIHI2_NOTE, ARITHMETIC_NOTE),
    )
