"""What the benchmarks share: where they write their figures (bench/results/<name>.md, and .json
where they record one), the options that name the models they measure, and the threads they use.

The leading underscore keeps `run_all.py` from running this module as a benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from s5rf_neuro.atomic import write_text_atomic
from s5rf_neuro.records import plain_json

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def write_results(name: str, markdown: str, data: dict[str, Any] | None = None) -> Path:
    """Write the Markdown fragment `name`.md (and `data` as `name`.json), print what was written; returns the .md."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    fragment = RESULTS_DIR / f"{name}.md"
    write_text_atomic(fragment, markdown)
    written = [fragment.name]
    if data is not None:
        write_text_atomic(RESULTS_DIR / f"{name}.json", json.dumps(data, indent=2, default=plain_json) + "\n")
        written.append(f"{name}.json")
    print(f"wrote {' and '.join(str(RESULTS_DIR / item) for item in written)}")
    return fragment


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--checkpoint (a trained digits default) and --shd-checkpoint (a spoken-digits SHD-preset model)."""
    parser.add_argument("--checkpoint", type=Path, default=None, help="digits default checkpoint (default: train one)")
    parser.add_argument("--shd-checkpoint", type=Path, default=os.environ.get("S5RF_BENCH_SHD_CHECKPOINT"),
                        help="spoken-digits SHD-preset checkpoint (default: $S5RF_BENCH_SHD_CHECKPOINT, else none)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")


def check_model_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse checkpoints that are not files and a thread count below 1 (argparse errors)."""
    for path in (args.checkpoint, args.shd_checkpoint):
        if path is not None and not Path(path).is_file():
            parser.error(f"{path}: no such checkpoint")
    if args.threads <= 0:
        parser.error("argument --threads: must be positive")


def models_to_measure(args: argparse.Namespace, scratch: Path, quick_epochs: int, quick: bool) -> list[tuple[str, Path]]:
    """("digits", checkpoint) — trained here into `scratch` unless --checkpoint names one (`quick_epochs`
    epochs in a quick run) — then ("shd", --shd-checkpoint) when given. Sets torch's thread count."""
    import torch

    from s5rf_neuro.training import train_digits_default

    torch.set_num_threads(args.threads)
    digits = args.checkpoint
    if digits is None:
        digits = scratch / "digits.ckpt"
        print("training the digits default model ...", file=sys.stderr)
        train_digits_default(digits, epochs=quick_epochs if quick else None)
    return [("digits", Path(digits))] + ([("shd", Path(args.shd_checkpoint))] if args.shd_checkpoint else [])


def add_timing_options(parser: argparse.ArgumentParser, repeats: int) -> None:
    """--repeats (timed runs per variant, the median reported) and --threads (torch CPU threads, default 1)."""
    parser.add_argument("--repeats", type=int, default=repeats, help="timed runs of each variant (median reported)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")


def apply_timing_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse repeats or threads below 1 and set torch's thread count."""
    if args.repeats <= 0 or args.threads <= 0:
        parser.error("argument --repeats/--threads: must be positive")
    import torch

    torch.set_num_threads(args.threads)


def data_set_section(title: str, table: list[str], checks: list[str]) -> list[str]:
    """Print one data set's table and verdicts, and return them as Markdown lines (a ### section)."""
    print(f"\n{title}\n" + "\n".join(table) + "\n" + "\n".join(checks))
    return [f"### {title}", "", *table, "", *[f"- {check}" for check in checks], ""]
