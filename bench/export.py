"""Benchmark: `s5rf-export` of an SSC-sized checkpoint (4 × 512 neurons, 140 inputs, 35 classes).

Budget: under 10 s wall time on 2 cores for `s5rf-export model.ckpt --target loihi2`
(the real console script, in a fresh process: imports, checkpoint load,
discretisation, quantisation, NIR write and read-back check, export.json). The
checkpoint holds an untrained model of the published SSC size; its data
source points to a directory without data, so no test-set accuracy is
measured (that part scales with the data set, not with the export).

Baseline, measured in the same run: a fresh process that only loads the
checkpoint and builds the model (`load_checkpoint(...).build_model()`), i.e.
the floor any export pays.

    python bench/export.py [--quick] [--repeats N]

--quick exports a 2 × 128 model once (smoke run). Writes bench/results/export.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from _common import write_results


BUDGET_S = 10.0


def make_checkpoint(path: Path, layers: int, neurons: int) -> None:
    """Save an untrained S5-RF classifier of the SSC input/output size to `path`."""
    import torch

    from s5rf_neuro.checkpoint import save_checkpoint
    from s5rf_neuro.config import S5RFConfig
    from s5rf_neuro.data import DatasetInfo
    from s5rf_neuro.model import S5RFClassifier

    torch.manual_seed(0)
    config = S5RFConfig(input_dim=140, output_dim=35, num_neurons=neurons, num_layers=layers)
    dataset = DatasetInfo(
        name="ssc",
        encoding="700 channels summed to 140, 250 bins per sample, binary",
        time_steps=250,
        input_dim=140,
        class_names=tuple(f"class {k}" for k in range(35)),
        source={"kind": "ssc", "root": str(path.parent / "no-data-here")},
    )
    save_checkpoint(path, S5RFClassifier(config), dataset=dataset, metrics={})


def timed(command: list[str]) -> tuple[float, float]:
    """(wall time, CPU time user + system) of `command` in seconds; exits with its output when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"bench/export.py: {' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def export_command() -> list[str]:
    """The installed `s5rf-export` console script, next to this interpreter."""
    script = Path(sys.executable).with_name("s5rf-export")
    return [str(script)] if script.exists() else [sys.executable, "-m", "s5rf_neuro.commands.export"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/export.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 × 128 model, one repeat (smoke run)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each command (median reported)")
    args = parser.parse_args(argv)
    layers, neurons = (2, 128) if args.quick else (4, 512)
    repeats = 1 if args.quick else max(1, args.repeats)
    work = Path(tempfile.mkdtemp(prefix="s5rf-bench-export-"))
    try:
        checkpoint = work / "ssc.ckpt"
        make_checkpoint(checkpoint, layers, neurons)
        output = work / "export"
        baseline_code = (
            "import sys; from s5rf_neuro.checkpoint import load_checkpoint; "
            "load_checkpoint(sys.argv[1]).build_model()"
        )
        baseline = [timed([sys.executable, "-c", baseline_code, str(checkpoint)]) for _ in range(repeats)]
        export = [
            timed(export_command() + [str(checkpoint), "--target", "loihi2", "-o", str(output), "--force"])
            for _ in range(repeats)
        ]
        nir_bytes = (output / "model.nir").stat().st_size
    finally:
        shutil.rmtree(work, ignore_errors=True)
    export_s, baseline_s = (statistics.median(wall for wall, _ in runs) for runs in (export, baseline))
    export_cpu, baseline_cpu = (statistics.median(cpu for _, cpu in runs) for runs in (export, baseline))
    load = os.getloadavg()[0]
    size = f"{layers} × {neurons}"
    within = export_s < BUDGET_S
    print(f"s5rf-export --target loihi2, {size} neurons, 140 inputs, 35 classes (median of {repeats}):")
    print(f"  export        {export_s:6.2f} s wall, {export_cpu:6.2f} s CPU   = {export_s / BUDGET_S:.2f} × the "
          f"{BUDGET_S:.0f} s budget ({'within' if within else 'OVER'} budget)")
    print(f"  baseline      {baseline_s:6.2f} s wall, {baseline_cpu:6.2f} s CPU   (fresh process: load checkpoint + build model)")
    print(f"  export / baseline = {export_s / baseline_s:.2f} (wall), {export_cpu / baseline_cpu:.2f} (CPU);  "
          f"model.nir {nir_bytes / 1e6:.1f} MB;  load average {load:.1f}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    fragment = (
        "## Export (`bench/export.py`)\n\n"
        f"`s5rf-export model.ckpt --target loihi2` on an untrained SSC-sized checkpoint ({size} neurons, "
        f"140 inputs, 35 classes), fresh process each run, median of {repeats}, {cores} cores, "
        f"load average {load:.1f} at the end{' (quick smoke run)' if args.quick else ''}.\n\n"
        "| measure | wall (s) | CPU (s) | ratio |\n|---|---|---|---|\n"
        f"| s5rf-export | {export_s:.2f} | {export_cpu:.2f} | {export_s / BUDGET_S:.2f} × the {BUDGET_S:.0f} s budget |\n"
        f"| baseline: load checkpoint + build model | {baseline_s:.2f} | {baseline_cpu:.2f} | "
        f"export = {export_s / baseline_s:.2f} × baseline |\n\n"
        f"model.nir: {nir_bytes / 1e6:.1f} MB.\n"
    )
    write_results("export", fragment)
    return 0 if within or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
