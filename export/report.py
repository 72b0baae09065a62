"""The deployment report of one model: accuracy, activity, energy, mapping, figures.

`write_report(model_path, out_dir, ...)` takes a checkpoint (`.ckpt`) or a
`.nir` export, runs the checkpoint's test set (or the data set recorded in
the export's metadata) through every available form of the network — the
PyTorch float model, the discrete float network and the integer network in
the golden simulator, and optionally Lava — and writes to `out_dir`:

- `report.md` and `report.html` (the same content),
- `report.json` (the figures, machine-readable),
- `figures/*.png`: spike raster per layer for one sample, λ̄ of every neuron
  on the unit circle (float and quantised), firing rate per layer, and
  accuracy against weight bits (a 4–8 bit sweep with the golden simulator).

The report composes the model (float counts), export (discretise, quantise,
NIR) and hardware (simulators, counters, energy, mapping), which is why it
lives in the export room: the hardware room never imports the model.
"""

from __future__ import annotations

import datetime
import enum
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from s5rf_neuro.atomic import write_text_atomic
from s5rf_neuro.data.registry import EMBEDDED
from s5rf_neuro.errors import ReportError, TargetError
from s5rf_neuro.export import report_plots
from s5rf_neuro.export.quantisation_report import QuantReport
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
from s5rf_neuro.hardware.energy import EnergyEstimate, estimate_energy, load_profile
from s5rf_neuro.hardware.golden import SimulationResult, simulate
from s5rf_neuro.hardware.inputs import InputOptions, network_inputs
from s5rf_neuro.hardware.network import FloatNetwork, IntNetwork
from s5rf_neuro.hardware.target import TargetSpec
from s5rf_neuro.terminal import show_progress

SWEEP_BITS = (4, 5, 6, 7, 8)
"""Weight mantissa widths of the accuracy-against-bits sweep."""


@dataclass
class Subject:
    """The model under report in all the forms available from its file.

    model: the PyTorch classifier (checkpoints only), float_network: the discrete
    float network (None for an integer-only .nir), int_network: the network run
    as integers, quant_report: what quantisation did (None when read from .nir),
    data_source: the `load_split` source of its data set (None when unknown).
    """

    name: str
    model: Any | None
    float_network: FloatNetwork | None
    int_network: IntNetwork
    quant_report: QuantReport | None
    data_source: dict[str, Any] | None


class RunKind(enum.Enum):
    """Which form of the network a run ran, and on what."""

    FLOAT_MODEL = "float_model"
    """The PyTorch float model (float32)."""
    FLOAT_DISCRETE = "float_discrete"
    """The discrete float network in the golden simulator (float64)."""
    INTEGER_GOLDEN = "integer_golden"
    """The integer network in the golden simulator."""
    INTEGER_LAVA = "integer_lava"
    """The integer network in Lava (CPU simulation)."""

    def label(self, target: str) -> str:
        """How the report names a run of this kind for the target named `target`."""
        return {
            RunKind.FLOAT_MODEL: "float model (PyTorch, float32)",
            RunKind.FLOAT_DISCRETE: "float discrete (golden, float64)",
            RunKind.INTEGER_GOLDEN: f"integer (golden, {target})",
            RunKind.INTEGER_LAVA: f"integer (Lava CPU, {target})",
        }[self]


@dataclass
class Run:
    """One way of running the network on the report's samples; label: how the report names it (`RunKind.label`)."""

    kind: RunKind
    label: str
    result_spikes: list[np.ndarray]
    predictions: np.ndarray
    labels: np.ndarray
    counts: OperationCounts

    @property
    def accuracy(self) -> float:
        """Fraction of correct predictions."""
        return float(np.mean(self.predictions == self.labels)) if len(self.labels) else float("nan")

    @property
    def samples(self) -> int:
        """Number of samples run."""
        return int(len(self.labels))


def prepare_output_dir(path: Path) -> Path:
    """Create `path` if needed and make sure files can be written in it (`ReportError` otherwise)."""
    if path.exists() and not path.is_dir():
        raise ReportError(f"report directory {path}: exists and is not a directory")
    try:
        (path / "figures").mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=path, prefix=".write-test-")
        os.close(handle)
        os.remove(probe)
    except OSError as err:
        raise ReportError(f"report directory {path}: cannot be written ({err.strerror or err})") from None
    return path


