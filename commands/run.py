"""s5rf-run: run an exported network (.nir) on a data set and report accuracy, spikes and wall time.

Backends: golden (the batched integer/float simulator), lava (Lava's
Loihi2SimCfg on the CPU, bit-exact with golden) and loihi2-hw (Loihi2HwCfg,
needs Intel's Lava extension for Loihi). The data set is the one the network
was exported with (recorded in the .nir), or the one given with --data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Sequence

from s5rf_neuro.commands._common import CommandParser, cli_entry, positive_int
from s5rf_neuro.commands._data_args import add_data_options, source_for
from s5rf_neuro.hardware.backends import COMMAND_BACKENDS, GOLDEN


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="s5rf-run", description=__doc__)
    parser.add_argument("model", help="network exported by s5rf-export (.nir)")
    parser.add_argument("--backend", choices=tuple(COMMAND_BACKENDS), default=GOLDEN,
                        help=f"where to run it (default {GOLDEN})")
    parser.add_argument("--samples", type=positive_int, default=None, help="run the first N samples (default all)")
    parser.add_argument("--split", default="test", choices=("train", "valid", "test"), help="split (default test)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    add_data_options(parser)
    return parser


def _simulate(network: Any, inputs: Any, backend: str) -> Any:
    if COMMAND_BACKENDS[backend] == GOLDEN:
        from s5rf_neuro.hardware.golden import simulate

        return simulate(network, inputs, progress=True, keep_spikes=False)
    from s5rf_neuro.hardware.lava_run import run_lava

    return run_lava(network, inputs, backend=COMMAND_BACKENDS[backend], progress=True)


@cli_entry("s5rf-run")
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import numpy as np

    from s5rf_neuro.data.info import recorded_dataset
    from s5rf_neuro.data.registry import load_split
    from s5rf_neuro.errors import FormatError
    from s5rf_neuro.export.nir_io import read_nir
    from s5rf_neuro.hardware.inputs import network_inputs
    from s5rf_neuro.hardware.network import IntNetwork

    network = read_nir(args.model)
    dataset = recorded_dataset(network.metadata, args.model, FormatError)
    data = load_split(source_for(parser, args, dataset, args.model), args.split)
    data.check_fits(args.model, network.input_dim, network.output_dim,
                    dataset.time_steps if dataset is not None and dataset.time_steps else None)
    count = len(data) if args.samples is None else min(args.samples, len(data))
    if args.samples is not None and args.samples > len(data):
        print(f"s5rf-run: --samples {args.samples}: the {data.name} {args.split} split has only {len(data)} "
              f"samples; running {count}", file=sys.stderr)
    prepared = network_inputs(network, data.inputs[:count], f"{data.name or 'data set'} {args.split} split")
    labels = data.labels[:count]
    start = time.perf_counter()
    result = _simulate(network, prepared.values, args.backend)
    wall = time.perf_counter() - start
    accuracy = float(np.mean(result.predictions == labels)) if count else float("nan")
    spikes = result.spikes_per_sample()
    kind = "integer" if isinstance(network, IntNetwork) else "float"
    if args.json:
        print(json.dumps({"model": args.model, "network": kind, "backend": args.backend, "data": data.name,
                          "split": args.split, "samples": count, "accuracy": accuracy,
                          "spikes_per_sample": spikes, "saturation": [int(s) for s in result.saturation],
                          "wall_time_s": wall, "input_format": network.input_format.to_dict(),
                          "inputs_clipped": prepared.clipped}))
        return 0
    print(f"{args.model}: {kind} network, {args.backend} backend, {data.name} {args.split}, {count} samples")
    print(f"accuracy {accuracy:.4f}")
    if network.input_format.graded:
        fmt = network.input_format
        print(f"inputs: graded, {fmt.bits}-bit payload at scale {fmt.scale:.6g}"
              + (f", {prepared.clipped} value(s) clipped" if fmt.clip else ""))
    for layer, value in enumerate(spikes):
        print(f"  layer {layer}: {value:.1f} spikes per sample")
    if any(result.saturation):
        print(f"saturation events (layers, readout): {[int(s) for s in result.saturation]}")
    print(f"wall time {wall:.2f} s ({1000 * wall / max(count, 1):.2f} ms per sample)")
    return 0
