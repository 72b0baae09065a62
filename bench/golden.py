"""Benchmark: golden simulator throughput on the digits test set against the float PyTorch model.

The digits default model (from `--checkpoint`, or trained here) is discretised
and quantised for loihi2; the whole digits test set is then run, repeatedly,
through

- the golden simulator on the integer network (the oracle of the Lava models),
- the golden simulator on the float64 discrete network,
- baseline, measured in the same run: the float PyTorch model's batched
  forward pass (eval mode, no gradients, float32, its parallel scan),

all with the same number of CPU threads and the same batch size. Reported:
samples per second (median of the repeats, by wall time and by CPU time) and
the ratio of each golden run to the PyTorch baseline.

    python bench/golden.py [--quick] [--checkpoint PATH] [--repeats N] [--threads N] [--batch-size N]

--quick trains a 1-epoch model and times one repeat (smoke run). Writes bench/results/golden.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence

from s5rf_neuro.atomic import write_text_atomic

RESULTS = Path(__file__).resolve().parent / "results" / "golden.md"


def median_rates(run: Callable[[], object], samples: int, repeats: int) -> tuple[float, float]:
    """(wall, CPU) samples per second of `run` (one pass over `samples` samples): medians over `repeats` after a warm-up.

    The CPU rate uses this process's CPU time, the fairer figure on a machine shared with other work.
    """
    run()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return samples / statistics.median(walls), samples / statistics.median(cpus)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/golden.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1-epoch model, one repeat (smoke run)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="digits checkpoint (default: train one here)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes over the test set (median reported)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch and numpy's BLAS (default 1)")
    parser.add_argument("--batch-size", type=int, default=512, help="samples per batch for every run (default 512)")
    args = parser.parse_args(argv)
    if args.repeats <= 0 or args.threads <= 0 or args.batch_size <= 0:
        parser.error("argument --repeats/--threads/--batch-size: must be positive")
    repeats = 1 if args.quick else args.repeats

    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    from s5rf_neuro.checkpoint import load_checkpoint
    from s5rf_neuro.data.registry import load_split
    from s5rf_neuro.export.discretise import discretise
    from s5rf_neuro.export.quantise import quantise
    from s5rf_neuro.hardware.golden import simulate
    from s5rf_neuro.hardware.target import LOIHI2
    from s5rf_neuro.training import train_digits_default

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch, threadpool_limits(args.threads):
        path = args.checkpoint
        if path is None:
            path = Path(scratch) / "digits.ckpt"
            print("training the digits default model ...", file=sys.stderr)
            train_digits_default(path, epochs=1 if args.quick else None)
        checkpoint = load_checkpoint(path)
        model = checkpoint.build_model()
        data = load_split(checkpoint.dataset["source"], "test")
        float_network = discretise(model, {"dataset": checkpoint.dataset})
        int_network, _ = quantise(float_network, LOIHI2)
        inputs = data.inputs
        samples = len(inputs)
        tensor = torch.from_numpy(inputs.astype(np.float32))

        def torch_forward() -> None:
            with torch.no_grad():
                for start in range(0, samples, args.batch_size):
                    model(tensor[start : start + args.batch_size])

        rates = {
            "PyTorch float model (baseline)": median_rates(torch_forward, samples, repeats),
            "golden, integer network (loihi2)": median_rates(
                lambda: simulate(int_network, inputs, batch_size=args.batch_size), samples, repeats
            ),
            "golden, float64 discrete network": median_rates(
                lambda: simulate(float_network, inputs, batch_size=args.batch_size), samples, repeats
            ),
        }
    base_wall, base_cpu = rates["PyTorch float model (baseline)"]
    config = checkpoint.config
    shape = f"{config.num_layers} × {config.num_neurons} neurons, {data.time_steps} time steps, {data.input_dim} inputs"
    load = os.getloadavg()[0]
    print(f"digits test set: {samples} samples ({shape}); batch {args.batch_size}, {args.threads} thread(s), "
          f"median of {repeats}, load average {load:.1f}")
    lines = [
        "## Golden simulator throughput (`bench/golden.py`)",
        "",
        f"Digits test set ({samples} samples; model {shape}), batch {args.batch_size}, "
        f"{args.threads} CPU thread(s), median of {repeats} passes{' (quick run)' if args.quick else ''}, "
        f"load average {load:.1f}. Rates by wall time and by this process's CPU time.",
        "",
        "| run | samples/s (wall) | samples/s (CPU) | ratio to PyTorch (wall / CPU) |",
        "|---|---|---|---|",
    ]
    for name, (wall, cpu) in rates.items():
        print(f"{name:36s} {wall:8.0f} samples/s wall {cpu:8.0f} samples/s CPU   "
              f"{wall / base_wall:5.2f} / {cpu / base_cpu:5.2f} × PyTorch")
        lines.append(f"| {name} | {wall:.0f} | {cpu:.0f} | {wall / base_wall:.2f} × / {cpu / base_cpu:.2f} × |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(RESULTS, "\n".join(lines) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