def load_subject(path: Path, target: TargetSpec, input_options: InputOptions | None = None) -> Subject:
    """Load a checkpoint or a `.nir` file and derive the float and integer networks for `target`.

    input_options: graded input options for a checkpoint (a `.nir` records its input format).
    """
    from s5rf_neuro.data.info import recorded_dataset
    from s5rf_neuro.errors import FormatError
    from s5rf_neuro.export.conversion import convert
    from s5rf_neuro.export.quantise import quantise

    if path.is_dir():
        raise ReportError(f"{path}: is a directory, not a checkpoint or .nir file")
    if not path.is_file():
        raise ReportError(f"{path}: no such file")
    if path.suffix == ".nir":
        from s5rf_neuro.export.nir_io import read_nir

        network = read_nir(path)
        dataset = recorded_dataset(network.metadata, str(path), FormatError)
        source = dataset.recorded_source if dataset is not None else None
        if isinstance(network, IntNetwork):
            return Subject(path.name, None, None, network, None, source)
        int_network, quant_report = quantise(network, target)
        return Subject(path.name, None, network, int_network, quant_report, source)
    conversion = convert(path, target, inputs=input_options or InputOptions())
    return Subject(path.name, conversion.model, conversion.float_network, conversion.network, conversion.report,
                   conversion.checkpoint.dataset.recorded_source)


def load_test_data(subject: Subject, samples: int | None) -> tuple[np.ndarray, np.ndarray, str]:
    """The first `samples` test samples (all when None): inputs (N, T, H), labels (N,), data set name."""
    from s5rf_neuro.data.registry import load_split

    if subject.data_source is None:
        raise ReportError(f"{subject.name}: no data set is recorded in the file; give one with --data")
    data = load_split(subject.data_source, "test")
    data.check_fits(subject.name, subject.int_network.input_dim, subject.int_network.output_dim)
    count = len(data.labels) if samples is None else min(samples, len(data.labels))
    return data.inputs[:count], data.labels[:count], data.name or str(subject.data_source.get("kind"))


def _model_run(
    model: Any, network: FloatNetwork, inputs: np.ndarray, labels: np.ndarray, progress: bool, batch: int = 256
) -> Run:
    """The PyTorch float model's predictions and spikes, counted on the discrete network's structure."""
    import torch

    predictions, spikes = [], []
    with torch.no_grad():
        for start in tqdm(range(0, len(inputs), batch), desc="float model", unit="batch", disable=not show_progress(progress)):
            x = torch.from_numpy(np.asarray(inputs[start : start + batch], dtype=np.float32))
            log_probs, layer_spikes = model.forward_with_spikes(x)
            predictions.append(log_probs.argmax(dim=1).numpy())
            spikes.append([s.numpy() > 0 for s in layer_spikes])
    per_layer = [np.concatenate([batch_spikes[i] for batch_spikes in spikes]) for i in range(len(network.layers))]
    return Run(
        RunKind.FLOAT_MODEL,
        RunKind.FLOAT_MODEL.label(""),
        per_layer,
        np.concatenate(predictions),
        labels,
        count_operations(network, per_layer, inputs),
    )


def _golden_run(
    kind: RunKind, target: str, network: FloatNetwork | IntNetwork, inputs: np.ndarray, labels: np.ndarray, progress: bool
) -> Run:
    inputs = network_inputs(network, inputs, "test data").values
    result: SimulationResult = simulate(network, inputs, progress=progress)
    return Run(kind, kind.label(target), result.spikes, result.predictions, labels, count_operations(network, result.spikes, inputs))


def run_of(runs: list[Run], kind: RunKind) -> Run | None:
    """The first run of `kind` (None when there is none)."""
    return next((run for run in runs if run.kind is kind), None)


