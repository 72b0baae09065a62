"""s5rf-data: build data sets that cannot be downloaded (synthetic spoken digits and spoken commands)."""

from __future__ import annotations

import argparse
import time
from typing import Sequence

from s5rf_neuro.commands._common import CommandParser, cli_entry, positive_int, random_seed


def _names(text: str) -> list[str]:
    """argparse type: a comma-separated list of names."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated names")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="s5rf-data", description=__doc__)
    sub = parser.add_subparsers(dest="dataset", required=True)
    sd = sub.add_parser("spoken-digits", help="digits zero-nine in English and German via espeak-ng (SHD layout)",
                        description="Synthesise spoken digits (20 classes) with espeak-ng and encode them into "
                                    "700-channel spikes; writes spoken_digits_train.h5 and spoken_digits_test.h5.")
    sd.add_argument("-o", "--output", required=True, help="output directory")
    sd.add_argument("--per-class", type=positive_int, default=150, help="training utterances per class (default 150)")
    sd.add_argument("--test-per-class", type=positive_int, default=None,
                    help="test utterances per class (default: a quarter of --per-class)")
    sd.add_argument("--seed", type=random_seed, default=0, help="random seed (default 0)")
    sd.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1)")

    sc = sub.add_parser("spoken-commands", help="the 35 SSC keywords via espeak-ng (SSC layout: train, valid, test)",
                        description="Synthesise the 35 keywords of the Spiking Speech Commands with espeak-ng "
                                    "voices and encode them into 700-channel spikes; writes ssc_train.h5, "
                                    "ssc_valid.h5 and ssc_test.h5 (all three or none), speakers (voice variants) "
                                    "disjoint between the splits. Train on them with --data ssc --data-dir DIR.")
    sc.add_argument("-o", "--output", required=True, help="output directory")
    sc.add_argument("--per-class", type=positive_int, default=100,
                    help="training utterances per keyword (default 100)")
    sc.add_argument("--valid-per-class", type=positive_int, default=None,
                    help="validation utterances per keyword (default: an eighth of --per-class)")
    sc.add_argument("--test-per-class", type=positive_int, default=None,
                    help="test utterances per keyword (default: a quarter of --per-class)")
    sc.add_argument("--accents", type=_names, default=None,
                    help="espeak-ng English voices to draw from, comma-separated (default: eight accents)")
    for split in ("train", "valid", "test"):
        sc.add_argument(f"--{split}-variants", type=_names, default=None,
                        help=f"espeak-ng voice variants (speakers) of the {split} split, comma-separated")
    sc.add_argument("--seed", type=random_seed, default=0, help="random seed (default 0)")
    sc.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1)")
    return parser


@cli_entry("s5rf-data")
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    if args.dataset == "spoken-digits":
        from s5rf_neuro.data import spoken_digits

        paths = spoken_digits.build(args.output, args.per_class, args.test_per_class, args.seed, args.workers)
    else:
        from s5rf_neuro.data import spoken_commands

        voices = spoken_commands.Voices(
            accents=args.accents or list(spoken_commands.ACCENTS),
            variants={split: getattr(args, f"{split}_variants") for split in spoken_commands.SPLITS
                      if getattr(args, f"{split}_variants")})
        paths = spoken_commands.build(args.output, args.per_class, args.valid_per_class, args.test_per_class,
                                      args.seed, args.workers, voices)
    for split, path in paths.items():
        print(f"{split}: {path}")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0
