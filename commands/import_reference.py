"""s5rf-import: turn parameters trained with the published JAX S5-RF implementation into a checkpoint.

The parameters are either an .npz of the reference parameter layout (docs/design.md §2) or the
.eqx file `equinox.tree_serialise_leaves` writes of the published classifier (told apart by
their first bytes); config.json holds the S5RFConfig fields of that run (input_dim,
output_dim, num_neurons, ...).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from s5rf_neuro.commands._common import CommandParser, cli_entry
from s5rf_neuro.data.info import DatasetInfo
from s5rf_neuro.errors import ConfigError, DataError
from s5rf_neuro.records import read_json_object


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="s5rf-import", description=__doc__)
    parser.add_argument("params", help="reference parameters (.npz or .eqx)")
    parser.add_argument("--config", required=True, help="JSON file with the S5RFConfig fields of the run")
    parser.add_argument("-o", "--output", required=True, help="checkpoint to write (.ckpt)")
    parser.add_argument("--dataset", help="JSON file with the data set description to store "
                                          "(any of name, encoding, time_steps, input_dim, class_names, source; "
                                          "default: no data source)")
    return parser


@cli_entry("s5rf-import")
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from s5rf_neuro.checkpoint import save_checkpoint
    from s5rf_neuro.config import S5RFConfig
    from s5rf_neuro.reference import load_reference
    from s5rf_neuro.resources import MemoryNeed, model_bytes, require

    try:
        config = S5RFConfig.from_dict(read_json_object(args.config, ConfigError), args.config)
    except ConfigError as err:
        raise ConfigError(str(err) if str(err).startswith(args.config) else f"{args.config}: {err}") from None
    require(MemoryNeed(f"{args.config}: a model of {config.num_layers} layers x {config.num_neurons} neurons",
                       model_bytes(config.input_dim, config.output_dim, config.num_neurons, config.num_layers,
                                   mixing=config.discretization == "zoh")))
    model = load_reference(args.params, config)
    dataset = DatasetInfo(name="imported", encoding="unknown", time_steps=0, input_dim=config.input_dim,
                          class_names=tuple(str(index) for index in range(config.output_dim)), source=None)
    if args.dataset:
        given = read_json_object(args.dataset, DataError)
        dataset = DatasetInfo.from_dict({**dataset.to_dict(), **given}, args.dataset)
    output = save_checkpoint(args.output, model, dataset=dataset, metrics={},
                             extra={"imported_from": str(Path(args.params).resolve())})
    print(f"wrote {output} ({config.num_layers} layers x {config.num_neurons} neurons, "
          f"{config.discretization} first layer) from {args.params}")
    return 0
