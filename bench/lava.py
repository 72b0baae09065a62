"""Benchmark: the S5-RF Lava backend against a stock Lava network of the same shape, measured in the same run.

Networks (untrained S5-RF models, HiPPO initialisation, discretised and
quantised to loihi2 with 64 calibration samples, thresholds scaled by
THRESHOLD_SCALE so that every layer spikes; Lava's run time depends on the
processes and steps, hardly on the weights):

- digits: the digits default architecture (32 inputs, 2 × 128 neurons, 10
  classes, T = 32 steps per sample);
- skip: 4 × 128 neurons with skip connections on layers 1 and 2;
- mixing: the digits shape with a zoh first layer and its mixing stage
  (states process, two graded Dense of the eigenvector matrix, threshold
  neurons).

Baseline: a network of Lava's own processes with the same number of
processes, neurons and synapses: `RingBuffer` for the spike source, the very
`Dense` processes the S5-RF builder makes (same weights and message widths),
and a `LIF` in place of each S5-RF layer and of the readout (for a mixing
layer: one LIF for the states and one for the threshold neurons, the
mixing Dense copies between them), run with
`Loihi2SimCfg(select_tag="fixed_pt")` for the same steps. The stock LIF sends
a binary spike when it fires, where the S5-RF states send two graded payloads
every step: the mixing row's per-step ratio includes that traffic, the real
cost of mixing, so the targets are checked on the other two networks.

Measured, alternating S5-RF and stock runs, on the first N digits test samples:

- start-up (after one untimed warm-up run of each): build + compile + first
  sample (one sample's steps plus the pipeline's latency) + stop, t_1, the
  median of REPEATS runs;
- marginal ms per step: (t_N − t_1) / ((N − 1)·T), t_N the median of
  LONG_REPEATS runs on all N samples;
- both by wall time (the figures the targets apply to) and by CPU time of this
  process and Lava's runtime processes (less sensitive to other load);
- the S5-RF spikes and scores of the N-sample run are checked bit-exact
  against the golden simulator.

    python bench/lava.py [--quick] [--samples N]

Writes bench/results/lava.md and bench/results/lava.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from _common import write_results

BENCH_DIR = Path(__file__).resolve().parent
# Run as a script, this file's folder comes first on sys.path and its name would shadow the `lava` package.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH_DIR]
THRESHOLD_SCALE = 0.02
CALIBRATION_SAMPLES = 64
REPEATS = 5
"""Start-up runs per network and side (the median is reported)."""
LONG_REPEATS = 3
"""N-sample runs per network and side (the median is reported)."""
DENSE_PARAMETERS = ("weight_exp", "num_weight_bits", "sign_mode")
"""The `Dense` parameters (besides weights and message bits) a stock copy takes over."""
STARTUP_TARGET = 1.5
STEP_TARGET = 1.1
"""Acceptance: S5-RF / stock start-up and marginal time per step."""


@dataclasses.dataclass(frozen=True)
class Shape:
    """One benchmark network: name, layers, neurons per layer, HiPPO blocks."""

    name: str
    layers: int
    neurons: int
    blocks: int
    discretization: str = "dirac"


DIGITS = Shape("digits (2 × 128)", 2, 128, 8)
SKIP = Shape("skip (4 × 128)", 4, 128, 8)
MIXING = Shape("mixing (2 × 128, zoh)", 2, 128, 8, "zoh")
TARGETED = (DIGITS.name, SKIP.name)
"""The networks the start-up and per-step targets apply to."""


def make_network(shape: Shape):
    """An untrained model of `shape` on digits, discretised, made active and quantised to loihi2."""
    import torch

    from s5rf_neuro.config import S5RFConfig
    from s5rf_neuro.data.registry import load_split
    from s5rf_neuro.export.discretise import discretise
    from s5rf_neuro.export.quantise import quantise
    from s5rf_neuro.hardware.target import LOIHI2
    from s5rf_neuro.model import S5RFClassifier

    torch.manual_seed(0)
    config = S5RFConfig(input_dim=32, output_dim=10, num_neurons=shape.neurons, num_layers=shape.layers,
                        num_blocks=shape.blocks, discretization=shape.discretization)
    discrete = discretise(S5RFClassifier(config).eval())
    active = dataclasses.replace(
        discrete,
        layers=tuple(dataclasses.replace(layer, threshold=layer.threshold * THRESHOLD_SCALE) for layer in discrete.layers),
    )
    calibration = load_split({"kind": "digits"}, "train").inputs[:CALIBRATION_SAMPLES]
    network, _ = quantise(active, LOIHI2, calibration)
    return network


@dataclasses.dataclass
class Census:
    """Processes, neurons (all non-source processes' widths) and synapses (Dense weight entries) of a graph."""

    processes: int
    neurons: int
    synapses: int


def width(process) -> int:
    """The number of neurons of a neuron process (the size of its first port)."""
    port = next(getattr(process, name) for name in ("s_out", "s_out_re", "a_in", "a_in_re") if hasattr(process, name))
    return int(port.shape[0])


def census(source, dense: list, neurons: list) -> Census:
    """Count a graph given as its source, its `Dense` processes and its neuron processes."""
    return Census(
        processes=1 + len(dense) + len(neurons),
        neurons=sum(width(n) for n in neurons),
        synapses=sum(int(d.weights.shape[0] * d.weights.shape[1]) for d in dense),
    )


def build_stock(network, inputs):
    """The stock graph mirroring `build_lava(network, inputs)`: RingBuffer, the same `Dense`s, one LIF per layer and readout.

    Returns (the process to run, steps to run, census).
    """
    import numpy as np
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF

    from s5rf_neuro.hardware.lava_builder import build_lava

    built = build_lava(network, inputs, record_buffer=1)  # never run: its Dense processes are copied
    count, steps, channels = inputs.shape
    source = RingBuffer(data=inputs.reshape(count * steps, channels).T.astype(np.int32))
    by_target: dict[str, list] = {}
    copies = []
    for dense in built.connections:
        copy = Dense(weights=dense.weights.init, num_message_bits=int(np.ravel(dense.num_message_bits.init)[0]),
                     **{key: dense.proc_params.get(key) for key in DENSE_PARAMETERS if dense.proc_params.get(key) is not None})
        copies.append(copy)
        by_target.setdefault(dense.name.rsplit("_", 1)[0], []).append(copy)
    provider = source.s_out
    neurons = []

    def feed(target: str, lif: LIF) -> None:
        """Wire the provider through the copies of `target`'s Dense processes into `lif`, which then provides."""
        nonlocal provider
        for dense in by_target[target]:
            provider.connect(dense.s_in)
            dense.a_out.connect(lif.a_in)
        neurons.append(lif)
        provider = lif.s_out

    for index, layer in enumerate(network.layers):
        vth = max(1, int(np.median(layer.threshold)) >> 6)
        feed(f"layer{index}", LIF(shape=(layer.num_neurons,), du=4095, dv=410, vth=vth))
        if layer.mixing is not None:
            feed(f"layer{index}_mixing", LIF(shape=(layer.num_neurons,), du=4095, dv=4095, vth=vth))
    readout = LIF(shape=(network.output_dim,), du=4095, dv=410, vth=1 << 16)
    (dense,) = by_target["readout"]
    provider.connect(dense.s_in)
    dense.a_out.connect(readout.a_in)
    neurons.append(readout)
    return readout, count * steps + built.latencies[-1], census(source, copies, neurons)


@dataclasses.dataclass(frozen=True)
class Timing:
    """Seconds of one run: wall, and CPU (user + system of this process and of its finished children)."""

    wall: float
    cpu: float


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and its waited-for children (Lava's runtime processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(function: Callable[[], Any]) -> tuple[Any, Timing]:
    """(result, timing) of one call."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = function()
    return result, Timing(time.perf_counter() - wall, cpu_seconds() - cpu)


def run_stock(network, inputs) -> Timing:
    """Build, compile, run and stop the stock graph on `inputs`."""
    from s5rf_neuro.hardware import lava_compat  # noqa: F401  (before any Lava import)
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg

    def run() -> None:
        process, steps, _ = build_stock(network, inputs)
        try:
            process.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        finally:
            process.stop()

    return timed(run)[1]


def run_s5rf(network, inputs) -> tuple[Any, Timing]:
    """`run_lava` on `inputs` (build, compile, run, drain, stop): its result and timing."""
    from s5rf_neuro.hardware.lava_run import run_lava

    return timed(lambda: run_lava(network, inputs))


def alternate(first: Callable[[], Timing], second: Callable[[], Timing], repeats: int) -> dict[str, list[Timing]]:
    """Run S5-RF (`first`) and stock (`second`) alternately `repeats` times; their timings."""
    times: dict[str, list[Timing]] = {"s5rf": [], "stock": []}
    for _ in range(repeats):
        times["s5rf"].append(first())
        times["stock"].append(second())
    return times


def medians(times: dict[str, list[Timing]], clock: str) -> dict[str, float]:
    """Per side, the median seconds by `clock` ("wall" or "cpu")."""
    return {side: statistics.median(getattr(t, clock) for t in runs) for side, runs in times.items()}


def measure(shape: Shape, network, inputs, repeats: int, long_repeats: int) -> dict[str, Any]:
    """Start-up and marginal time per step of the S5-RF and the stock graph, and S5-RF bit-exactness."""
    import numpy as np

    from s5rf_neuro.hardware.golden import simulate
    from s5rf_neuro.hardware.lava_builder import build_lava

    count, steps, _ = inputs.shape
    built = build_lava(network, inputs[:1], record_buffer=1)
    ours = census(built.source, built.connections,
                  [*built.neurons, *(state for state in built.states if state is not None), built.readout])
    stock = build_stock(network, inputs[:1])[2]
    assert ours == stock, (ours, stock)
    results = []
    alternate(lambda: run_s5rf(network, inputs[:1])[1], lambda: run_stock(network, inputs[:1]), 1)  # warm-up

    def s5rf(samples: int) -> Timing:
        result, timing = run_s5rf(network, inputs[:samples])
        results.append(result)
        return timing

    startup = alternate(lambda: s5rf(1), lambda: run_stock(network, inputs[:1]), repeats)
    full = alternate(lambda: s5rf(count), lambda: run_stock(network, inputs), long_repeats)
    golden = simulate(network, inputs)
    lava = results[-1]
    exact = all(np.array_equal(a, b) for a, b in zip(lava.spikes, golden.spikes)) and np.array_equal(
        lava.scores, golden.scores
    )
    marginal_steps = (count - 1) * steps
    figures: dict[str, dict[str, float]] = {}
    for clock in ("wall", "cpu"):
        first, everything = medians(startup, clock), medians(full, clock)
        figures[f"startup_{clock}"] = first
        figures[f"per_step_{clock}"] = {side: 1000 * (everything[side] - first[side]) / marginal_steps for side in first}
    return {
        "name": shape.name,
        "layers": shape.layers,
        "neurons_per_layer": shape.neurons,
        "skip": [layer.skip for layer in network.layers],
        "mixing": [layer.mixing is not None for layer in network.layers],
        "targeted": shape.name in TARGETED,
        "processes": ours.processes,
        "neurons": ours.neurons,
        "synapses": ours.synapses,
        "samples": count,
        "steps_per_sample": steps,
        "spike_rate": [float(s.mean()) for s in golden.spikes],
        "startup_s": figures["startup_wall"],
        "ms_per_step": figures["per_step_wall"],
        "startup_ratio": ratio(figures["startup_wall"]),
        "ms_per_step_ratio": ratio(figures["per_step_wall"]),
        "cpu": {
            "startup_s": figures["startup_cpu"],
            "ms_per_step": figures["per_step_cpu"],
            "startup_ratio": ratio(figures["startup_cpu"]),
            "ms_per_step_ratio": ratio(figures["per_step_cpu"]),
        },
        "runs": {
            part: {side: [dataclasses.asdict(t) for t in runs] for side, runs in times.items()}
            for part, times in (("startup", startup), ("all_samples", full))
        },
        "bit_exact": bool(exact),
    }


def ratio(pair: dict[str, float]) -> float:
    """S5-RF over stock."""
    return pair["s5rf"] / pair["stock"]


def fragment(rows: list[dict[str, Any]], cores: int, quick: bool) -> str:
    """The Markdown fragment for bench/results.md."""
    table = "\n".join(
        f"| {r['name']} | {r['processes']} / {r['neurons']} / {r['synapses']} | {r['samples']} × {r['steps_per_sample']} | "
        f"{r['startup_s']['s5rf']:.2f} | {r['startup_s']['stock']:.2f} | {r['startup_ratio']:.2f} × | "
        f"{r['ms_per_step']['s5rf']:.2f} | {r['ms_per_step']['stock']:.2f} | {r['ms_per_step_ratio']:.2f} × | "
        f"{r['cpu']['startup_ratio']:.2f} × / {r['cpu']['ms_per_step_ratio']:.2f} × | {'yes' if r['bit_exact'] else 'NO'} |"
        for r in rows
    )
    return (
        "## Lava backend vs stock Lava (`bench/lava.py`)\n\n"
        "Quantised (loihi2) untrained S5-RF models on digits samples in Lava's Loihi2SimCfg (fixed_pt) on the CPU, "
        f"{cores} cores{' (quick smoke run)' if quick else ''}, against a stock Lava network of the same shape "
        "(RingBuffer source, the same Dense processes, one LIF per layer and for the readout) measured in the same "
        f"run. Start-up: build + compile + first sample + stop, median of {REPEATS if not quick else 1}; per step: "
        "marginal time once running. Targets: start-up ≤ "
        f"{STARTUP_TARGET} ×, per step ≤ {STEP_TARGET} × stock (wall time). The CPU-time ratios (this process and "
        "Lava's runtime processes, user + system) are less sensitive to other load on the machine. "
        "The mixing network's states send two graded payloads every step where the stock LIF sends binary spikes "
        "when it fires: its ratios show what mixing costs and carry no target.\n\n"
        "| network | processes / neurons / synapses | samples × steps | start-up S5-RF (s) | start-up stock (s) | "
        "ratio | ms/step S5-RF | ms/step stock | ratio | CPU-time ratios (start-up / per step) | bit-exact vs golden |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
        f"{table}\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/lava.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="digits model only, 10 samples, one run each (smoke run)")
    parser.add_argument("--samples", type=int, default=None, help="test samples per network (default 40, quick 10)")
    args = parser.parse_args(argv)
    count = args.samples or (10 if args.quick else 40)
    if count < 2:
        parser.error("--samples: at least 2 (the marginal time needs more than the first)")
    from s5rf_neuro.data.registry import load_split

    inputs = load_split({"kind": "digits"}, "test").inputs[:count]
    shapes = [DIGITS] if args.quick else [DIGITS, SKIP, MIXING]
    repeats, long_repeats = (1, 1) if args.quick else (REPEATS, LONG_REPEATS)
    rows = []
    for shape in shapes:
        row = measure(shape, make_network(shape), inputs, repeats, long_repeats)
        rows.append(row)
        print(f"{row['name']}: {row['processes']} processes, {row['neurons']} neurons, {row['synapses']} synapses; "
              f"{row['samples']} samples × {row['steps_per_sample']} steps "
              f"(spike rates {', '.join(f'{r:.2f}' for r in row['spike_rate'])})")
        startup_target = f" (target ≤ {STARTUP_TARGET})" if row["targeted"] else " (no target)"
        step_target = f" (target ≤ {STEP_TARGET})" if row["targeted"] else " (no target)"
        print(f"  start-up   S5-RF {row['startup_s']['s5rf']:6.2f} s   stock {row['startup_s']['stock']:6.2f} s   "
              f"ratio {row['startup_ratio']:.2f}{startup_target}")
        print(f"  per step   S5-RF {row['ms_per_step']['s5rf']:6.2f} ms  stock {row['ms_per_step']['stock']:6.2f} ms  "
              f"ratio {row['ms_per_step_ratio']:.2f}{step_target}; bit-exact: {row['bit_exact']}")
        print(f"  CPU time   start-up ratio {row['cpu']['startup_ratio']:.2f}, per step ratio "
              f"{row['cpu']['ms_per_step_ratio']:.2f} (S5-RF {row['cpu']['ms_per_step']['s5rf']:.2f} ms, "
              f"stock {row['cpu']['ms_per_step']['stock']:.2f} ms)")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    record = {
        "mode": "quick" if args.quick else "full",
        "cores": cores,
        "targets": {"startup_ratio": STARTUP_TARGET, "ms_per_step_ratio": STEP_TARGET},
        "networks": rows,
    }
    write_results("lava", fragment(rows, cores, args.quick), record)
    return 0 if all(r["bit_exact"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