def run_everything(
    subject: Subject, inputs: np.ndarray, labels: np.ndarray, lava_samples: int, progress: bool
) -> tuple[list[Run], dict[str, Any] | None]:
    """Every available run on the samples, and the Lava agreement with the golden simulator (None without Lava)."""
    runs = []
    if subject.model is not None and subject.float_network is not None:
        runs.append(_model_run(subject.model, subject.float_network, inputs, labels, progress))
    target = subject.int_network.target.name
    if subject.float_network is not None:
        runs.append(_golden_run(RunKind.FLOAT_DISCRETE, target, subject.float_network, inputs, labels, progress))
    golden = _golden_run(RunKind.INTEGER_GOLDEN, target, subject.int_network, inputs, labels, progress)
    runs.append(golden)
    agreement = None
    if lava_samples > 0:
        from s5rf_neuro.hardware.lava_run import run_lava  # Lava loads only when asked for

        count = min(lava_samples, len(labels))
        payloads = network_inputs(subject.int_network, inputs[:count], "test data").values
        result = run_lava(subject.int_network, payloads, progress=progress)
        lava = Run(
            RunKind.INTEGER_LAVA,
            RunKind.INTEGER_LAVA.label(target),
            result.spikes,
            result.predictions,
            labels[:count],
            count_operations(subject.int_network, result.spikes, payloads),
        )
        runs.append(lava)
        agreement = {
            "samples": count,
            "spikes_equal": all(np.array_equal(a, b[:count]) for a, b in zip(result.spikes, golden.result_spikes)),
            "prediction_agreement": float(np.mean(result.predictions == golden.predictions[:count])),
        }
    return runs, agreement


def sweep_weight_bits(
    network: FloatNetwork, target: TargetSpec, inputs: np.ndarray, labels: np.ndarray, progress: bool
) -> list[dict[str, Any]]:
    """Integer accuracy for each width in `SWEEP_BITS`; a width that cannot be quantised gets accuracy None and the reason."""
    from s5rf_neuro.export.quantise import quantise

    rows = []
    for bits in tqdm(SWEEP_BITS, desc="weight-bit sweep", unit="width", disable=not show_progress(progress)):
        try:
            int_network, _ = quantise(network, target.with_weight_bits(bits))
        except TargetError as err:
            rows.append({"bits": bits, "accuracy": None, "note": str(err)})
            continue
        predictions = simulate(int_network, network_inputs(int_network, inputs, "test data").values).predictions
        rows.append({"bits": bits, "accuracy": float(np.mean(predictions == labels)), "note": ""})
    return rows


def _int_decays(network: IntNetwork) -> list[np.ndarray]:
    one = network.target.decay_one
    return [(layer.decay_re + 1j * layer.decay_im) / one for layer in network.layers]


def draw_figures(subject: Subject, runs: list[Run], sweep: list[dict[str, Any]] | None, figures: Path) -> dict[str, Path]:
    """Write the PNG figures into `figures`; returns name → path."""
    golden = run_of(runs, RunKind.INTEGER_GOLDEN)
    float_run = run_of(runs, RunKind.FLOAT_DISCRETE)
    float_accuracy = None if float_run is None else float_run.accuracy
    paths = {
        "raster": report_plots.spike_raster(
            [spikes[0] for spikes in golden.result_spikes],
            figures / "spike_raster.png",
            f"{golden.label}: sample 0 (label {int(golden.labels[0])})",
        ),
        "eigenvalues": report_plots.eigenvalues(
            [layer.decay for layer in subject.float_network.layers] if subject.float_network is not None else None,
            _int_decays(subject.int_network),
            figures / "eigenvalues.png",
        ),
        "firing_rate": report_plots.firing_rates(
            {run.label: [float(np.mean(layer.firing_rate)) for layer in run.counts.layers[:-1]] for run in runs},
            figures / "firing_rate.png",
        ),
    }
    if sweep is not None:
        paths["accuracy_vs_bits"] = report_plots.accuracy_vs_bits(
            [row["bits"] for row in sweep], [row["accuracy"] for row in sweep], float_accuracy,
            figures / "accuracy_vs_bits.png",
        )
    return paths


def _versions() -> str:
    from s5rf_neuro.export.provenance import software_versions

    return ", ".join(f"{name} {version}" for name, version in software_versions().items()
                     if version is not None and name != "python")


