"""Benchmark: the accuracy–energy trade-off of the synaptic-operation penalty.

For the digits default (and the spoken-digits SHD-preset model when its
checkpoint is given) the unpenalised model is the baseline, measured in the
same run; for each penalty W the model is trained with `s5rf-train
--synops-penalty W` (a fresh fine-tune of the baseline, `--resume`, or
from scratch with `--from-scratch`). Every model is then exported to the
loihi2 integer network and run on the whole test set in the golden
simulator, with its float discrete network alongside. Printed and written:

- float and integer accuracy, spikes per layer (integer network);
- synaptic operations per sample: input layer (set by the data), hidden
  layers (fed by spikes), readout, total — and the hidden part relative to
  the baseline's;
- energy per inference under each neuromorphic profile (loihi1,
  sanafe_loihi) and the dense fp32 / int8 baselines with their memory
  traffic (horowitz45nm), and the ratios;
- NeuroBench's activation sparsity and Effective_ACs / Effective_MACs / Dense.

A control row is the baseline fine-tuned exactly as the penalised models are
but with W = 0 (not with --quick, nor from scratch; one per seed), so that what the
fine-tune alone does to accuracy is seen apart from the penalty; the target
is checked against W = 0 and against the control.

Budgeted rows add `--synops-target T` (T = the baseline's input-layer
operations + 0.30 × its other operations, so that the hidden layers land
just under the target's 1/3): only operations above T are penalised, so
training stops pushing once the budget is met. They are trained with seeds
0, 1 and 2 (`--seed`, which sets the fine-tune's shuffling and dropout), and
the target is also checked on their mean: two runs of one recipe differ by
more than a point on this test set, so one run cannot settle it.

Target (digits): a model with hidden-layer synaptic operations ≤ 1/3 of the
baseline's, float accuracy at most 1 point lower, integer within 0.5 points
of its float network.

    python bench/energy.py [--quick] [--checkpoint DIGITS.ckpt] [--shd-checkpoint SHD.ckpt]
                           [--penalties W ...] [--budget F] [--budget-penalties W ...] [--seeds S ...]
                           [--epochs N] [--from-scratch]

Writes bench/results/energy.md and bench/results/energy.json
({"digits": [{"penalty": W, "synops_target": T, "seed": S, "float_accuracy": …,
"integer_accuracy": …, "synops": {"input", "hidden", "readout", "total"}, …}, …],
"digits_seed_means": [{"penalty", "synops_target", "seeds", "float_accuracy", "integer_accuracy",
"float_range", "integer_range", "synops"}, …], "shd": […], "shd_seed_means": […]}).
--quick: a 2-epoch baseline, one penalty, 1 fine-tune epoch, 120 test samples.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

from _common import add_model_options, check_model_options, data_set_section, models_to_measure, write_results

PENALTIES = (2.0, 4.0)
"""Default sweep of --synops-penalty (the baseline, W = 0, is always measured)."""
QUICK_PENALTIES = (4.0,)
BUDGET = 0.30
"""Budgeted rows: --synops-target = the baseline's input-layer operations + BUDGET × its other operations."""
BUDGET_PENALTIES = (4.0,)
SEEDS = (0, 1, 2)
"""Seeds of each budgeted run (the fine-tune's shuffling and dropout)."""
PROFILES = ("loihi1", "sanafe_loihi")
HIDDEN_TARGET, FLOAT_POINTS, INTEGER_POINTS = 1 / 3, 1.0, 0.5


def measure(checkpoint_path: Path, penalty: float, samples: int | None, target: float = 0.0,
            seed: int = 0) -> dict[str, Any]:
    """One model's figures on its test set (see the module doc), as a JSON-able row."""
    import numpy as np

    from s5rf_neuro.export.conversion import convert, load_split_of
    from s5rf_neuro.export.report import destination_cores, map_cores
    from s5rf_neuro.hardware.counters import count_operations
    from s5rf_neuro.hardware.energy import estimate_energy
    from s5rf_neuro.hardware.golden import simulate
    from s5rf_neuro.hardware.target import LOIHI2

    conversion = convert(checkpoint_path, LOIHI2)
    test = load_split_of(conversion.checkpoint, "test")
    count = len(test.labels) if samples is None else min(samples, len(test.labels))
    inputs, labels = test.inputs[:count], test.labels[:count]
    floating = simulate(conversion.float_network, inputs, progress=True)
    integer = simulate(conversion.network, inputs, progress=True)
    counts = count_operations(conversion.network, integer.spikes, inputs)
    float_counts = count_operations(conversion.float_network, floating.spikes, inputs)
    cores = destination_cores(map_cores(conversion.network)[0], len(conversion.network.layers))
    energies = [estimate_energy(counts, profile, "horowitz45nm", cores) for profile in PROFILES]
    base = energies[0]
    return {
        "penalty": penalty,
        "synops_target": target,
        "seed": seed,
        "samples": count,
        "float_accuracy": float(np.mean(floating.predictions == labels)),
        "integer_accuracy": float(np.mean(integer.predictions == labels)),
        "spikes": integer.spikes_per_sample(),
        "float_spikes": floating.spikes_per_sample(),
        "synops": counts.synops_split(),
        "float_synops": float_counts.synops_split(),
        "energy_pj": {e.profile: e.neuromorphic_pj for e in energies},
        "dense": {"macs": float(np.mean(counts.total("dense_macs"))), "fp32_pj": base.float_pj,
                  "int8_pj": base.int8_pj, "fp32_arithmetic_pj": base.float_arithmetic_pj,
                  "int8_arithmetic_pj": base.int8_arithmetic_pj},
        "ratio_fp32": {e.profile: e.ratio for e in energies},
        "ratio_int8": {e.profile: e.int8_ratio for e in energies},
        "neurobench": counts.neurobench().to_dict(),
        "epochs": conversion.checkpoint.extra.get("epoch"),
    }


