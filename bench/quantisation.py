"""Benchmark: accuracy and spikes of the integer (loihi2) network against the float network, before and after QAT.

For each model (the digits default, and the spoken-digits SHD-preset model when
its checkpoint is given) on its test set, all through the golden simulator:

- baseline, measured in the same run: the float64 discrete network
  (identical spikes to the PyTorch model);
- the loihi2 integer network, state scales bounded from the weights (the
  default of `quantise`), and calibrated on 256 training samples;
- QAT: `s5rf-train --qat loihi2 --resume CKPT` (its default fresh fine-tune),
  then the integer network of the fine-tuned model.

Printed and written: accuracy (%), its difference to the float baseline in
percentage points, spikes per sample per layer and their relative
difference, with the acceptance targets (digits: integer within 0.5 points,
spikes within 5 %, after QAT at most 0.2 points below float; SHD preset: 1 and 0.5 points).

Models of the sequential digits twins (`--preset smnist` on sdigits and on
psdigits, given with --sdigits-checkpoint / --psdigits-checkpoint): a zoh
first layer with its mixing stage and graded 8-bit inputs, exported as
`s5rf-export` does (`convert`, inputs quantised by `network_inputs`); rows
without QAT: float baseline, integer from the weights, integer calibrated.
Target for sdigits: the calibrated integer network within 1 point of float;
psdigits is reported without a target.

    python bench/quantisation.py [--quick] [--checkpoint DIGITS.ckpt] [--shd-checkpoint SHD.ckpt] [--qat-epochs N]
                                 [--sdigits-checkpoint CKPT] [--psdigits-checkpoint CKPT]

Without --checkpoint the digits default model is trained here (about a
minute). --quick trains it for 3 epochs, fine-tunes 1 QAT epoch (smoke run).
Writes bench/results/quantisation.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from _common import add_model_options, check_model_options, data_set_section, models_to_measure, write_results

CALIBRATION_SAMPLES = 256
TARGETS = {"digits": (0.5, 0.2), "shd": (1.0, 0.5)}
"""Per model: (integer within … points of float, after QAT within … points)."""
GRADED_TARGETS = {"sdigits": 1.0, "psdigits": None}
"""Per sequential-digits model: calibrated integer within … points of float (None: reported only)."""
SPIKE_TOLERANCE = 0.05


@dataclass
class Row:
    """One network's figures on a test set."""

    label: str
    accuracy: float
    spikes: list[float]
    saturation: int


def measure(label: str, network, inputs, labels) -> Row:
    import numpy as np

    from s5rf_neuro.hardware.golden import simulate

    result = simulate(network, inputs, progress=True)
    return Row(label, 100.0 * float(np.mean(result.predictions == labels)), result.spikes_per_sample(), sum(result.saturation))


def rows_for(checkpoint_path: Path, qat_path: Path, qat_epochs: int | None, threads: int) -> tuple[list[Row], dict]:
    """(rows: float, integer, integer calibrated, QAT float, QAT integer; facts about the model)."""
    from s5rf_neuro.checkpoint import load_checkpoint
    from s5rf_neuro.commands.train import main as train_main
    from s5rf_neuro.data.registry import load_split
    from s5rf_neuro.export.discretise import discretise
    from s5rf_neuro.export.quantise import quantise
    from s5rf_neuro.hardware.target import LOIHI2

    checkpoint = load_checkpoint(checkpoint_path)
    source = checkpoint.dataset.recorded_source
    test = load_split(source, "test")
    calibration = load_split(source, "train").inputs[:CALIBRATION_SAMPLES]
    metadata = {"dataset": checkpoint.dataset.to_dict()}
    network = discretise(checkpoint.build_model(), metadata)
    rows = [measure("float64 discrete network (baseline)", network, test.inputs, test.labels)]
    rows.append(measure("integer loihi2 (state scale from weights)", quantise(network, LOIHI2)[0], test.inputs, test.labels))
    rows.append(measure(
        f"integer loihi2 (calibrated, {len(calibration)} train samples)",
        quantise(network, LOIHI2, calibration)[0], test.inputs, test.labels,
    ))
    command = ["--qat", "loihi2", "--resume", str(checkpoint_path), "-o", str(qat_path), "--no-progress",
               "--threads", str(threads)]
    if qat_epochs is not None:
        command += ["--epochs", str(qat_epochs)]
    print(f"s5rf-train {' '.join(command)}", file=sys.stderr)
    if train_main(command) != 0:
        raise SystemExit("bench/quantisation.py: QAT fine-tuning failed")
    qat = load_checkpoint(qat_path)
    qat_network = discretise(qat.build_model(), metadata)
    rows.append(measure("after QAT: float64 discrete network", qat_network, test.inputs, test.labels))
    rows.append(measure("after QAT: integer loihi2", quantise(qat_network, LOIHI2)[0], test.inputs, test.labels))
    config = checkpoint.config
    facts = {
        "name": checkpoint.dataset.name,
        "shape": f"{config.num_layers} × {config.num_neurons} neurons, {config.discretization}",
        "samples": len(test),
        "qat_epochs": qat.extra.get("epoch"),
    }
    return rows, facts