def map_cores(network: IntNetwork) -> tuple[Any | None, str]:
    """(`MappingReport`, "") from `hardware.mapping.map_network`, or (None, why it cannot be mapped)."""
    from s5rf_neuro.hardware.mapping import map_network

    try:
        return map_network(network), ""
    except TargetError as err:
        return None, str(err)


def compose(
    subject: Subject,
    dataset: str,
    runs: list[Run],
    agreement: dict[str, Any] | None,
    energies: list[EnergyEstimate],
    mapping: tuple[Any | None, str],
    sweep: list[dict[str, Any]] | None,
    figures: dict[str, Path],
    out_dir: Path,
) -> list[Block]:
    """The report's blocks, section by section."""
    golden = run_of(runs, RunKind.INTEGER_GOLDEN)
    target = subject.int_network.target
    return [
        *_title_section(subject, dataset, golden),
        *_accuracy_section(runs, agreement),
        *_activity_section(golden, run_of(runs, RunKind.FLOAT_DISCRETE)),
        *_energy_section(energies, golden.counts),
        *_mapping_section(*mapping, target.name),
        *_quantisation_section(subject.quant_report),
        *_sweep_section(sweep),
        *_figures_section(figures, out_dir),
    ]


def _title_section(subject: Subject, dataset: str, golden: Run) -> list[Block]:
    """Title, data set, target and provenance."""
    target = subject.int_network.target
    return [
        Heading(f"S5-RF report: {subject.name}", 1),
        Paragraph(
            f"Data set: {dataset} ({golden.samples} test samples, {golden.counts.layers[0].time_steps} time steps, "
            f"{subject.int_network.input_dim} channels). Target: {target.name} ({target.weight_bits}-bit weights, "
            f"{target.state_bits}-bit state, {target.decay_bits}-bit decays). "
            f"Written {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} with {_versions()}."
        ),
    ]


def _accuracy_section(runs: list[Run], agreement: dict[str, Any] | None) -> list[Block]:
    """Accuracy of every run, and Lava against the golden simulator."""
    if agreement is not None:
        lava = Paragraph(
            f"Lava against the golden simulator on {agreement['samples']} samples: spikes of every layer "
            f"{'identical, step for step' if agreement['spikes_equal'] else 'DIFFERENT'}; predictions agree on "
            f"{100 * agreement['prediction_agreement']:.1f} %."
        )
    else:
        lava = Paragraph("Lava was not run (use --lava N to run N samples through Lava).")
    return [
        Heading("Accuracy"),
        Table(
            ("run", "samples", "accuracy"),
            tuple((run.label, str(run.samples), f"{100 * run.accuracy:.2f} %") for run in runs),
        ),
        lava,
    ]