def train(penalty: float, baseline: Path, out: Path, epochs: int | None, from_scratch: bool, threads: int,
          target: float = 0.0, seed: int = 0) -> None:
    """`s5rf-train --synops-penalty W [--synops-target T] --seed S`, fine-tuning `baseline` or from scratch on its
    data set."""
    from s5rf_neuro.commands.train import main as train_main

    command = ["--synops-penalty", repr(penalty), "--seed", str(seed), "-o", str(out), "--no-progress",
               "--threads", str(threads)]
    if target > 0:
        command += ["--synops-target", f"{target:.0f}"]
    if from_scratch:
        command += ["--data", "digits"]
    else:
        command += ["--resume", str(baseline)]
    if epochs is not None:
        command += ["--epochs", str(epochs)]
    print(f"s5rf-train {' '.join(command)}", file=sys.stderr)
    if train_main(command) != 0:
        raise SystemExit(f"bench/energy.py: training with --synops-penalty {penalty} failed")


def train_control(baseline: Path, out: Path, epochs: int | None, seed: int = 0) -> None:
    """The control: the baseline fine-tuned exactly as the penalised models are (fresh optimiser and schedule),
    with W = 0, so that what the fine-tune itself does to accuracy is measured apart from the penalty."""
    import dataclasses

    from s5rf_neuro import training
    from s5rf_neuro.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(baseline)
    recipe = training.Recipe.from_dict(checkpoint.extra["recipe"])
    if epochs is not None:
        recipe = dataclasses.replace(recipe, epochs=epochs)
    recipe = dataclasses.replace(recipe, seed=seed)
    print(f"control: {baseline.name} fine-tuned {recipe.epochs} epochs with W = 0, seed {seed}", file=sys.stderr)
    training.run(checkpoint.dataset.recorded_source, recipe, out, resume=dataclasses.replace(checkpoint, extra={}),
                 progress=False)


def _uj(pj: float) -> str:
    return f"{pj / 1e6:.3f}"


