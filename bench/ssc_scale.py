"""Benchmark: the SSC preset (4 × 512 neurons, T = 250, 35 classes) end to end on this machine's CPU.

On the offline spoken-commands set (`s5rf-data spoken-commands`, the SSC
layout) it measures, each stage in its own fresh process:

1. data: synthesis and encoding rate (utterances/s); the set is generated
   once into a cache under runs/ and reused while its size and seed match;
2. step, step-baseline: one training step (forward, backward, AdamW) of the
   SSC preset at batch 128, T = 250 on real samples, against the same step
   with the recurrences as a sequential Python loop (`sequential_scan`, the
   baseline of bench/train_step.py) measured in the same run;
3. train: `s5rf-train --preset ssc --data ssc` for a stated number of steps
   (a smaller batch and no CutMix, so that a few minutes give trained weights,
   not paper accuracy);
4. export: `s5rf-export --target loihi2` of that checkpoint (time, model.nir
   size, state headroom per layer, warnings);
5. golden: the float64 discrete network and the integer network on the whole
   test split (accuracy, samples/s, saturation events per layer), each timed
   after a warm-up run on two samples;
6. lava: Lava's Loihi2SimCfg (fixed_pt) on a few test samples, bit-exact
   against golden, ms per Lava step (marginal: the time of one more sample
   over its steps, so build, compile and start-up are left out).

Peak memory of a stage is `resource.getrusage` ru_maxrss of its process
(Lava's stage also reports its largest child, since Lava runs processes in
children). --quick: 35 words × 1 utterance per split, a 2 × 64 model, T = 50.

    python bench/ssc_scale.py [--quick] [--threads N]

Writes bench/results/ssc_scale.md and bench/results/ssc_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from s5rf_neuro.atomic import write_text_atomic

BENCH_DIR = Path(__file__).resolve().parent
# Run as a script, this folder comes first on sys.path, and bench/lava.py would shadow the `lava` package.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH_DIR]
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "ssc_scale.md"
CACHE = ROOT / "runs" / "bench-ssc-scale"


@dataclass(frozen=True)
class Plan:
    """Sizes of one run (full or quick)."""

    per_class: tuple[int, int, int]  # utterances per word: train, valid, test
    layers: int
    neurons: int
    blocks: int
    bins: int  # time steps T
    step_batch: int
    step_repeats: int
    train_batch: int
    train_epochs: int
    train_lr: float  # lr and lr_ssm of the short training (the preset's: 0.004)
    lava_samples: int


FULL = Plan(per_class=(40, 5, 20), layers=4, neurons=512, blocks=16, bins=250, step_batch=128, step_repeats=1,
            train_batch=16, train_epochs=1, train_lr=0.01, lava_samples=3)
QUICK = Plan(per_class=(1, 1, 1), layers=2, neurons=64, blocks=4, bins=50, step_batch=8, step_repeats=1,
             train_batch=8, train_epochs=1, train_lr=0.01, lava_samples=2)


def peak_rss_mb() -> dict[str, float]:
    """ru_maxrss (MiB) of this process and of its largest waited-for child."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb": own, "peak_rss_children_mb": children}


# ---------------------------------------------------------------- stages (each runs in a fresh process)


