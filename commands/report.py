"""`s5rf-report MODEL -o DIR`: the deployment report of a checkpoint or a .nir export."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from s5rf_neuro.commands._common import CommandParser, cli_entry, non_negative_int, positive_int
from s5rf_neuro.commands._data_args import add_data_options, source_from_args
from s5rf_neuro.commands._input_args import add_input_options, input_options_from
from s5rf_neuro.hardware.energy import available_profiles
from s5rf_neuro.hardware.target import TARGETS, get_target


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    parser = CommandParser(
        prog="s5rf-report",
        description="Write a Markdown/HTML report (accuracy float vs integer vs Lava, spikes and synaptic operations "
        "per layer, energy estimate, core mapping, figures) for a checkpoint or a .nir export.",
    )
    parser.add_argument("model", type=Path, nargs="+",
                        help="a checkpoint (.ckpt) or an export (.nir); several of one data set: a comparison of "
                        "accuracy against synaptic operations and energy, one point per model")
    parser.add_argument("-o", "--output", type=Path, required=True, help="report directory (created if needed)")
    parser.add_argument("--samples", type=positive_int, default=None, help="test samples to use (default: all)")
    parser.add_argument("--lava", type=non_negative_int, default=0, metavar="N",
                        help="also run the first N samples through Lava on the CPU (default: 0, none)")
    quantised = sorted(name for name, spec in TARGETS.items() if spec.quantized)
    parser.add_argument("--target", default="loihi2", choices=quantised, help="fixed-point target (default: loihi2)")
    profiles = available_profiles()
    parser.add_argument("--profile", action="append", default=None,
                        help=f"neuromorphic energy profile, a name ({', '.join(profiles)}) or a JSON file; repeat for "
                        "several (default: loihi1 and sanafe_loihi)")
    parser.add_argument("--baseline", default="horowitz45nm", help="arithmetic energy profile of the dense baseline, "
                        "a name or a JSON file (default: horowitz45nm)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_data_options(parser)
    add_input_options(parser)
    parser.epilog = ("The test data is the data set recorded in the checkpoint or .nir; --data chooses another, "
                     "--data-dir alone points the recorded one at another directory.")
    return parser


@cli_entry("s5rf-report")
def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `s5rf-report`."""
    from s5rf_neuro.export.report import write_report

    parser = build_parser()
    args = parser.parse_args(argv)
    input_options = input_options_from(parser, args)
    data_source = source_from_args(parser, args, args.data) if args.data is not None else None
    profiles = tuple(args.profile or ("loihi1", "sanafe_loihi"))
    if len(args.model) > 1:
        from s5rf_neuro.export.report_compare import write_comparison

        if args.lava:
            parser.error("argument --lava: only for the report of one model")
        report = write_comparison(args.model, args.output, get_target(args.target), samples=args.samples,
                                  neuromorphic_profiles=profiles, arithmetic_profile=args.baseline,
                                  progress=not args.no_progress, data_source=data_source)
        print(f"wrote {report}, {report.with_suffix('.html').name} and {report.with_suffix('.json').name}; "
              f"figure {report.parent / 'figures' / 'tradeoff.png'}")
        return 0
    report = write_report(
        args.model[0],
        args.output,
        get_target(args.target),
        samples=args.samples,
        lava_samples=args.lava,
        neuromorphic_profiles=profiles,
        arithmetic_profile=args.baseline,
        progress=not args.no_progress,
        data_source=data_source,
        data_dir=args.data_dir if args.data is None else None,
        input_options=input_options,
    )
    print(f"wrote {report}, {report.with_suffix('.html').name} and {report.with_suffix('.json').name}; "
          f"figures in {report.parent / 'figures'}")
    return 0
