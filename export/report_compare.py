"""The report that compares several models: accuracy against synaptic operations and against energy.

`write_comparison(paths, out_dir, ...)` takes checkpoints and/or `.nir`
exports of one data set, runs each on the same test samples (float discrete
network and integer network in the golden simulator), counts the operations
of the integer run and estimates its energy under each neuromorphic profile
and the dense baselines, and writes to `out_dir`:

- `report.md`, `report.html`, `report.json` (one entry per model),
- `figures/tradeoff.png`: accuracy against synaptic operations per inference
  and against energy per inference, one point per model (and profile), the
  dense baselines (MACs; fp32 and int8 energy with memory) marked.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from s5rf_neuro.atomic import write_text_atomic
from s5rf_neuro.export import report_plots
from s5rf_neuro.errors import ReportError
from s5rf_neuro.export.report import (
    Subject,
    destination_cores,
    load_subject,
    load_test_data,
    map_cores,
    prepare_output_dir,
)
from s5rf_neuro.export.report_render import (
    Block,
    Bullets,
    Heading,
    Image,
    Paragraph,
    Table,
    format_energy,
    format_number,
    render_html,
    render_markdown,
)
from s5rf_neuro.hardware.counters import OperationCounts, count_operations
from s5rf_neuro.hardware.energy import LOIHI2_NOTE, MEMORY_NOTE, EnergyEstimate, estimate_energy, load_profile
from s5rf_neuro.hardware.golden import simulate
from s5rf_neuro.hardware.inputs import network_inputs
from s5rf_neuro.hardware.target import TargetSpec


@dataclass
class ModelPoint:
    """One model's figures on the shared test samples.

    float_accuracy: None for an integer-only export; counts: of the integer run;
    energies: one estimate per neuromorphic profile, in the order given.
    """

    name: str
    float_accuracy: float | None
    integer_accuracy: float
    counts: OperationCounts
    energies: list[EnergyEstimate]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (accuracies as fractions, operations and energies per inference)."""
        return {
            "model": self.name,
            "float_accuracy": self.float_accuracy,
            "integer_accuracy": self.integer_accuracy,
            "synops": self.counts.synops_split(),
            "spikes_per_layer": [float(np.mean(layer.spikes)) for layer in self.counts.layers[:-1]],
            "dense_macs": float(np.mean(self.counts.total("dense_macs"))),
            "neurobench": self.counts.neurobench().to_dict(),
            "energy": {e.profile: e.to_dict() for e in self.energies},
        }


def _dataset_key(subject: Subject) -> str:
    """What must agree between compared models: the recorded data source, its directory aside."""
    if subject.data_source is None:
        raise ReportError(f"{subject.name}: no data set is recorded in the file; give one with --data")
    return json.dumps({k: v for k, v in subject.data_source.items() if k != "root"}, sort_keys=True)


def _describe(subject: Subject) -> str:
    source = subject.data_source or {}
    extra = {k: v for k, v in source.items() if k not in ("kind", "root")}
    return f"{source.get('kind')}{' ' + json.dumps(extra, sort_keys=True) if extra else ''}"


def check_same_dataset(subjects: Sequence[Subject]) -> None:
    """ReportError naming the first two models whose data sets differ."""
    first = subjects[0]
    for other in subjects[1:]:
        if _dataset_key(other) != _dataset_key(first):
            raise ReportError(
                f"models {first.name} ({_describe(first)}) and {other.name} ({_describe(other)}) have different "
                "data sets; a comparison needs one data set"
            )


def measure(subject: Subject, inputs: np.ndarray, labels: np.ndarray, profiles: list, baseline: Any,
            progress: bool) -> ModelPoint:
    """Run `subject` on the samples and estimate its energy under every profile."""
    float_accuracy = None
    if subject.float_network is not None:
        float_accuracy = float(np.mean(simulate(subject.float_network, inputs, progress=progress).predictions == labels))
    payloads = network_inputs(subject.int_network, inputs, f"{subject.name}: test data").values
    result = simulate(subject.int_network, payloads, progress=progress)
    counts = count_operations(subject.int_network, result.spikes, payloads)
    cores = destination_cores(map_cores(subject.int_network)[0], len(subject.int_network.layers))
    energies = [estimate_energy(counts, profile, baseline, cores) for profile in profiles]
    return ModelPoint(subject.name, float_accuracy, float(np.mean(result.predictions == labels)), counts, energies)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f} %"