def _activity_section(golden: Run, float_run: Run | None) -> list[Block]:
    """Spikes, sparsity and operations per layer of the integer run (float spikes beside them)."""
    rows = []
    for index, layer in enumerate(golden.counts.layers):
        readout = index == len(golden.counts.layers) - 1
        float_spikes = "—" if readout or float_run is None else format_number(float(np.mean(float_run.counts.layers[index].spikes)))
        rows.append(
            (
                layer.name,
                str(layer.neurons),
                float_spikes,
                "—" if readout else format_number(float(np.mean(layer.spikes))),
                "—" if readout else f"{float(np.mean(layer.firing_rate)):.4f}",
                "—" if readout else f"{100 * float(np.mean(layer.sparsity)):.1f} %",
                format_number(float(np.mean(layer.input_events))),
                format_number(float(np.mean(layer.synaptic_ops))),
                f"{layer.neuron_updates:,}",
                f"{layer.dense_macs:,}",
            )
        )
        if layer.mixing_neurons:
            rows.append(
                (
                    f"{layer.name}: of which mixing stage", str(layer.mixing_neurons), "—", "—", "—", "—",
                    format_number(float(layer.state_messages)), format_number(float(layer.mixing_ops)),
                    f"{layer.mixing_neurons * layer.time_steps:,}", "—",
                )
            )
    totals = golden.counts.mean_per_sample()
    rows.append(
        (
            "total", str(sum(layer.neurons + layer.mixing_neurons for layer in golden.counts.layers)),
            "—" if float_run is None else format_number(float(np.mean(float_run.counts.total("spikes")))),
            format_number(totals["spikes"]), "", "", "", format_number(totals["synaptic_ops"]),
            f"{int(totals['neuron_updates']):,}", f"{int(totals['dense_macs']):,}",
        )
    )
    return [
        Heading("Activity per layer (integer network, mean per sample)"),
        Table(
            ("layer", "neurons", "spikes (float)", "spikes (integer)", "rate / neuron / step", "sparsity",
             "input events", "synaptic ops", "neuron updates", "dense MACs"),
            tuple(rows),
        ),
        Bullets(
            (
                "Synaptic ops: Σ over input events of the fan-out; a complex synapse (non-zero imaginary weights) counts "
                "2; a graded event (input count > 1, or spike + skipped input) is one message; a skip layer adds one "
                "identity synapse per input event; the readout is a real fan-out of one per output.",
                "A mixing stage (a zoh first layer's eigenvector mixing): its states send Re x and Im x as two graded "
                "messages every step (its input events), each to the threshold neurons of its block; those synaptic "
                "operations and the stage's neuron updates are part of the layer's row.",
                "Neuron updates: neurons × time steps. Dense MACs: real multiply-accumulates of the same network run "
                "densely as a float model (complex weight × real input = 2, complex recurrence = 4 per neuron per step).",
            )
        ),
    ]


def _mapping_section(mapping: Any | None, error: str, target: str) -> list[Block]:
    """The core mapping as a table and a summary line."""
    heading = Heading(f"Mapping to {target}")
    if mapping is None:
        return [heading, Paragraph(f"The network cannot be mapped to {target}: {error}")]
    table = Table(
        ("layer", "neurons", "fan-in", "synapses", "cores", "neurons / core"),
        tuple(
            (layer.layer, str(layer.neurons), str(layer.fan_in), f"{layer.synapses:,}", str(layer.cores),
             str(layer.neurons_per_core))
            for layer in mapping.layers
        ),
    )
    summary = Paragraph(
        f"{mapping.total_neurons:,} neurons and {mapping.total_synapses:,} synapses on {mapping.cores_used} cores, "
        f"{mapping.chips_needed} chip(s) of {mapping.cores_per_chip} cores (limits per core: "
        f"{mapping.neurons_per_core_limit:,} neurons, {mapping.synapses_per_core_limit:,} synapses)."
    )
    return [heading, table, summary] + ([Bullets(tuple(mapping.notes))] if mapping.notes else [])


def _quantisation_section(report: QuantReport | None) -> list[Block]:
    """Per layer exponents, clipping, decay error and headroom, and the quantisation warnings (nothing without a report)."""
    if report is None:
        return []
    table = Table(
        ("layer", "weight exp (re, im)", "weight clip", "decay error max", "state headroom (bits)"),
        tuple(
            (
                f"layer {index}",
                f"{layer.weight_exp_re}, {layer.weight_exp_im}",
                f"{layer.weight_clip_fraction:.2%}",
                f"{layer.decay_error_max:.2e}",
                f"{layer.state_headroom_bits:.1f}",
            )
            for index, layer in enumerate(report.layers)
        )
        + tuple(
            (
                f"layer {index} mixing ({layer.mixing.payload_bits}-bit state payloads)",
                f"{layer.mixing.weight_exp_re}, {layer.mixing.weight_exp_im}",
                f"{layer.mixing.weight_clip_fraction:.2%}",
                "—",
                "—",
            )
            for index, layer in enumerate(report.layers)
            if layer.mixing is not None
        ),
    )
    return [Heading("Quantisation"), table] + ([Bullets(tuple(report.warnings))] if report.warnings else [])


def _sweep_section(sweep: list[dict[str, Any]] | None) -> list[Block]:
    """Integer accuracy against weight bits (nothing without a sweep)."""
    if sweep is None:
        return []
    return [
        Heading("Accuracy against weight bits (golden simulator)"),
        Table(
            ("weight bits", "accuracy", "note"),
            tuple(
                (str(row["bits"]), "—" if row["accuracy"] is None else f"{100 * row['accuracy']:.2f} %", row["note"])
                for row in sweep
            ),
        ),
    ]


