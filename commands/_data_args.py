"""Command-line options that choose a data set, shared by s5rf-train, s5rf-eval, s5rf-run, s5rf-export and
s5rf-report."""

from __future__ import annotations

import argparse
import math
from typing import Callable

from s5rf_neuro.data.info import DatasetInfo
from s5rf_neuro.data.registry import EMBEDDED, KINDS
from s5rf_neuro.data.spike_files import DEFAULT_BIN_MS, DEFAULT_BINS, DEFAULT_CHANNELS, INPUT_CHANNELS, MIN_BIN_MS
from s5rf_neuro.errors import DataError

_BINNING_OPTIONS = ("binning", "bins", "bin_ms", "time_steps", "channels")


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """--data, --data-dir and the binning options (all default to None: "not given")."""
    group = parser.add_argument_group("data")
    group.add_argument("--data", choices=KINDS, default=None,
                       help="data set (default: the embedded scikit-learn digits as spikes; sdigits: the same "
                            "digits read pixel by pixel as real values, T = 64; psdigits: sdigits with a fixed "
                            "pixel permutation)")
    group.add_argument("--data-dir", default=None,
                       help="directory with the HDF5 files (shd_train.h5 ..., ssc_*.h5, spoken_digits_*.h5)")
    group.add_argument("--binning", choices=("duration", "fixed"), default=None,
                       help="duration: --bins bins over each sample's own duration (paper, default); "
                            "fixed: bins of --bin-ms, zero-padded")
    group.add_argument("--bins", type=int, default=None, help=f"bins per sample for --binning duration ({DEFAULT_BINS})")
    group.add_argument("--bin-ms", type=float, default=None, help=f"bin duration in ms for --binning fixed ({DEFAULT_BIN_MS})")
    group.add_argument("--time-steps", type=int, default=None,
                       help="steps per sample for --binning fixed (default: the longest training sample)")
    group.add_argument("--channels", type=int, default=None, help=f"input channels after summing the 700 ({DEFAULT_CHANNELS})")


def source_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace, kind: str | None) -> dict:
    """The data source dict of the parsed options for data set `kind`; argparse errors name the option."""
    kind = kind or "digits"
    if kind in EMBEDDED:
        for option in ("data_dir",) + _BINNING_OPTIONS:
            if getattr(args, option) is not None:
                parser.error(f"argument --{option.replace('_', '-')}: not used by --data {kind}")
        return {"kind": kind}
    if not args.data_dir:
        parser.error(f"argument --data-dir: required for --data {kind}")
    _check_binning_options(parser, args)
    mode = args.binning or "duration"
    if mode == "duration":
        if args.bin_ms is not None or args.time_steps is not None:
            parser.error("argument --bin-ms/--time-steps: only for --binning fixed")
        binning = {"mode": "duration", "bins": args.bins or DEFAULT_BINS}
    else:
        if args.bins is not None:
            parser.error("argument --bins: only for --binning duration")
        binning = {"mode": "fixed", "bin_ms": args.bin_ms or DEFAULT_BIN_MS, "time_steps": args.time_steps}
    return {"kind": kind, "root": args.data_dir, "binning": binning, "channels": args.channels or DEFAULT_CHANNELS}


def _check_binning_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """argparse errors naming the option for a binning that no data set can have."""
    for option in ("bins", "time_steps"):
        value = getattr(args, option)
        if value is not None and value < 1:
            parser.error(f"argument --{option.replace('_', '-')}: must be at least 1, got {value}")
    if args.bin_ms is not None and not (math.isfinite(args.bin_ms) and args.bin_ms >= MIN_BIN_MS):
        parser.error(f"argument --bin-ms: must be a finite number of ms >= {MIN_BIN_MS:g}, got {args.bin_ms}")
    if args.channels is not None and not (1 <= args.channels <= INPUT_CHANNELS and INPUT_CHANNELS % args.channels == 0):
        parser.error(f"argument --channels: must divide the {INPUT_CHANNELS} input channels (e.g. 140, 70, 35), "
                     f"got {args.channels}")


def source_for(parser: argparse.ArgumentParser, args: argparse.Namespace, dataset: DatasetInfo | None,
               model: str) -> dict:
    """The data source: the --data options when given, else the one `dataset` records for the file
    `model` (with --data-dir as its root); DataError naming `model` when it records none."""
    if args.data is not None:
        return source_from_args(parser, args, args.data)
    for option in _BINNING_OPTIONS:
        if getattr(args, option) is not None:
            parser.error(f"argument --{option.replace('_', '-')}: give --data too")
    source = dataset.recorded_source if dataset is not None else None
    if source is None:
        raise DataError(f"{model}: the file records no data set; give --data ({', '.join(KINDS)})")
    if args.data_dir is not None:
        if source["kind"] in EMBEDDED:
            parser.error(f"argument --data-dir: the recorded data set ({source['kind']}) has no data directory")
        source["root"] = args.data_dir
    return source


def given_source(parser: argparse.ArgumentParser, args: argparse.Namespace,
                 recorded: Callable[[], DatasetInfo | None], model: str) -> dict | None:
    """The data source the options choose, or None when no data option is given (the caller then uses the
    data set `model` records). `recorded` loads that record; it is called only for --data-dir or binning
    options without --data."""
    if args.data is None and all(getattr(args, option) is None for option in ("data_dir",) + _BINNING_OPTIONS):
        return None
    return source_for(parser, args, None if args.data is not None else recorded(), model)
