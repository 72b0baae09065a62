"""Run every benchmark in bench/ and assemble bench/results.md (used by `make bench`).

Each benchmark `bench/<name>.py` prints its figures and writes a Markdown
fragment `bench/results/<name>.md`. This script runs them one after another
(passing `--quick` on when given), then writes `bench/results.md`: a machine
description (CPU model, cores, GPU, Python/torch/lava versions, date) and the
fragments written by this run, in name order. A benchmark that fails is listed
as failed and makes the exit code non-zero; the others still run.

    python bench/run_all.py [--quick] [NAME ...] [-o bench/results.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Sequence

from s5rf_neuro.atomic import write_text_atomic

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
ROOT = BENCH_DIR.parent


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_version(name: str) -> str:
    """Installed version of distribution `name`, or "not installed"."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def gpu_description() -> str:
    """Name of the first CUDA device, or "none"."""
    try:
        import torch
    except ImportError:
        return "none"
    if not torch.cuda.is_available():
        return "none"
    return f"{torch.cuda.get_device_name(0)} (× {torch.cuda.device_count()})"


def machine_description(quick: bool) -> str:
    """The Markdown header that says where and when the figures were measured."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rows = [
        ("date", datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("CPU", cpu_model()),
        ("cores available", str(cores)),
        ("GPU", gpu_description()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("torch", package_version("torch")),
        ("lava-nc", package_version("lava-nc")),
        ("numpy", package_version("numpy")),
        ("numba", package_version("numba")),
        ("mode", "quick (smoke run, not representative)" if quick else "full"),
    ]
    table = "\n".join(f"| {key} | {value} |" for key, value in rows)
    return f"# Benchmark results\n\n| machine | |\n|---|---|\n{table}\n"


def discover(names: Sequence[str]) -> list[Path]:
    """The benchmark scripts to run: all of bench/*.py but this one, or those named."""
    scripts = sorted(
        path for path in BENCH_DIR.glob("*.py") if path.name != Path(__file__).name and not path.name.startswith("_")
    )
    if not names:
        return scripts
    wanted = {name.removesuffix(".py") for name in names}
    unknown = sorted(wanted - {path.stem for path in scripts})
    if unknown:
        known = ", ".join(path.stem for path in scripts) or "none"
        raise SystemExit(f"run_all.py: error: unknown benchmark(s) {', '.join(unknown)}; known: {known}")
    return [path for path in scripts if path.stem in wanted]


def run(script: Path, quick: bool) -> tuple[int, float]:
    """Run one benchmark from the repository root; return its exit code and wall time in s."""
    command = [sys.executable, str(script)] + (["--quick"] if quick else [])
    start = time.perf_counter()
    code = subprocess.run(command, cwd=ROOT, check=False).returncode
    return code, time.perf_counter() - start


def assemble(header: str, started: float, failures: list[tuple[str, int]]) -> str:
    """The results document: header, then each fragment written since `started`, then failures."""
    parts = [header]
    fragments = sorted(path for path in RESULTS_DIR.glob("*.md") if path.stat().st_mtime >= started)
    for fragment in fragments:
        parts.append(fragment.read_text(encoding="utf-8").strip() + "\n")
    if failures:
        lines = "\n".join(f"- `bench/{name}.py` failed with exit code {code}" for name, code in failures)
        parts.append(f"## Failed benchmarks\n\n{lines}\n")
    return "\n".join(parts)


README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def readme_with_results(readme: str, results: str) -> str:
    """`readme` with the block between the bench markers replaced by `results`.

    The results' top heading is dropped and its sections are nested one level
    deeper, under the README's own "Benchmarks" heading. A README without the
    markers comes back unchanged.
    """
    if README_START not in readme or README_END not in readme:
        return readme
    lines = results.split("\n", 1)[1].strip().splitlines()
    body = "\n".join("#" + line if line.startswith("#") else line for line in lines)
    head, rest = readme.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    return f"{head}{README_START}\n{body}\n{README_END}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_all.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all of bench/*.py)")
    parser.add_argument("--quick", action="store_true", help="pass --quick to each benchmark (smoke run)")
    parser.add_argument("-o", "--output", type=Path, default=BENCH_DIR / "results.md", help="results file")
    parser.add_argument("--readme", type=Path, default=None,
                        help="also put the results into this README's bench block (make bench: README.md)")
    args = parser.parse_args(argv)
    scripts = discover(args.names)
    RESULTS_DIR.mkdir(exist_ok=True)
    started = time.time() - 1.0  # file systems with 1 s mtime resolution
    failures = []
    for index, script in enumerate(scripts, start=1):
        print(f"[{index}/{len(scripts)}] bench/{script.name}", flush=True)
        code, seconds = run(script, args.quick)
        status = "ok" if code == 0 else f"FAILED (exit code {code})"
        print(f"[{index}/{len(scripts)}] bench/{script.name}: {status} in {seconds:.1f} s", flush=True)
        if code != 0:
            failures.append((script.stem, code))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    results = assemble(machine_description(args.quick), started, failures)
    write_text_atomic(args.output, results)
    print(f"wrote {args.output} ({len(scripts) - len(failures)} of {len(scripts)} benchmarks ok)")
    if args.readme is not None:
        write_text_atomic(args.readme, readme_with_results(args.readme.read_text(encoding="utf-8"), results))
        print(f"updated the benchmark block of {args.readme}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