FIGURE_CAPTIONS = {
    "raster": "Spike raster per layer for one sample (integer network, golden simulator).",
    "eigenvalues": "λ̄ of every neuron on the unit circle: float (dots) and quantised (crosses).",
    "firing_rate": "Firing rate per layer (spikes per neuron per time step).",
    "accuracy_vs_bits": "Integer accuracy against weight mantissa bits; the dashed line is the float accuracy.",
}
"""Caption of each figure `draw_figures` writes, by name."""


def _figures_section(figures: dict[str, Path], out_dir: Path) -> list[Block]:
    """The figures, linked relative to the report."""
    return [Heading("Figures")] + [
        Image(path.relative_to(out_dir).as_posix(), FIGURE_CAPTIONS[name]) for name, path in figures.items()
    ]


def _energy_section(energies: list[EnergyEstimate], counts: OperationCounts) -> list[Block]:
    """Energy per inference under each neuromorphic profile against the dense baselines, and NeuroBench's metrics."""
    first = energies[0]
    blocks: list[Block] = [
        Heading("Energy per inference (estimate)"),
        Paragraph("Every figure names the profile that produced it. No per-operation energy has been published for "
                  "Loihi 2: the neuromorphic figures below are Loihi (1) figures, measured (loihi1) or fitted by a "
                  "simulator (sanafe_loihi)."),
        Table(
            ("system", "profile", "energy / inference", "dense fp32 / this", "dense int8 / this"),
            tuple(
                (f"neuromorphic ({e.profile})", e.profile, format_energy(e.neuromorphic_pj), f"{e.ratio:.3g}",
                 f"{e.int8_ratio:.3g}")
                for e in energies
            )
            + (
                ("dense fp32, arithmetic + SRAM", first.baseline_profile, format_energy(first.float_pj), "", ""),
                ("dense int8, arithmetic + SRAM", first.baseline_profile, format_energy(first.int8_pj), "", ""),
                ("dense fp32, arithmetic alone", first.baseline_profile, format_energy(first.float_arithmetic_pj), "", ""),
                ("dense int8, arithmetic alone", first.baseline_profile, format_energy(first.int8_arithmetic_pj), "", ""),
            ),
        ),
    ]
    seen: set[str] = set()
    rows = []
    for estimate in energies:
        for row in estimate.rows:
            key = f"{row.system}|{row.operation}"
            if key not in seen:
                seen.add(key)
                rows.append((row.system, row.operation, format_number(row.operations, 0), f"{row.pj_per_op:g}",
                             format_energy(row.energy_pj), row.source))
    blocks.append(Table(("system", "operation", "operations", "pJ / op", "energy", "source"), tuple(rows)))
    notes: list[str] = []
    for estimate in energies:
        notes += [note for note in estimate.notes if note not in notes]
    blocks.append(Bullets(tuple(notes)))
    nb = counts.neurobench()
    blocks += [
        Heading("NeuroBench workload metrics (integer network, mean per sample)"),
        Table(
            ("activation sparsity", "Effective_ACs", "Effective_MACs", "Dense"),
            ((f"{nb.activation_sparsity:.4f}", format_number(nb.effective_acs, 0), format_number(nb.effective_macs, 0),
              format_number(nb.dense, 0)),),
        ),
        Bullets((
            "NeuroBench's definitions: effective synaptic operations count non-zero weights × non-zero inputs, as "
            "accumulates where a connection's inputs are all 0/1 and as multiply-accumulates otherwise; Dense counts "
            "every weight × every input. A complex weight matrix counts as its real and its imaginary matrix.",
            "NeuroBench has no rule for a complex recurrence. Here λ̄ × z counts as 4 real multiplies per neuron per "
            "step: in Dense every step, in Effective_MACs for each active update (state or input non-zero). The skip "
            "identity and the readout's leak are not counted (not connections).",
            "These differ from the synaptic operations above (the hardware's count): that one counts the full "
            "fan-out per event, zero weights included, and a graded event once.",
        )),
    ]
    return blocks