def table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown lines of one data set's sweep."""
    base_hidden = rows[0]["synops"]["hidden"]
    lines = [
        "| penalty W | target | seed | float acc. | integer acc. | spikes / layer | synops input | synops hidden | hidden vs W=0 "
        "| synops readout | synops total | loihi1 (µJ) | sanafe_loihi (µJ) | dense fp32 / loihi1 | dense int8 / loihi1 "
        "| activation sparsity |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        synops = row["synops"]
        relative = synops["hidden"] / base_hidden if base_hidden else float("nan")
        label = f"{row['penalty']:g}" + (" (control: fine-tuned, W = 0)" if row.get("control") else "")
        lines.append(
            f"| {label} | {row['synops_target']:,.0f} | {row.get('seed', 0)} | {100 * row['float_accuracy']:.2f} % | {100 * row['integer_accuracy']:.2f} % "
            f"| {', '.join(f'{s:.0f}' for s in row['spikes'])} | {synops['input']:,.0f} | {synops['hidden']:,.0f} "
            f"| {relative:.2f} | {synops['readout']:,.0f} | {synops['total']:,.0f} "
            f"| {_uj(row['energy_pj']['loihi1'])} | {_uj(row['energy_pj']['sanafe_loihi'])} "
            f"| {row['ratio_fp32']['loihi1']:.2f} | {row['ratio_int8']['loihi1']:.2f} "
            f"| {row['neurobench']['activation_sparsity']:.4f} |"
        )
    dense = rows[0]["dense"]
    lines += [
        "",
        f"Dense baselines of the same network (horowitz45nm, per inference): {dense['macs']:,.0f} MACs; fp32 "
        f"{_uj(dense['fp32_pj'])} µJ with weight, input and state memory traffic ({_uj(dense['fp32_arithmetic_pj'])} "
        f"µJ arithmetic alone); int8 {_uj(dense['int8_pj'])} µJ ({_uj(dense['int8_arithmetic_pj'])} µJ arithmetic "
        "alone).",
    ]
    return lines


def verdict(rows: list[dict[str, Any]], base: dict[str, Any], against: str) -> tuple[str, dict[str, Any] | None]:
    """The acceptance line against the row `base` (named `against`) and the best qualifying row, if any."""
    qualifying = [
        row for row in rows if row["penalty"] > 0
        if row["synops"]["hidden"] <= HIDDEN_TARGET * base["synops"]["hidden"]
        and row["float_accuracy"] >= base["float_accuracy"] - FLOAT_POINTS / 100
        and abs(row["integer_accuracy"] - row["float_accuracy"]) <= INTEGER_POINTS / 100
    ]
    best = min(qualifying, key=lambda row: row["synops"]["hidden"]) if qualifying else None
    target = (f"hidden synops ≤ 1/3 of W=0, float accuracy ≥ the reference's − {FLOAT_POINTS:g} point, "
              f"integer within {INTEGER_POINTS:g} points of float")
    target = f"reference {against}: {target}"
    if best is None:
        return f"MISS: no penalty reaches the target ({target})", None
    ratio = best["synops"]["hidden"] / base["synops"]["hidden"]
    budget = f", target {best['synops_target']:,.0f}" if best["synops_target"] else ""
    return (f"PASS: W = {best['penalty']:g}{budget} ({target}): hidden synops {ratio:.2f} of W=0, float "
            f"{100 * (best['float_accuracy'] - base['float_accuracy']):+.2f} points, integer − float "
            f"{100 * (best['integer_accuracy'] - best['float_accuracy']):+.2f} points"), best


def seed_means(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per setting trained with several seeds (the control, each penalised (W, target)): the mean of its
    float and integer accuracies and synaptic operations, with the seeds and the accuracy range ("float_range",
    "integer_range")."""
    groups: dict[tuple[float, float, bool], list[dict[str, Any]]] = {}
    for row in rows:
        if row["penalty"] > 0 or row.get("control"):
            groups.setdefault((row["penalty"], row["synops_target"], bool(row.get("control"))), []).append(row)
    means = []
    for (penalty, target, control), group in groups.items():
        if len(group) < 2:
            continue
        def mean(values: list[float]) -> float:
            return sum(values) / len(values)
        floats = [row["float_accuracy"] for row in group]
        integers = [row["integer_accuracy"] for row in group]
        means.append({
            "penalty": penalty, "synops_target": target, "control": control, "seeds": [row.get("seed", 0) for row in group],
            "float_accuracy": mean(floats), "integer_accuracy": mean(integers),
            "float_range": [min(floats), max(floats)], "integer_range": [min(integers), max(integers)],
            "synops": {key: mean([row["synops"][key] for row in group]) for key in group[0]["synops"]},
        })
    return means


def mean_lines(means: list[dict[str, Any]], base: dict[str, Any]) -> list[str]:
    """One line per seed-averaged setting: mean accuracies with their range, hidden operations against `base`."""
    return [
        ("control (W = 0 fine-tuned)" if m["control"] else f"W = {m['penalty']:g}, target {m['synops_target']:,.0f}")
        + f", seeds {', '.join(map(str, m['seeds']))}: float "
        f"{100 * m['float_accuracy']:.2f} % ({100 * m['float_range'][0]:.2f}–{100 * m['float_range'][1]:.2f}), "
        f"integer {100 * m['integer_accuracy']:.2f} % ({100 * m['integer_range'][0]:.2f}–"
        f"{100 * m['integer_range'][1]:.2f}), hidden synops {m['synops']['hidden'] / base['synops']['hidden']:.2f} "
        "of W=0 (means over the seeds)"
        for m in means
    ]


def sweep(name: str, baseline: Path, penalties: Sequence[float], scratch: Path, args: argparse.Namespace,
          samples: int | None) -> list[dict[str, Any]]:
    """Rows for the baseline and each penalty on one data set."""
    rows = [measure(baseline, 0.0, samples)]
    if not args.quick and not (args.from_scratch and name == "digits"):
        for seed in args.seeds:
            control = scratch / f"{name}-control-s{seed}.ckpt"
            train_control(baseline, control, args.epochs, seed)
            rows.append({**measure(control, 0.0, samples, seed=seed), "control": True})
    base = rows[0]["float_synops"]
    budget = base["input"] + args.budget * (base["hidden"] + base["readout"])
    runs = [(w, 0.0, 0) for w in penalties] + [(w, budget, s) for w in args.budget_penalties for s in args.seeds]
    for penalty, target, seed in runs:
        out = scratch / f"{name}-w{penalty:g}-t{target:.0f}-s{seed}.ckpt"
        train(penalty, baseline, out, args.epochs, args.from_scratch and name == "digits", args.threads, target, seed)
        rows.append(measure(out, penalty, samples, target, seed))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/energy.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2-epoch baseline, one penalty, 1 epoch, 120 samples")
    add_model_options(parser)
    parser.add_argument("--penalties", type=float, nargs="+", default=None,
                        help=f"penalties W to sweep (default {' '.join(f'{w:g}' for w in PENALTIES)})")
    parser.add_argument("--budget", type=float, default=BUDGET,
                        help="budgeted runs: --synops-target = the baseline's input-layer operations + BUDGET x its "
                        f"other operations (default {BUDGET:g})")
    parser.add_argument("--budget-penalties", type=float, nargs="*", default=None,
                        help=f"penalties of the budgeted runs (default {' '.join(f'{w:g}' for w in BUDGET_PENALTIES)}; "
                        "none with --quick)")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS),
                        help=f"seeds of each budgeted run (default {' '.join(map(str, SEEDS))})")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs of each penalised run (default: s5rf-train's for a fresh fine-tune, or the "
                        "digits default's from scratch)")
    parser.add_argument("--from-scratch", action="store_true",
                        help="train each digits model from scratch instead of fine-tuning the baseline")
    args = parser.parse_args(argv)
    check_model_options(parser, args)
    penalties = args.penalties or (QUICK_PENALTIES if args.quick else PENALTIES)
    if any(not (w > 0 and w < float("inf")) for w in penalties):
        parser.error("argument --penalties: every penalty must be a finite number > 0")
    if args.budget_penalties is None:
        args.budget_penalties = () if args.quick else BUDGET_PENALTIES
    if any(not (w > 0 and w < float("inf")) for w in args.budget_penalties) or not 0 < args.budget < 1:
        parser.error("argument --budget/--budget-penalties: budget in (0, 1), penalties finite and > 0")
    if args.quick and args.epochs is None:
        args.epochs = 1

    samples = 120 if args.quick else None
    results: dict[str, Any] = {}
    sections = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, path in models_to_measure(args, Path(scratch), 2, args.quick):
            rows = sweep(name, path, penalties, Path(scratch), args, samples)
            results[name] = rows
            lines = table(rows)
            means = seed_means(rows)
            results[f"{name}_seed_means"] = means
            checks = mean_lines(means, rows[0])
            checks.append(verdict(rows, rows[0], "W = 0; any single run")[0])
            if means:
                checks.append(verdict(means, rows[0], "W = 0; means over the seeds")[0])
            control = next((row for row in rows if row.get("control")), None)
            if control is not None:
                checks.append(verdict(rows, control, f"the W = 0 control fine-tuned like the penalised models, seed "
                                      f"{control['seed']}; any single run")[0])
            control_mean = next((m for m in means if m["control"]), None)
            if control_mean is not None:
                checks.append(verdict(means, control_mean, "the W = 0 control; means over the seeds")[0])
            how = "from scratch" if args.from_scratch and name == "digits" else "fine-tuned from W = 0"
            title = (f"{name} ({rows[0]['samples']} test samples; penalised models {how}, "
                     f"{rows[-1]['epochs']} epochs)")
            sections += data_set_section(title, lines, checks)
    header = [
        "## Energy (`bench/energy.py`)",
        "",
        "Accuracy against synaptic operations and estimated energy per inference for `s5rf-train --synops-penalty W` (and, in the rows with a target, `--synops-target T`: only the "
        f"operations above T are penalised; T = the baseline's input-layer operations + {args.budget:g} × its "
        "others); "
        "the unpenalised model (W = 0) is the baseline measured in the same run. Integer = loihi2 network in the "
        "golden simulator; spikes, synaptic operations and energies are the integer network's, per test sample. "
        "Energies name their profile: loihi1 (Davies et al. 2018, measured) and sanafe_loihi (the SANA-FE "
        "simulator's Loihi figures); no per-operation energy for Loihi 2 has been published. Dense baselines "
        "include memory traffic (Horowitz, ISSCC 2014)."
        + (" Quick run: 2-epoch baseline, 1 epoch per penalty, 120 test samples." if args.quick else ""),
        "",
    ]
    write_results("energy", "\n".join(header + sections), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