def stage_data(plan: Plan, work: Path, quick: bool) -> dict[str, Any]:
    """Generate the data set into the cache (or reuse it); its size and generation rate."""
    from s5rf_neuro.data import spoken_commands

    train, valid, test = plan.per_class
    directory = data_dir(plan)
    stats_file = directory / "generation.json"
    cached = stats_file.is_file() and all((directory / f"ssc_{s}.h5").is_file() for s in ("train", "valid", "test"))
    if cached:
        stats = json.loads(stats_file.read_text())
    else:
        workers = min(2, os.cpu_count() or 1)
        started, cpu0 = time.perf_counter(), _children_cpu()
        spoken_commands.build(directory, train, valid, test, seed=0, workers=workers, progress=not quick)
        seconds = time.perf_counter() - started
        utterances = 35 * (train + valid + test)
        stats = {"utterances": utterances, "seconds": seconds, "workers": workers,
                 "rate": utterances / seconds, "cpu_seconds": _children_cpu() - cpu0,
                 "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        stats["rate_per_core"] = utterances / stats["cpu_seconds"] if stats["cpu_seconds"] > 0 else None
        write_text_atomic(stats_file, json.dumps(stats))
    import h5py
    import numpy as np

    with h5py.File(directory / "ssc_train.h5") as f:
        spikes = float(np.mean([len(t) for t in f["spikes/times"][:]]))
    sizes = {s: (directory / f"ssc_{s}.h5").stat().st_size for s in ("train", "valid", "test")}
    return {**stats, "cached": cached, "dir": str(directory), "bytes": sizes, "spikes_per_sample": spikes}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime + own.ru_utime + own.ru_stime


def stage_step(plan: Plan, work: Path, quick: bool, baseline: bool) -> dict[str, Any]:
    """Median wall and CPU time of a training step of the preset at batch `step_batch` on real samples."""
    import contextlib
    import statistics

    import numpy as np
    import torch

    from s5rf_neuro import layer as layer_module
    from s5rf_neuro import model as model_module
    from s5rf_neuro import training
    from s5rf_neuro.config import S5RFConfig
    from s5rf_neuro.data import load_split
    from s5rf_neuro.model import S5RFClassifier
    from s5rf_neuro.scan import sequential_scan

    data = load_split({"kind": "ssc", "root": str(data_dir(plan)), "binning": {"mode": "duration",
                                                                                 "bins": plan.bins}}, "train")
    index = np.arange(plan.step_batch) % len(data)
    x = torch.from_numpy(data.inputs[index].astype(np.float32))
    targets = torch.nn.functional.one_hot(torch.from_numpy(data.labels[index]), 35).float()
    torch.manual_seed(0)
    spec = training.PRESETS["ssc"]
    config = {**spec["config"], "num_layers": plan.layers, "num_neurons": plan.neurons, "num_blocks": plan.blocks}
    model = S5RFClassifier(S5RFConfig(input_dim=data.input_dim, output_dim=35, **config))
    recipe = training.Recipe(**spec["recipe"])
    optimizer = torch.optim.AdamW(training.parameter_groups(model, recipe), lr=recipe.lr)
    model.train()
    saved = layer_module.linear_scan, model_module.linear_scan
    walls, cpus = [], []
    with contextlib.ExitStack() as stack:
        if baseline:
            layer_module.linear_scan = model_module.linear_scan = sequential_scan
            stack.callback(lambda: setattr(layer_module, "linear_scan", saved[0]))
            stack.callback(lambda: setattr(model_module, "linear_scan", saved[1]))
        # the baseline step is timed without a warm-up: it takes minutes, and a warm-up saves far less than that
        warm_up = 0 if baseline else 1
        for i in range(warm_up + (1 if baseline else plan.step_repeats)):
            wall, cpu = time.perf_counter(), time.process_time()
            log_probs, _ = model.forward_with_spikes(x)
            loss = training.soft_cross_entropy(log_probs, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if i >= warm_up:
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "steps_timed": len(walls),
            "batch": plan.step_batch, "time_steps": plan.bins, "threads": torch.get_num_threads()}


def stage_train(plan: Plan, work: Path, quick: bool) -> dict[str, Any]:
    """`s5rf-train --preset ssc --data ssc` for `train_epochs` epochs at batch `train_batch`."""
    import torch

    from s5rf_neuro.commands.train import main as train_main

    checkpoint = work / "model.ckpt"
    argv = ["--preset", "ssc", "--data", "ssc", "--data-dir", str(data_dir(plan)), "--bins", str(plan.bins),
            "--num-layers", str(plan.layers), "--num-neurons", str(plan.neurons), "--num-blocks", str(plan.blocks),
            "--batch-size", str(plan.train_batch), "--epochs", str(plan.train_epochs), "--cutmix", "0",
            "--lr", str(plan.train_lr), "--lr-ssm", str(plan.train_lr),
            "--threads", str(torch.get_num_threads()), "--no-progress", "-o", str(checkpoint)]
    started = time.perf_counter()
    if train_main(argv) != 0:
        raise SystemExit("s5rf-train failed")
    seconds = time.perf_counter() - started
    lines = [json.loads(line) for line in checkpoint.with_suffix(".metrics.jsonl").read_text().splitlines()]
    train_samples = 35 * plan.per_class[0]
    steps = plan.train_epochs * max(1, train_samples // plan.train_batch)
    return {"argv": argv, "seconds": seconds, "steps": steps, "batch": plan.train_batch,
            "train_time_s": lines[-1]["train_time_s"], "test_accuracy": lines[-1]["test_accuracy"],
            "train_accuracy": lines[-1]["train_accuracy"], "spikes_per_sample": lines[-1]["spikes_per_sample"]}


def stage_export(plan: Plan, work: Path, quick: bool) -> dict[str, Any]:
    """`s5rf-export --target loihi2` of the trained checkpoint (accuracy is the golden stage's job)."""
    from s5rf_neuro.commands.export import main as export_main

    out = work / "export"
    started = time.perf_counter()
    code = export_main([str(work / "model.ckpt"), "--target", "loihi2", "-o", str(out), "--force",
                        "--test-samples", "0"])
    seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"s5rf-export failed ({code})")
    report = json.loads((out / "export.json").read_text())
    quant = report["quantisation"]
    return {"seconds": seconds, "nir_bytes": (out / "model.nir").stat().st_size,
            "headroom_bits": [layer["state_headroom_bits"] for layer in quant["layers"]]
            + [quant["readout"]["state_headroom_bits"]],
            "warnings": report["warnings"], "synapses": sum(row["synapses"] for row in report["layers"])}


def stage_golden(plan: Plan, work: Path, quick: bool) -> dict[str, Any]:
    """Float64 discrete and integer network on the test split: accuracy, samples/s, saturation."""
    import numpy as np

    from s5rf_neuro.checkpoint import load_checkpoint
    from s5rf_neuro.export.discretise import discretise
    from s5rf_neuro.export.nir_io import read_nir
    from s5rf_neuro.export.conversion import load_split_of
    from s5rf_neuro.hardware.golden import simulate

    checkpoint = load_checkpoint(work / "model.ckpt")
    float_network = discretise(checkpoint.build_model())
    int_network = read_nir(work / "export" / "model.nir")
    test = load_split_of(checkpoint, "test")
    out: dict[str, Any] = {"samples": len(test), "pytorch_accuracy": checkpoint.metrics.get("test_accuracy")}
    for name, network in (("float", float_network), ("integer", int_network)):
        simulate(network, test.inputs[:2])  # warm-up: loads (or, after an upgrade, compiles) the simulator's loops
        wall, cpu = time.perf_counter(), time.process_time()
        result = simulate(network, test.inputs)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        out[name] = {"accuracy": float(np.mean(result.predictions == test.labels)), "wall_s": wall, "cpu_s": cpu,
                     "samples_per_s": len(test) / wall, "saturation": [int(s) for s in result.saturation],
                     "spikes_per_sample": result.spikes_per_sample()}
    return out


def stage_lava(plan: Plan, work: Path, quick: bool) -> dict[str, Any]:
    """Lava fixed_pt on `lava_samples` test samples against golden; ms per Lava step."""
    import numpy as np

    from s5rf_neuro.checkpoint import load_checkpoint
    from s5rf_neuro.export.nir_io import read_nir
    from s5rf_neuro.export.conversion import load_split_of
    from s5rf_neuro.hardware.golden import simulate
    from s5rf_neuro.hardware.lava_run import run_lava

    network = read_nir(work / "export" / "model.nir")
    inputs = load_split_of(load_checkpoint(work / "model.ckpt"), "test").inputs[: plan.lava_samples]
    golden = simulate(network, inputs)
    one_s = _timed(run_lava, network, inputs[:1])[1]
    lava, all_s = _timed(run_lava, network, inputs)
    exact = all(np.array_equal(a, b) for a, b in zip(lava.spikes, golden.spikes))
    exact = exact and np.array_equal(lava.scores, golden.scores)
    steps = inputs.shape[1]
    return {"samples": len(inputs), "time_steps": steps, "bit_exact": bool(exact),
            "lava_s": all_s, "lava_one_sample_s": one_s,
            "ms_per_step_marginal": 1000 * (all_s - one_s) / ((len(inputs) - 1) * steps),
            "ms_per_step_all": 1000 * all_s / (len(inputs) * steps),
            "saturation": [int(s) for s in lava.saturation]}


def _timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


STAGES = {"data": stage_data, "step": lambda p, w, q: stage_step(p, w, q, baseline=False),
          "step-baseline": lambda p, w, q: stage_step(p, w, q, baseline=True), "train": stage_train,
          "export": stage_export, "golden": stage_golden, "lava": stage_lava}


def data_dir(plan: Plan) -> Path:
    train, valid, test = plan.per_class
    return CACHE / f"data-{train}-{valid}-{test}-seed0"


# ---------------------------------------------------------------- driver


def run_stage(name: str, work: Path, quick: bool, threads: int) -> dict[str, Any]:
    """Run stage `name` in a fresh process; its result with peak memory and wall time."""
    command = [sys.executable, str(Path(__file__).resolve()), "--stage", name, "--work", str(work),
               "--threads", str(threads)] + (["--quick"] if quick else [])
    print(f"stage {name} ...", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench/ssc_scale.py: stage {name} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    result = json.loads((work / f"{name}.json").read_text())
    result["stage_wall_s"] = seconds
    print(f"stage {name}: {seconds:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MiB", flush=True)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/ssc_scale.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny data set and a 2 × 64 model (smoke run)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads per stage (default 2)")
    parser.add_argument("--stage", choices=sorted(STAGES), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("argument --threads: must be positive")
    plan = QUICK if args.quick else FULL
    if args.stage:
        import torch

        torch.set_num_threads(args.threads)
        result = STAGES[args.stage](plan, args.work, args.quick)
        result.update(peak_rss_mb())
        write_text_atomic(args.work / f"{args.stage}.json", json.dumps(result))
        return 0

    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ssc-scale-", dir=CACHE))
    try:
        results = {name: run_stage(name, work, args.quick, args.threads) for name in STAGES}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    fragment, checks = render(plan, results, args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(RESULTS, fragment)
    write_text_atomic(RESULTS.with_suffix(".json"), json.dumps(
        {"quick": args.quick, "plan": plan.__dict__, "threads": args.threads, "stages": results,
         "checks": checks, "load_average": os.getloadavg()[0]}, indent=1))
    print(fragment)
    print(f"wrote {RESULTS} and {RESULTS.with_suffix('.json')}")
    return 0 if args.quick or all(ok for ok, _ in checks) else 1


def render(plan: Plan, r: dict[str, Any], args: argparse.Namespace) -> tuple[str, list[tuple[bool, str]]]:
    """The Markdown fragment and the acceptance checks (passed, line)."""
    data, step, base, train = r["data"], r["step"], r["step-baseline"], r["train"]
    export, golden, lava = r["export"], r["golden"], r["lava"]
    size = f"{plan.layers} × {plan.neurons}"
    gen = (f"{data['utterances']} utterances (35 words × {'/'.join(map(str, plan.per_class))} per word for "
           f"train/valid/test) synthesised and encoded in {data['seconds']:.0f} s with {data['workers']} worker(s): "
           f"**{data['rate']:.1f} utterances/s**"
           + (f" ({data['rate_per_core']:.1f} per CPU-second)" if data.get("rate_per_core") else "")
           + f"; {data['spikes_per_sample']:.0f} input spikes per sample; files "
           f"{sum(data['bytes'].values()) / 1e6:.1f} MB"
           + (f" (generated {data['date']}, reused from the cache)" if data["cached"] else "") + ".")
    speedup = base["cpu_s"] / step["cpu_s"]
    fi, ii = golden["float"]["accuracy"], golden["integer"]["accuracy"]
    delta = 100 * (ii - fi)
    saturation = golden["integer"]["saturation"]
    checks = [
        (abs(delta) <= 1.0, f"integer accuracy within 1 point of float ({delta:+.2f} points)"),
        (lava["bit_exact"], f"Lava spikes and scores equal golden on {lava['samples']} samples"),
        (sum(saturation) == 0 and sum(lava["saturation"]) == 0,
         f"no saturation (golden per layer + readout {saturation}, Lava {lava['saturation']})"),
    ]
    mib = lambda s: f"{max(s['peak_rss_mb'], s['peak_rss_children_mb'] if s is lava else 0):.0f}"  # noqa: E731
    rows = [
        ("data: generate the set" + (" (cached)" if data["cached"] else ""), f"{data['seconds']:.0f} s",
         f"{data['rate']:.1f} utterances/s", mib(data)),
        (f"training step, batch {step['batch']}, T = {step['time_steps']} (parallel scan)",
         f"{step['wall_s']:.2f} s wall / {step['cpu_s']:.2f} s CPU", f"{speedup:.1f}× faster than the baseline",
         mib(step)),
        ("baseline: the same step with `sequential_scan`", f"{base['wall_s']:.2f} s wall / {base['cpu_s']:.2f} s CPU",
         "1.0×", mib(base)),
        (f"short training: {train['steps']} steps at batch {train['batch']}", f"{train['train_time_s']:.0f} s",
         f"test {100 * train['test_accuracy']:.1f} % (PyTorch)", mib(train)),
        ("export --target loihi2", f"{export['seconds']:.1f} s",
         f"model.nir {export['nir_bytes'] / 1e6:.1f} MB; headroom "
         + ", ".join(f"{h:.1f}" for h in export["headroom_bits"]) + " bits", mib(export)),
        (f"golden float64 discrete network, {golden['samples']} test samples", f"{golden['float']['wall_s']:.1f} s",
         f"{100 * fi:.2f} %, {golden['float']['samples_per_s']:.1f} samples/s", mib(golden)),
        (f"golden integer network (loihi2), {golden['samples']} test samples", f"{golden['integer']['wall_s']:.1f} s",
         f"{100 * ii:.2f} % ({delta:+.2f} points), {golden['integer']['samples_per_s']:.1f} samples/s; "
         f"saturation {sum(saturation)}", mib(golden)),
        (f"Lava fixed_pt, {lava['samples']} test samples × {lava['time_steps']} steps", f"{lava['lava_s']:.1f} s",
         f"{lava['ms_per_step_marginal']:.1f} ms per step (marginal); bit-exact "
         f"{'yes' if lava['bit_exact'] else 'NO'}", mib(lava)),
    ]
    table = "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)
    warnings = "".join(f"- export {w}\n" for w in export["warnings"])
    fragment = (
        "## SSC scale (`bench/ssc_scale.py`)\n\n"
        f"The SSC preset ({size} neurons, {plan.blocks} blocks, T = {plan.bins}, 140 inputs, 35 classes) end to "
        f"end on the offline spoken-commands set, CPU only, {args.threads} torch thread(s) per stage, each stage "
        f"in a fresh process; peak memory is that process's ru_maxrss (for Lava, the largest of it and its "
        f"children); 1-min load average {os.getloadavg()[0]:.1f} at the end"
        f"{' (quick smoke run: tiny set and model, not representative)' if args.quick else ''}. "
        f"Short training: `s5rf-train --preset ssc` with batch {plan.train_batch} instead of 128, "
        f"{plan.train_epochs} epoch(s), learning rates {plan.train_lr} instead of 0.004, CutMix off, so that "
        "a few minutes give trained weights (not paper accuracy): at the preset's 0.004 the three deeper layers, "
        "silent at initialisation on this data, stay silent for the whole short run and accuracy stays at chance.\n\n"
        f"{gen}\n\n"
        "| stage | time | result | peak memory (MiB) |\n|---|---|---|---|\n"
        f"{table}\n\n"
        + "".join(f"- {'PASS' if ok else 'FAIL'}: {line}\n" for ok, line in checks)
        + warnings
    )
    return fragment, checks


if __name__ == "__main__":
    sys.exit(main())
