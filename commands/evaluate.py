"""s5rf-eval: test accuracy and spikes per sample per layer of a checkpoint.

The test set is the one recorded in the checkpoint, or the one given with
--data/--data-dir (same channels and classes as the model).
"""

from __future__ import annotations

import argparse
import json
from typing import Sequence

from s5rf_neuro.commands._common import CommandParser, check_device, cli_entry
from s5rf_neuro.commands._data_args import add_data_options, source_for


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="s5rf-eval", description=__doc__)
    parser.add_argument("checkpoint", help="model checkpoint (.ckpt)")
    parser.add_argument("--split", default="test", choices=("train", "valid", "test"), help="split (default test)")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--batch-size", type=int, default=256, help="evaluation batch size (default 256)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    add_data_options(parser)
    return parser


@cli_entry("s5rf-eval")
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.batch_size <= 0:
        parser.error(f"argument --batch-size: must be positive, got {args.batch_size}")
    check_device(parser, args.device)
    from s5rf_neuro.checkpoint import load_checkpoint
    from s5rf_neuro.data import load_split
    from s5rf_neuro.distributed import resolve_device
    from s5rf_neuro.resources import MemoryNeed, model_bytes, require
    from s5rf_neuro.training import evaluate

    ckpt = load_checkpoint(args.checkpoint)
    source = source_for(parser, args, ckpt.dataset, args.checkpoint)
    data = load_split(source, args.split)
    cfg = ckpt.config
    data.check_fits(args.checkpoint, cfg.input_dim, cfg.output_dim)
    batch = min(args.batch_size, len(data))
    require(MemoryNeed(f"{args.checkpoint}: evaluating batches of {batch} x {data.time_steps} steps",
                       model_bytes(cfg.input_dim, cfg.output_dim, cfg.num_neurons, cfg.num_layers,
                                   mixing=cfg.discretization == "zoh", time_steps=data.time_steps, batch=batch)))
    device = resolve_device(args.device)
    model = ckpt.build_model().to(device)
    accuracy, spikes = evaluate(model, data, args.batch_size, device, progress=True)
    if args.json:
        print(json.dumps({"data": data.name, "split": args.split, "samples": len(data), "accuracy": accuracy,
                          "spikes_per_sample": spikes}))
    else:
        print(f"{data.name} {args.split}: {len(data)} samples, accuracy {accuracy:.4f}")
        for layer, count in enumerate(spikes):
            print(f"  layer {layer}: {count:.1f} spikes per sample")
    return 0
