"""Benchmark: forward + backward of the parallel scan against sequential loops, on the CPU.

The recurrence z[t] = λ̄ ⊙ z[t−1] + b[t] (complex64, batch 32, T = 250,
512 neurons, the size of one SHD/SSC layer) is differentiated with respect to
λ̄ and b through the loss Σ w ⊙ Re z (w real, as the spike threshold sees
the state). Each variant is timed in turn, repeatedly; the median of the
wall-clock times and the median of this process's CPU times are reported
(the CPU time is what to compare on a machine shared with other work).
Measured in the same run:

- `linear_scan`: the chunked parallel scan with its hand-written backward;
- plain loop (the baseline): `sequential_scan`, the recurrence written as a
  Python loop over time (`z = a * z + b[:, t]`) and differentiated by autograd;
- unbind loop: the same loop over `b.unbind(1)`, which avoids autograd's
  per-step full-size gradient of `b[:, t]` (the fastest loop we know).

The ratio against the plain loop is the acceptance figure (≥ 10×); the ratio
against the unbind loop is printed alongside so the comparison is honest.

    python bench/scan.py [--quick] [--repeats N] [--threads N]

--quick runs batch 4, T = 50, 64 neurons once (smoke run). Writes bench/results/scan.md.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from typing import Callable, Sequence

import torch

from _common import add_timing_options, apply_timing_options, write_results
from s5rf_neuro.scan import linear_scan, sequential_scan

TARGET_RATIO = 10.0

Scan = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def unbind_loop(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The sequential loop over `b.unbind(1)` (time axis 1)."""
    z = torch.zeros_like(b[:, 0])
    states = []
    for step in b.unbind(1):
        z = a * z + step
        states.append(z)
    return torch.stack(states, dim=1)


def forward_backward_seconds(scan: Scan, a: torch.Tensor, b: torch.Tensor, weight: torch.Tensor) -> tuple[float, float]:
    """(wall, CPU) seconds of one forward + backward of the loss Σ w ⊙ Re z."""
    a_leaf = a.clone().requires_grad_()
    b_leaf = b.clone().requires_grad_()
    wall, cpu = time.perf_counter(), time.process_time()
    (scan(a_leaf, b_leaf).real * weight).sum().backward()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/scan.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="batch 4, T = 50, 64 neurons, one repeat (smoke run)")
    add_timing_options(parser, repeats=7)
    args = parser.parse_args(argv)
    apply_timing_options(parser, args)
    batch, steps, width = (4, 50, 64) if args.quick else (32, 250, 512)
    repeats = 1 if args.quick else args.repeats

    gen = torch.Generator().manual_seed(0)
    radius = torch.rand(width, generator=gen).sqrt()
    a = torch.polar(radius, 2 * math.pi * torch.rand(width, generator=gen)).to(torch.complex64)
    b = torch.randn(batch, steps, width, dtype=torch.complex64, generator=gen)
    weight = torch.randn(batch, steps, width, generator=gen)
    error = (linear_scan(a, b) - sequential_scan(a, b)).abs().max().item()

    variants: dict[str, Scan] = {
        "linear_scan (chunked parallel scan)": linear_scan,
        "plain loop (baseline)": sequential_scan,
        "unbind loop": unbind_loop,
    }
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for repeat in range(repeats + 1):
        for name, scan in variants.items():
            measured = forward_backward_seconds(scan, a, b, weight)
            if repeat:  # the first round warms up
                runs[name].append(measured)
    wall = {name: statistics.median(w for w, _ in times) for name, times in runs.items()}
    cpu = {name: statistics.median(c for _, c in times) for name, times in runs.items()}
    scan_name = "linear_scan (chunked parallel scan)"
    ratio = cpu["plain loop (baseline)"] / cpu[scan_name]
    unbind_ratio = cpu["unbind loop"] / cpu[scan_name]
    met = ratio >= TARGET_RATIO

    shape = f"batch {batch}, T = {steps}, {width} neurons, complex64"
    print(f"forward + backward of z[t] = a*z[t-1] + b[t], {shape}, {args.threads} thread(s), median of {repeats}:")
    for name in variants:
        print(f"  {name:38s} wall {wall[name] * 1e3:8.1f} ms  cpu {cpu[name] * 1e3:8.1f} ms  "
              f"cpu / scan = {cpu[name] / cpu[scan_name]:6.2f}")
    print(f"  parallel scan vs plain loop: {ratio:.1f}x faster (CPU time; wall "
          f"{wall['plain loop (baseline)'] / wall[scan_name]:.1f}x), {'meets' if met else 'BELOW'} the "
          f"{TARGET_RATIO:.0f}x target; vs unbind loop: {unbind_ratio:.1f}x;  max |scan - loop| = {error:.2e}")

    fragment = (
        "## Parallel scan (`bench/scan.py`)\n\n"
        f"Forward + backward of the complex recurrence z[t] = λ̄·z[t−1] + b[t] ({shape}), CPU, "
        f"{args.threads} torch thread(s), loss Σ w·Re z, median of {repeats} interleaved runs"
        f"{' (quick smoke run)' if args.quick else ''}.\n\n"
        "| variant | wall (ms) | CPU (ms) | CPU time / parallel scan |\n|---|---|---|---|\n"
        + "".join(f"| {name} | {wall[name] * 1e3:.1f} | {cpu[name] * 1e3:.1f} | {cpu[name] / cpu[scan_name]:.2f} |\n"
                  for name in variants)
        + f"\nParallel scan {ratio:.1f}× faster than the plain loop in CPU time (target ≥ {TARGET_RATIO:.0f}×; "
        f"wall {wall['plain loop (baseline)'] / wall[scan_name]:.1f}×) and {unbind_ratio:.1f}× faster than the "
        f"unbind loop. Max |scan − loop| = {error:.1e}.\n"
    )
    write_results("scan", fragment)
    return 0 if met or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
