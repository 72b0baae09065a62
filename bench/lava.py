"""Benchmark: Lava CPU simulation (Loihi2SimCfg, fixed_pt) against the golden simulator, same samples, same run.

Networks: the digits default architecture (2 × 64 neurons, 32 inputs, 10
classes, T = 32) and, in the full run, a 4-layer model with skip connections
(4 × 128 neurons); both untrained S5-RF models (the HiPPO initialisation),
discretised and quantised to loihi2 with 64 calibration samples. Lava's
run time depends on the number of processes and time steps, hardly on the
weights, so an untrained model times like a trained one. Each layer's
thresholds are scaled by THRESHOLD_SCALE so that every layer spikes.

Measured on the first N digits test samples:
- golden, batched (`simulate`, batch 256) and golden one sample at a time
  (batch 1): the baselines;
- Lava: `run_lava` on the N samples (build, compile, start-up and run), and
  the marginal time per sample once running, (t_N − t_2)/(N − 2), with t_2
  the faster of two runs on 2 samples (the start-up);
- the Lava spikes and scores are checked to be bit-exact with golden.

    python bench/lava.py [--quick] [--samples N]

Writes bench/results/lava.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from s5rf_neuro.atomic import write_text_atomic

BENCH_DIR = Path(__file__).resolve().parent
# Run as a script, this file's folder comes first on sys.path and its name would shadow the `lava` package.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH_DIR]
RESULTS = BENCH_DIR / "results" / "lava.md"
THRESHOLD_SCALE = 0.02
CALIBRATION_SAMPLES = 64


def make_network(layers: int, neurons: int):
    """An untrained digits model of `layers` × `neurons`, discretised, made active and quantised to loihi2."""
    import torch

    from s5rf_neuro.config import S5RFConfig
    from s5rf_neuro.data.registry import load_split
    from s5rf_neuro.export.discretise import discretise
    from s5rf_neuro.export.quantise import quantise
    from s5rf_neuro.hardware.target import LOIHI2
    from s5rf_neuro.model import S5RFClassifier

    torch.manual_seed(0)
    model = S5RFClassifier(S5RFConfig(input_dim=32, output_dim=10, num_neurons=neurons, num_layers=layers)).eval()
    discrete = discretise(model)
    active = dataclasses.replace(
        discrete,
        layers=tuple(dataclasses.replace(layer, threshold=layer.threshold * THRESHOLD_SCALE) for layer in discrete.layers),
    )
    calibration = load_split({"kind": "digits"}, "train").inputs[:CALIBRATION_SAMPLES]
    network, _ = quantise(active, LOIHI2, calibration)
    return network


def timed(function, *args, **kwargs):
    """(result, wall seconds) of one call."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def measure(name: str, network, inputs) -> dict:
    """Golden and Lava timings of `network` on `inputs`, and whether they agree bit for bit."""
    import numpy as np

    from s5rf_neuro.hardware.golden import simulate
    from s5rf_neuro.hardware.lava_run import run_lava

    count = len(inputs)
    golden, golden_s = timed(simulate, network, inputs)
    _, golden_single_s = timed(lambda: [simulate(network, inputs[i : i + 1]) for i in range(count)])
    lava, lava_s = timed(run_lava, network, inputs)
    lava_two_s = min(timed(run_lava, network, inputs[:2])[1] for _ in range(2))
    exact = all(np.array_equal(a, b) for a, b in zip(lava.spikes, golden.spikes)) and np.array_equal(
        lava.scores, golden.scores
    )
    return {
        "name": name,
        "samples": count,
        "steps": int(inputs.shape[1]),
        "spike_rate": [float(s.mean()) for s in golden.spikes],
        "golden_ms": 1000 * golden_s / count,
        "golden_single_ms": 1000 * golden_single_s / count,
        "lava_ms": 1000 * lava_s / count,
        "lava_marginal_ms": 1000 * (lava_s - lava_two_s) / (count - 2),
        "lava_startup_s": lava_two_s,
        "bit_exact": bool(exact),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/lava.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="digits model only, 20 samples (smoke run)")
    parser.add_argument("--samples", type=int, default=None, help="test samples per network (default 100, quick 20)")
    args = parser.parse_args(argv)
    count = args.samples or (20 if args.quick else 100)
    if count < 3:
        parser.error("--samples: at least 3 (the marginal time needs more than 2)")
    from s5rf_neuro.data.registry import load_split

    inputs = load_split({"kind": "digits"}, "test").inputs[:count]
    shapes = [(2, 64)] if args.quick else [(2, 64), (4, 128)]
    rows = []
    for layers, neurons in shapes:
        name = f"{layers} × {neurons}" + (" (skip)" if layers > 2 else "")
        row = measure(name, make_network(layers, neurons), inputs)
        rows.append(row)
        print(f"{name} neurons, {row['samples']} digits samples of {row['steps']} steps "
              f"(spike rates {', '.join(f'{r:.2f}' for r in row['spike_rate'])}):")
        print(f"  golden batched   {row['golden_ms']:9.3f} ms/sample")
        print(f"  golden batch 1   {row['golden_single_ms']:9.3f} ms/sample")
        print(f"  Lava (CPU)       {row['lava_ms']:9.3f} ms/sample incl. start-up "
              f"= {row['lava_ms'] / row['golden_ms']:.0f} × golden batched, "
              f"{row['lava_ms'] / row['golden_single_ms']:.0f} × golden batch 1")
        print(f"  Lava marginal    {row['lava_marginal_ms']:9.3f} ms/sample "
              f"= {row['lava_marginal_ms'] / row['golden_single_ms']:.0f} × golden batch 1; "
              f"start-up {row['lava_startup_s']:.1f} s; bit-exact: {row['bit_exact']}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    table = "\n".join(
        f"| {r['name']} | {r['samples']} × {r['steps']} | {r['golden_ms']:.3f} | {r['golden_single_ms']:.3f} | "
        f"{r['lava_ms']:.1f} | {r['lava_marginal_ms']:.1f} | {r['lava_ms'] / r['golden_ms']:.0f} × | "
        f"{r['lava_marginal_ms'] / r['golden_single_ms']:.0f} × | {'yes' if r['bit_exact'] else 'NO'} |"
        for r in rows
    )
    fragment = (
        "## Lava vs golden simulator (`bench/lava.py`)\n\n"
        f"Quantised (loihi2) digits models, the same test samples through the golden simulator and through "
        f"Lava's Loihi2SimCfg (fixed_pt models) on the CPU, {cores} cores"
        f"{' (quick smoke run)' if args.quick else ''}. Times in ms per sample; Lava includes building, "
        "compiling and starting its processes, the marginal time excludes them.\n\n"
        "| network | samples × steps | golden batched | golden batch 1 | Lava | Lava marginal | "
        "Lava / golden batched | marginal / golden batch 1 | bit-exact |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
        f"{table}\n"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(RESULTS, fragment)
    print(f"wrote {RESULTS}")
    return 0 if all(r["bit_exact"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
