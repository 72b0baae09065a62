"""Benchmark: training on an idle and on a busy machine, with the commands' OpenMP wait policy and without.

Runs the digits default for a few epochs in fresh processes, four ways:
{idle machine, one core kept busy by another process} × {torch's default
OpenMP waiting (the baseline: `train_digits_default` called directly), the
`s5rf-train` command (whose package sets OMP_WAIT_POLICY=PASSIVE unless the
user set it)}. Both use torch's default thread count. The busy core is a
Python process spinning for the length of the run.

    python bench/busy_machine.py [--quick] [--epochs N]

Writes bench/results/busy_machine.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from _common import write_results


BASELINE = (
    "import sys; from s5rf_neuro.training import train_digits_default; "
    "train_digits_default(sys.argv[1], epochs=int(sys.argv[2]))"
)


def _environment() -> dict[str, str]:
    """This process's environment without an OpenMP wait policy, so each run chooses its own."""
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    return env


def timed_run(command: str, epochs: int, busy: bool) -> float:
    """Wall seconds of one training run (`command`: "baseline" or "s5rf-train"), one core busy or not."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = str(Path(tmp) / "model.ckpt")
            if command == "baseline":
                argv = [sys.executable, "-c", BASELINE, out, str(epochs)]
            else:
                argv = [str(Path(sys.executable).with_name("s5rf-train")), "-o", out, "--epochs", str(epochs)]
            began = time.perf_counter()
            subprocess.run(argv, check=True, env=_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return time.perf_counter() - began
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/busy_machine.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 epoch per run")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (default 3)")
    args = parser.parse_args(argv)
    epochs = 1 if args.quick else args.epochs
    rows = []
    for busy in (False, True):
        baseline = timed_run("baseline", epochs, busy)
        command = timed_run("s5rf-train", epochs, busy)
        rows.append((busy, baseline, command))
        state = "one core busy" if busy else "idle"
        print(f"{state}: torch default waiting {baseline:.1f} s, s5rf-train (passive waiting) {command:.1f} s, "
              f"ratio {command / baseline:.2f}")
    table = "\n".join(
        f"| {'one of the cores busy' if busy else 'idle'} | {baseline:.1f} | {command:.1f} | {command / baseline:.2f} × |"
        for busy, baseline, command in rows
    )
    fragment = (
        "## Threading on a busy machine (`bench/busy_machine.py`)\n\n"
        f"Digits default, {epochs} epoch(s), torch's default thread count on {os.cpu_count()} cores, fresh process "
        "per run; the busy core is another process spinning for the whole run.\n\n"
        "| machine | torch default OpenMP waiting (s, baseline) | `s5rf-train`, passive waiting (s) | ratio |\n"
        "|---|---|---|---|\n" + table + "\n"
    )
    write_results("busy_machine", fragment)
    return 0


if __name__ == "__main__":
    sys.exit(main())