def compose(points: list[ModelPoint], dataset: str, samples: int, target: str, figure: Path,
            out_dir: Path) -> list[Block]:
    """The comparison report's blocks."""
    profiles = [e.profile for e in points[0].energies]
    rows = []
    for point in points:
        split = point.counts.synops_split()
        rows.append(
            (point.name, _percent(point.float_accuracy), _percent(point.integer_accuracy),
             format_number(split["input"], 0), format_number(split["hidden"], 0), format_number(split["readout"], 0),
             format_number(split["total"], 0))
            + tuple(format_energy(e.neuromorphic_pj) for e in point.energies)
            + (f"{point.energies[0].ratio:.3g}", f"{point.energies[0].int8_ratio:.3g}")
        )
    first = points[0].energies[0]
    return [
        Heading("S5-RF comparison", 1),
        Paragraph(
            f"{len(points)} models on the same {samples} test samples of {dataset}; integer networks for {target} "
            f"in the golden simulator. Written {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}."
        ),
        Heading("Accuracy against synaptic operations and energy"),
        Table(
            ("model", "float accuracy", "integer accuracy", "synops input layer", "synops hidden layers",
             "synops readout", "synops total")
            + tuple(f"energy ({name})" for name in profiles)
            + (f"dense fp32 / {profiles[0]}", f"dense int8 / {profiles[0]}"),
            tuple(rows),
        ),
        Table(
            ("dense baseline (of the first model)", "profile", "MACs", "energy / inference"),
            (
                ("fp32, arithmetic + SRAM", first.baseline_profile, format_number(points[0].counts.total("dense_macs").mean(), 0),
                 format_energy(first.float_pj)),
                ("int8, arithmetic + SRAM", first.baseline_profile, "", format_energy(first.int8_pj)),
                ("fp32, arithmetic alone", first.baseline_profile, "", format_energy(first.float_arithmetic_pj)),
                ("int8, arithmetic alone", first.baseline_profile, "", format_energy(first.int8_arithmetic_pj)),
            ),
        ),
        Bullets((
            "Synaptic operations and energies are per inference (one test sample), of the integer network. The input "
            "layer's operations are set by the data; the hidden layers' and the readout's by the spikes.",
            "Energy columns name the profile that produced them. " + LOIHI2_NOTE,
            MEMORY_NOTE,
        )),
        Image(figure.relative_to(out_dir).as_posix(),
              "Accuracy against synaptic operations (left) and energy (right) per inference, one point per model; "
              "dashed lines: the dense baselines."),
    ]


def write_comparison(
    model_paths: Sequence[Path],
    out_dir: Path,
    target: TargetSpec,
    samples: int | None = None,
    neuromorphic_profiles: Sequence[str] = ("loihi1", "sanafe_loihi"),
    arithmetic_profile: str = "horowitz45nm",
    progress: bool = False,
    data_source: dict[str, Any] | None = None,
) -> Path:
    """Compare the models of `model_paths` (two or more) in `out_dir`; returns the path of report.md.

    Raises `ReportError` when the models were trained on different data sets (naming both).
    """
    out_dir = prepare_output_dir(Path(out_dir))
    profiles = [load_profile(name) for name in neuromorphic_profiles]
    baseline = load_profile(arithmetic_profile)
    subjects = [load_subject(Path(path), target) for path in model_paths]
    if data_source is not None:
        for subject in subjects:
            subject.data_source = data_source
    check_same_dataset(subjects)
    inputs, labels, dataset = load_test_data(subjects[0], samples)
    for subject in subjects[1:]:
        if subject.int_network.input_dim != inputs.shape[2]:
            raise ReportError(f"{subject.name}: the network has {subject.int_network.input_dim} inputs but the test "
                              f"data has {inputs.shape[2]} channels")
    points = [measure(subject, inputs, labels, profiles, baseline, progress) for subject in subjects]
    figure = report_plots.tradeoff(
        [p.name for p in points],
        [p.integer_accuracy for p in points],
        [float(p.counts.synops_split()["total"]) for p in points],
        {e.profile: [q.energies[i].neuromorphic_pj for q in points] for i, e in enumerate(points[0].energies)},
        sorted({float(np.mean(p.counts.total("dense_macs"))) for p in points}),
        {"dense fp32 (+SRAM)": points[0].energies[0].float_pj, "dense int8 (+SRAM)": points[0].energies[0].int8_pj},
        out_dir / "figures" / "tradeoff.png",
    )
    blocks = compose(points, dataset, len(labels), target.name, figure, out_dir)
    write_text_atomic(out_dir / "report.html", render_html(blocks, "S5-RF comparison"))
    write_text_atomic(
        out_dir / "report.json",
        json.dumps({"dataset": dataset, "samples": len(labels), "target": target.name,
                    "models": [p.to_dict() for p in points]}, indent=2),
    )
    report = out_dir / "report.md"
    write_text_atomic(report, render_markdown(blocks))
    return report
