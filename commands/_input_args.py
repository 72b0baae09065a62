"""Command-line options for graded (real-valued) inputs, shared by s5rf-export and s5rf-report."""

from __future__ import annotations

import argparse

from s5rf_neuro.errors import ConfigError
from s5rf_neuro.hardware.inputs import DEFAULT_INPUT_BITS, InputOptions
from s5rf_neuro.hardware.network import INPUT_BITS_MAX


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """--input-bits, --input-scale and --input-clip (all "not given" by default)."""
    group = parser.add_argument_group("graded inputs (models trained on real-valued inputs)")
    group.add_argument(
        "--input-bits", type=int, default=None, metavar="N",
        help=f"payload width of a graded input, 1..{INPUT_BITS_MAX} (default {DEFAULT_INPUT_BITS}; at most the "
        "target's graded spike payload)",
    )
    group.add_argument(
        "--input-scale", type=float, default=None, metavar="X",
        help="payload units per input unit, q = nearest(u·X) (default: (2^N − 1) / the largest training value); "
        "giving it makes the inputs graded",
    )
    group.add_argument(
        "--input-clip", action="store_true",
        help="clip inputs beyond the payload range and count them, instead of refusing them",
    )


def input_options_from(parser: argparse.ArgumentParser, args: argparse.Namespace) -> InputOptions:
    """The parsed graded input options; an argparse error names the option and its range."""
    try:
        return InputOptions(bits=args.input_bits, scale=args.input_scale, clip=args.input_clip)
    except ConfigError as err:
        parser.error(str(err))
        raise  # parser.error exits
