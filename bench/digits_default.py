"""Benchmark: the embedded default `s5rf-train -o model.ckpt` (scikit-learn digits) against its targets.

Trains the digits default exactly as the command does (same data, config,
recipe and seed) and reports test accuracy and training time against the
acceptance targets (≥ 95 % test accuracy in ≤ 180 s on 2 CPU cores). Baseline
measured in the same run: multinomial logistic regression (scikit-learn) on
the same flattened spike rasters, the accuracy a non-temporal linear model
reaches on this encoding. Wall and CPU time are both recorded, with the
machine's load average, since the machine may be shared.

    python bench/digits_default.py [--quick] [--threads N]

--quick trains 2 epochs (smoke run; targets not asserted). Exit status 1 when
a full run misses a target. Writes bench/results/digits_default.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from _common import write_results
from s5rf_neuro.checkpoint import load_checkpoint
from s5rf_neuro.data import load_split
from s5rf_neuro.training import DIGITS_DEFAULT, train_digits_default

TARGET_ACCURACY = 0.95
TARGET_SECONDS = 180.0


def logistic_baseline() -> tuple[float, float]:
    """(test accuracy, seconds) of logistic regression on the flattened digits spike rasters."""
    from sklearn.linear_model import LogisticRegression

    train, test = load_split({"kind": "digits"}, "train"), load_split({"kind": "digits"}, "test")
    began = time.perf_counter()
    clf = LogisticRegression(max_iter=2000).fit(train.inputs.reshape(len(train), -1), train.labels)
    accuracy = float(np.mean(clf.predict(test.inputs.reshape(len(test), -1)) == test.labels))
    return accuracy, time.perf_counter() - began


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/digits_default.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 epochs, targets not asserted (smoke run)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's, i.e. all cores)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        if args.threads <= 0:
            parser.error("argument --threads: must be positive")
        torch.set_num_threads(args.threads)
    epochs = 2 if args.quick else DIGITS_DEFAULT["recipe"]["epochs"]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model.ckpt"
        wall, cpu = time.perf_counter(), time.process_time()
        train_digits_default(out, epochs=epochs, progress=True)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        ckpt = load_checkpoint(out)
    load_after = os.getloadavg()[0]
    accuracy = float(ckpt.metrics["test_accuracy"])
    spikes = ckpt.metrics["spikes_per_sample"]
    base_accuracy, base_seconds = logistic_baseline()
    met = accuracy >= TARGET_ACCURACY and wall <= TARGET_SECONDS
    cfg = DIGITS_DEFAULT["config"]
    what = (f"{cfg['num_layers']} x {cfg['num_neurons']} neurons, {epochs} epochs, "
            f"{torch.get_num_threads()} torch thread(s), 1-min load average {load_before:.1f} before, "
            f"{load_after:.1f} after")
    print(f"digits default ({what}): test accuracy {accuracy:.4f} (target >= {TARGET_ACCURACY}), "
          f"{wall:.1f} s wall / {cpu:.1f} s CPU (target <= {TARGET_SECONDS:.0f} s wall) -> "
          f"{'meets' if met else 'MISSES'} the targets{' (quick run: not asserted)' if args.quick else ''}")
    print(f"baseline logistic regression on the same rasters: {base_accuracy:.4f} in {base_seconds:.1f} s; "
          f"S5-RF - baseline = {100 * (accuracy - base_accuracy):+.1f} points; "
          f"time / target = {wall / TARGET_SECONDS:.2f}")
    fragment = (
        "## Digits default (`bench/digits_default.py`)\n\n"
        f"`s5rf-train -o model.ckpt` on the embedded scikit-learn digits ({what})"
        f"{' (quick smoke run, 2 epochs)' if args.quick else ''}.\n\n"
        "| model | test accuracy | training wall (s) | CPU (s) | spikes / sample per layer |\n|---|---|---|---|---|\n"
        f"| S5-RF digits default | {100 * accuracy:.1f} % | {wall:.1f} | {cpu:.1f} | "
        f"{', '.join(f'{s:.0f}' for s in spikes)} |\n"
        f"| logistic regression on the same rasters (baseline) | {100 * base_accuracy:.1f} % | {base_seconds:.1f} | – | – |\n"
        f"\nTargets: ≥ {100 * TARGET_ACCURACY:.0f} % in ≤ {TARGET_SECONDS:.0f} s on 2 CPU cores: "
        f"{'met' if met else 'not met'} (time / target = {wall / TARGET_SECONDS:.2f}).\n"
    )
    write_results("digits_default", fragment)
    return 0 if met or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