def destination_cores(mapping: Any | None, layers: int) -> list[int] | None:
    """Cores of the layer (or readout) receiving each spiking layer's output, from a mapping report."""
    if mapping is None:
        return None
    cores = {row.layer: row.cores for row in mapping.layers}
    return [cores[f"layer {index + 1}" if index + 1 < layers else "readout"] for index in range(layers)]


def write_report(
    model_path: Path,
    out_dir: Path,
    target: TargetSpec,
    samples: int | None = None,
    lava_samples: int = 0,
    neuromorphic_profiles: tuple[str, ...] = ("loihi1", "sanafe_loihi"),
    arithmetic_profile: str = "horowitz45nm",
    progress: bool = False,
    data_source: dict[str, Any] | None = None,
    data_dir: str | None = None,
    input_options: InputOptions | None = None,
) -> Path:
    """Make the report of `model_path` (.ckpt or .nir) in `out_dir`; returns the path of report.md.

    samples: test samples to use (all when None); lava_samples: how many of
    them also run through Lava (0: none); data_source: a `load_split` source
    replacing the recorded data set; data_dir: a new root for the recorded
    one (moved files); input_options: graded input options of a checkpoint. Raises `ReportError` (or another
    `S5RFError`) for an unwritable directory, a missing file or missing data.
    """
    out_dir = prepare_output_dir(Path(out_dir))
    neuro_profiles = [load_profile(name) for name in neuromorphic_profiles]
    baseline = load_profile(arithmetic_profile)
    subject = load_subject(Path(model_path), target, input_options)
    if data_source is not None:
        subject.data_source = data_source
    elif data_dir is not None and subject.data_source is not None:
        if subject.data_source.get("kind") in EMBEDDED:
            raise ReportError(f"{subject.name}: its data set ({subject.data_source['kind']}) has no data directory "
                              "to replace")
        subject.data_source = {**subject.data_source, "root": str(data_dir)}
    inputs, labels, dataset = load_test_data(subject, samples)
    # refuses inputs the integer network cannot carry, naming the data set, before anything runs
    prepared = network_inputs(subject.int_network, inputs, f"{dataset} test split")
    runs, agreement = run_everything(subject, inputs, labels, lava_samples, progress)
    golden = run_of(runs, RunKind.INTEGER_GOLDEN)
    sweep = None
    if subject.float_network is not None:
        sweep = sweep_weight_bits(subject.float_network, target, inputs, labels, progress)
    mapping = map_cores(subject.int_network)
    cores = destination_cores(mapping[0], len(subject.int_network.layers))
    energies = [estimate_energy(golden.counts, profile, baseline, cores) for profile in neuro_profiles]
    figures = draw_figures(subject, runs, sweep, out_dir / "figures")
    blocks = compose(subject, dataset, runs, agreement, energies, mapping, sweep, figures, out_dir)
    title = f"S5-RF report: {subject.name}"
    write_text_atomic(out_dir / "report.html", render_html(blocks, title))
    write_text_atomic(
        out_dir / "report.json",
        json.dumps(
            {
                "model": subject.name,
                "dataset": dataset,
                "target": subject.int_network.target.to_dict(),
                "runs": [
                    {"kind": run.kind.value, "label": run.label, "samples": run.samples, "accuracy": run.accuracy, "counts": run.counts.to_dict()}
                    for run in runs
                ],
                "lava_agreement": agreement,
                "energy": energies[0].to_dict(),
                "energy_by_profile": {e.profile: e.to_dict() for e in energies},
                "neurobench": golden.counts.neurobench().to_dict(),
                "mapping": mapping[0].to_dict() if mapping[0] is not None else {"error": mapping[1]},
                "weight_bit_sweep": sweep,
                "quantisation": subject.quant_report.to_dict() if subject.quant_report is not None else None,
                "inputs": {"format": subject.int_network.input_format.to_dict(), "clipped": prepared.clipped},
            },
            indent=2,
        ),
    )
    report = out_dir / "report.md"
    write_text_atomic(report, render_markdown(blocks))
    return report