def graded_rows_for(checkpoint_path: Path) -> tuple[list[Row], dict]:
    """(rows: float, integer, integer calibrated; facts) for a model on graded inputs, exported as s5rf-export does."""
    from s5rf_neuro.export.conversion import convert, load_split_of
    from s5rf_neuro.hardware.inputs import network_inputs
    from s5rf_neuro.hardware.target import LOIHI2

    plain = convert(checkpoint_path, LOIHI2)
    test = load_split_of(plain.checkpoint, "test")
    where = f"{test.name} test split"
    rows = [measure("float64 discrete network (baseline)", plain.float_network, test.inputs, test.labels)]
    rows.append(measure("integer loihi2 (state scale from weights)", plain.network,
                        network_inputs(plain.network, test.inputs, where).values, test.labels))
    calibrated = convert(checkpoint_path, LOIHI2, CALIBRATION_SAMPLES)
    rows.append(measure(f"integer loihi2 (calibrated, {calibrated.calibration_samples} train samples)", calibrated.network,
                        network_inputs(calibrated.network, test.inputs, where).values, test.labels))
    config, input_format = plain.checkpoint.config, plain.network.input_format
    mixing_neurons = plain.network.layers[0].num_mixing_neurons
    facts = {
        "name": test.name,
        "shape": f"{config.num_layers} × {config.num_neurons} neurons, {config.discretization}"
                 + (f", mixing stage of {mixing_neurons} neurons" if mixing_neurons else "")
                 + f", {input_format.bits}-bit graded inputs",
        "samples": len(test),
    }
    return rows, facts


def graded_verdicts(rows: list[Row], within: float) -> list[str]:
    """The pass/miss line for a sequential-digits model's target."""
    base, calibrated = rows[0], rows[2]
    ok = abs(calibrated.accuracy - base.accuracy) <= within
    return [f"{'PASS' if ok else 'MISS'}: calibrated integer within {within} points of float "
            f"({calibrated.accuracy - base.accuracy:+.2f} points)"]


def verdicts(rows: list[Row], within: float, within_qat: float) -> list[str]:
    """Pass/miss lines for the acceptance targets."""
    base, integer, qat_int = rows[0], rows[1], rows[4]
    spike_worst = max(abs(i - f) / f if f else 0.0 for f, i in zip(base.spikes, integer.spikes))
    checks = [
        (f"integer within {within} points of float", abs(integer.accuracy - base.accuracy) <= within,
         f"{integer.accuracy - base.accuracy:+.2f} points"),
        (f"spikes per sample per layer within {100 * SPIKE_TOLERANCE:.0f} %", spike_worst <= SPIKE_TOLERANCE,
         f"largest difference {100 * spike_worst:.2f} %"),
        (f"after QAT, integer at most {within_qat} points below float", qat_int.accuracy >= base.accuracy - within_qat,
         f"{qat_int.accuracy - base.accuracy:+.2f} points"),
    ]
    return [f"{'PASS' if ok else 'MISS'}: {text} ({detail})" for text, ok, detail in checks]


def table(rows: list[Row]) -> list[str]:
    base = rows[0]
    lines = ["| network | accuracy (%) | Δ vs float (points) | spikes/sample per layer | Δ spikes | saturation events |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        spikes = ", ".join(f"{s:.1f}" for s in row.spikes)
        delta = ", ".join(f"{100 * (i - f) / f:+.2f} %" if f else "n/a" for f, i in zip(base.spikes, row.spikes))
        lines.append(f"| {row.label} | {row.accuracy:.2f} | {row.accuracy - base.accuracy:+.2f} | {spikes} | {delta} | {row.saturation} |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/quantisation.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3-epoch digits model, 1 QAT epoch (smoke run)")
    add_model_options(parser)
    parser.add_argument("--qat-epochs", type=int, default=None, help="QAT epochs (default: s5rf-train --qat's)")
    for kind in GRADED_TARGETS:
        parser.add_argument(f"--{kind}-checkpoint", type=Path, default=os.environ.get(f"S5RF_BENCH_{kind.upper()}_CHECKPOINT"),
                            help=f"`--preset smnist` model on {kind} (default: $S5RF_BENCH_{kind.upper()}_CHECKPOINT, else none)")
    args = parser.parse_args(argv)
    check_model_options(parser, args)
    graded = {kind: getattr(args, f"{kind}_checkpoint") for kind in GRADED_TARGETS}
    for kind, path in graded.items():
        if path is not None and not Path(path).is_file():
            parser.error(f"argument --{kind}-checkpoint: {path}: no such checkpoint")
    if args.qat_epochs is not None and args.qat_epochs <= 0:
        parser.error("argument --qat-epochs: must be positive")

    qat_epochs = 1 if args.quick and args.qat_epochs is None else args.qat_epochs
    sections = []
    with tempfile.TemporaryDirectory() as scratch:
        for kind, path in models_to_measure(args, Path(scratch), 3, args.quick):
            rows, facts = rows_for(path, Path(scratch) / f"{kind}-qat.ckpt", qat_epochs, args.threads)
            within, within_qat = TARGETS[kind]
            title = f"{facts['name']} ({facts['shape']}; {facts['samples']} test samples; QAT {facts['qat_epochs']} epochs)"
            lines = table(rows)
            checks = verdicts(rows, within, within_qat)
            sections += data_set_section(title, lines, checks)
        for kind, path in graded.items():
            if path is None:
                continue
            rows, facts = graded_rows_for(Path(path))
            within = GRADED_TARGETS[kind]
            title = f"{facts['name']} ({facts['shape']}; {facts['samples']} test samples; no QAT)"
            checks = graded_verdicts(rows, within) if within is not None else ["reported without a target"]
            sections += data_set_section(title, table(rows), checks)
    header = [
        "## Quantisation (`bench/quantisation.py`)",
        "",
        "Golden simulator on the full test set; the float64 discrete network (same spikes as the PyTorch model) is "
        f"the baseline measured in the same run{' (quick run: 3-epoch model, 1 QAT epoch)' if args.quick else ''}.",
        "",
    ]
    write_results("quantisation", "\n".join(header + sections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
