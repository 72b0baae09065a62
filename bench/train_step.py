"""Benchmark: one training step (forward + backward + optimiser step) of the paper presets.

- CPU: the SHD preset (2 × 128 neurons, 32 blocks, 140 inputs, 20 classes),
  batch 32, T = 250;
- CUDA (where present): the SSC preset (4 × 512 neurons, 16 blocks, 140
  inputs, 35 classes), batch 128, T = 250.

Inputs are random binary spikes (5 % density, about SHD's); the step is the one
`s5rf_neuro.training` runs (soft cross-entropy, AdamW/Adam groups). Baseline,
measured in the same run on the same model: the identical step with the
recurrences computed by `sequential_scan` (a Python loop over time, differentiated
by autograd) instead of the chunked parallel `linear_scan`. Reported: median wall
and CPU time per step (CPU time is what to compare on a shared machine; on CUDA
wall time after synchronisation).

    python bench/train_step.py [--quick] [--repeats N] [--threads N]

--quick: batch 4, T = 50, one repeat. Writes bench/results/train_step.md.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from typing import Iterator, Sequence

import torch

from _common import add_timing_options, apply_timing_options, write_results
from s5rf_neuro import layer as layer_module
from s5rf_neuro import model as model_module
from s5rf_neuro import training
from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.model import S5RFClassifier
from s5rf_neuro.scan import sequential_scan

INPUTS = 140
CLASSES = {"shd": 20, "ssc": 35}


@contextlib.contextmanager
def sequential_recurrences() -> Iterator[None]:
    """Within the block, the model's layers and readout use `sequential_scan` (the baseline)."""
    saved = layer_module.linear_scan, model_module.linear_scan
    layer_module.linear_scan = model_module.linear_scan = sequential_scan
    try:
        yield
    finally:
        layer_module.linear_scan, model_module.linear_scan = saved


def make_step(preset: str, batch: int, steps: int, device: torch.device):
    """A closure running one training step of `preset` on fixed random data."""
    torch.manual_seed(0)
    spec = training.PRESETS[preset]
    model = S5RFClassifier(S5RFConfig(input_dim=INPUTS, output_dim=CLASSES[preset], **spec["config"])).to(device)
    recipe = training.Recipe(**spec["recipe"])
    optimizer = torch.optim.AdamW(training.parameter_groups(model, recipe), lr=recipe.lr)
    x = (torch.rand(batch, steps, INPUTS, device=device) < 0.05).float()
    targets = torch.nn.functional.one_hot(torch.randint(0, CLASSES[preset], (batch,), device=device),
                                          CLASSES[preset]).float()
    model.train()

    def step() -> None:
        log_probs, _ = model.forward_with_spikes(x)
        loss = training.soft_cross_entropy(log_probs, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def time_step(step, device: torch.device, repeats: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of `repeats` steps after one warm-up step."""
    walls, cpus = [], []
    for i in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i:
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def measure(preset: str, batch: int, steps: int, device: torch.device, repeats: int) -> dict[str, tuple[float, float]]:
    fast = time_step(make_step(preset, batch, steps, device), device, repeats)
    with sequential_recurrences():
        slow = time_step(make_step(preset, batch, steps, device), device, max(1, repeats // 2))
    return {"parallel scan": fast, "sequential scan (baseline)": slow}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/train_step.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="batch 4, T = 50, one repeat (smoke run)")
    add_timing_options(parser, repeats=5)
    args = parser.parse_args(argv)
    apply_timing_options(parser, args)
    repeats = 1 if args.quick else args.repeats
    runs = [("shd", 4 if args.quick else 32, torch.device("cpu"))]
    if torch.cuda.is_available():
        runs.append(("ssc", 4 if args.quick else 128, torch.device("cuda")))
    steps = 50 if args.quick else 250

    rows = []
    for preset, batch, device in runs:
        results = measure(preset, batch, steps, device, repeats)
        wall_fast, cpu_fast = results["parallel scan"]
        wall_slow, cpu_slow = results["sequential scan (baseline)"]
        # CPU time on the CPU (shared machine), wall time on the GPU (the CPU time there is launch overhead)
        fast, slow = (cpu_fast, cpu_slow) if device.type == "cpu" else (wall_fast, wall_slow)
        what = f"{preset.upper()} preset, batch {batch}, T = {steps}, {device.type}"
        print(f"{what}: step {fast * 1e3:.1f} ms ({'CPU' if device.type == 'cpu' else 'wall'} time; wall "
              f"{wall_fast * 1e3:.1f} ms); sequential-scan baseline {slow * 1e3:.1f} ms -> {slow / fast:.1f}x faster")
        rows.append((what, wall_fast, cpu_fast, wall_slow, cpu_slow, slow / fast))

    fragment = (
        "## Training step (`bench/train_step.py`)\n\n"
        "Forward + backward + optimiser step of the paper presets on random 5 %-density spikes, "
        f"{args.threads} torch thread(s) on the CPU, median of {repeats} steps"
        f"{' (quick smoke run)' if args.quick else ''}. Baseline in the same run: the same step with the "
        "recurrences as a sequential Python loop (`sequential_scan`). Ratio from CPU time on the CPU, "
        "wall time on CUDA.\n\n"
        "| run | wall (ms) | CPU (ms) | baseline wall (ms) | baseline CPU (ms) | speed-up |\n|---|---|---|---|---|---|\n"
        + "".join(f"| {w} | {a * 1e3:.1f} | {b * 1e3:.1f} | {c * 1e3:.1f} | {d * 1e3:.1f} | {r:.1f}× |\n"
                  for w, a, b, c, d, r in rows)
        + ("" if torch.cuda.is_available() else "\nNo CUDA device on this machine: the SSC preset (batch 128) "
           "was not measured.\n")
    )
    write_results("train_step", fragment)
    return 0


if __name__ == "__main__":
    sys.exit(main())
