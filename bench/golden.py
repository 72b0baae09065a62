"""Benchmark: golden integer simulator throughput against the float PyTorch model, at three sizes.

Networks, each quantised for loihi2:

- digits default (2 × 128 neurons, 32 inputs, T = 32): the trained model
  (`--checkpoint`, or trained here) on the whole digits test set;
- SHD preset sizes (2 × 128 neurons, 32 blocks, 140 inputs, 20 classes) and
- SSC preset sizes (4 × 512 neurons, 16 blocks, 140 inputs, 35 classes):
  untrained models (seed 0) on random binary spikes of 5 % density, T = 250.

Each network runs through the golden simulator on the integer network
(`simulate`, spike counts only, as an accuracy run keeps them) and, as the
baseline measured in the same run, through the float PyTorch model's
evaluation (`model(x)` under `no_grad`, float32, its parallel scan), one pass
each alternately, first on one core (torch.set_num_threads(1); golden one
worker, BLAS one thread), then on all cores (torch on every core; golden one
worker per core). Reported: samples per second, median of the passes, by
wall time and by this process's CPU time, and the ratio golden / PyTorch.

    python bench/golden.py [--quick] [--checkpoint PATH] [--repeats N] [--samples N]

--quick: untrained digits model on 32 test samples, SHD/SSC sizes with 8
samples of T = 32, one pass. Writes bench/results/golden.md and golden.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import s5rf_neuro.commands  # noqa: F401  (torch's OpenMP threads wait as the commands make them: passively)
from _common import write_results

INPUTS = 140
CLASSES = {"shd": 20, "ssc": 35}
DENSITY = 0.05


@dataclass
class Row:
    """One network at one core count: samples per second of each run, by wall and CPU time."""

    name: str
    cores: int
    samples: int
    time_steps: int
    shape: str
    torch_samples_per_s: float
    golden_samples_per_s: float
    torch_cpu_samples_per_s: float
    golden_cpu_samples_per_s: float


@dataclass
class Case:
    """A network to measure: the torch model, its integer network and inputs (N, T, H) uint8."""

    name: str
    model: Any
    network: Any
    inputs: Any
    shape: str


def alternate(runs: Sequence[Callable[[], object]], samples: int, repeats: int) -> list[tuple[float, float]]:
    """(wall, CPU) samples/s of each run: medians over `repeats` alternating passes after one warm-up pass each."""
    for run in runs:
        run()
    walls: list[list[float]] = [[] for _ in runs]
    cpus: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for index, run in enumerate(runs):
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            walls[index].append(time.perf_counter() - wall)
            cpus[index].append(time.process_time() - cpu)
    return [(samples / statistics.median(w), samples / statistics.median(c)) for w, c in zip(walls, cpus)]


def build_cases(args: argparse.Namespace, scratch: Path) -> list[Case]:
    """The three networks with their inputs."""
    import numpy as np
    import torch

    from s5rf_neuro.checkpoint import load_checkpoint
    from s5rf_neuro.config import S5RFConfig
    from s5rf_neuro.data import DatasetInfo, dataset_info, load_split
    from s5rf_neuro.export.discretise import discretise
    from s5rf_neuro.export.quantise import quantise
    from s5rf_neuro.hardware.target import LOIHI2
    from s5rf_neuro.model import S5RFClassifier
    from s5rf_neuro.training import DIGITS_DEFAULT, PRESETS, train_digits_default

    def case(name: str, model: Any, inputs: Any, dataset: DatasetInfo) -> Case:
        model.eval()
        network, _ = quantise(discretise(model, {"dataset": dataset.to_dict()}), LOIHI2)
        layers = len(model.layers)
        shape = f"{layers} × {network.layers[0].num_neurons}, {inputs.shape[2]} inputs, T = {inputs.shape[1]}"
        return Case(name, model, network, inputs, shape)

    data = load_split({"kind": "digits"}, "test")
    if args.quick:
        torch.manual_seed(0)
        config = S5RFConfig(input_dim=data.input_dim, output_dim=data.num_classes, **DIGITS_DEFAULT["config"])
        digits_model, dataset, digits_inputs = S5RFClassifier(config), dataset_info({"kind": "digits"}, data), data.inputs[:32]
    else:
        path = args.checkpoint
        if path is None:
            path = scratch / "digits.ckpt"
            print("training the digits default model ...", file=sys.stderr)
            train_digits_default(path)
        checkpoint = load_checkpoint(path)
        digits_model, dataset = checkpoint.build_model(), checkpoint.dataset
        digits_inputs = load_split(dataset.recorded_source, "test").inputs
    cases = [case("digits default", digits_model, np.ascontiguousarray(digits_inputs), dataset)]
    steps, samples = (32, 8) if args.quick else (250, args.samples)
    rng = np.random.default_rng(0)
    for preset in ("shd", "ssc"):
        torch.manual_seed(0)
        config = S5RFConfig(input_dim=INPUTS, output_dim=CLASSES[preset], **PRESETS[preset]["config"])
        inputs = (rng.random((samples, steps, INPUTS)) < DENSITY).astype(np.uint8)
        record = DatasetInfo(name=f"random spikes ({preset} size)", encoding=f"Bernoulli {DENSITY}", time_steps=steps,
                             input_dim=INPUTS, class_names=tuple(map(str, range(CLASSES[preset]))), source=None)
        cases.append(case(f"{preset.upper()} preset", S5RFClassifier(config), inputs, record))
    return cases


def measure(case: Case, cores: int, repeats: int) -> Row:
    """Torch evaluation and golden simulation of `case` on `cores` cores."""
    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    from s5rf_neuro.hardware.golden import simulate

    samples = len(case.inputs)
    tensor = torch.from_numpy(case.inputs.astype(np.float32))
    torch.set_num_threads(cores)

    def torch_eval() -> None:
        with torch.no_grad():
            case.model(tensor)

    def golden() -> None:
        simulate(case.network, case.inputs, workers=cores, keep_spikes=False)

    with threadpool_limits(cores):
        (torch_wall, torch_cpu), (golden_wall, golden_cpu) = alternate([torch_eval, golden], samples, repeats)
    return Row(case.name, cores, samples, case.inputs.shape[1], case.shape, torch_wall, golden_wall, torch_cpu, golden_cpu)


def report(rows: list[Row], repeats: int, quick: bool, load_before: float) -> str:
    """The Markdown fragment; load_before: the 1-min load average when the measurements began."""
    load = os.getloadavg()[0]
    lines = [
        "## Golden simulator throughput (`bench/golden.py`)",
        "",
        "Integer (loihi2) networks through the golden simulator against the float PyTorch model's evaluation "
        "(baseline, same run, alternating passes), on one core and on all cores. Digits: "
        f"{'an untrained default model on part of' if quick else 'the trained default on'} its test set; "
        f"SHD/SSC preset sizes: untrained models on random spikes ({DENSITY:.0%} density). "
        f"Median of {repeats} pass(es){' (quick run)' if quick else ''}, 1-min load average {load_before:.1f} at the start, "
        f"{load:.1f} at the end. "
        "Samples per second by wall time and by this process's CPU time.",
        "",
        "| network | cores | samples | PyTorch wall / CPU | golden wall / CPU | golden ÷ PyTorch, wall / CPU |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} ({row.shape}) | {row.cores} | {row.samples} | {row.torch_samples_per_s:.0f} / "
            f"{row.torch_cpu_samples_per_s:.0f} | {row.golden_samples_per_s:.0f} / {row.golden_cpu_samples_per_s:.0f} | "
            f"{row.golden_samples_per_s / row.torch_samples_per_s:.2f} × / "
            f"{row.golden_cpu_samples_per_s / row.torch_cpu_samples_per_s:.2f} × |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/golden.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="untrained digits model, short SHD/SSC inputs, one pass")
    parser.add_argument("--checkpoint", type=Path, default=None, help="digits checkpoint (default: train one here)")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per run (median reported)")
    parser.add_argument("--samples", type=int, default=128, help="random samples for the SHD and SSC sizes")
    args = parser.parse_args(argv)
    if args.repeats <= 0 or args.samples <= 0:
        parser.error("argument --repeats/--samples: must be positive")
    repeats = 1 if args.quick else args.repeats

    from s5rf_neuro.hardware.golden import default_workers

    all_cores = default_workers()
    with tempfile.TemporaryDirectory() as scratch:
        cases = build_cases(args, Path(scratch))
    rows = []
    load_before = os.getloadavg()[0]
    for cores in sorted({1, all_cores}):
        for case in cases:
            row = measure(case, cores, repeats)
            rows.append(row)
            print(f"{row.name:15s} {row.cores} core(s): PyTorch {row.torch_samples_per_s:7.0f} wall "
                  f"{row.torch_cpu_samples_per_s:7.0f} CPU samples/s, golden {row.golden_samples_per_s:7.0f} wall "
                  f"{row.golden_cpu_samples_per_s:7.0f} CPU samples/s: "
                  f"{row.golden_samples_per_s / row.torch_samples_per_s:5.2f} × wall, "
                  f"{row.golden_cpu_samples_per_s / row.torch_cpu_samples_per_s:5.2f} × CPU")
    write_results("golden", report(rows, repeats, args.quick, load_before), {"networks": [asdict(row) for row in rows]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
