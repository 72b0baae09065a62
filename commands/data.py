"""s5rf-data: build data sets that cannot be downloaded (the synthetic spoken digits)."""

from __future__ import annotations

import argparse
from typing import Sequence

from s5rf_neuro.commands._common import cli_entry, positive_int


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="s5rf-data", description=__doc__)
    sub = parser.add_subparsers(dest="dataset", required=True)
    sd = sub.add_parser("spoken-digits", help="digits zero-nine in English and German via espeak-ng (SHD layout)",
                        description="Synthesise spoken digits (20 classes) with espeak-ng and encode them into "
                                    "700-channel spikes; writes spoken_digits_train.h5 and spoken_digits_test.h5.")
    sd.add_argument("-o", "--output", required=True, help="output directory")
    sd.add_argument("--per-class", type=positive_int, default=150, help="training utterances per class (default 150)")
    sd.add_argument("--test-per-class", type=positive_int, default=None,
                    help="test utterances per class (default: a quarter of --per-class)")
    sd.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sd.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1)")
    return parser


@cli_entry("s5rf-data")
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from s5rf_neuro.data import spoken_digits

    paths = spoken_digits.build(args.output, args.per_class, args.test_per_class, args.seed, args.workers)
    for split, path in paths.items():
        print(f"{split}: {path}")
    return 0
