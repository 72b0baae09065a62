"""s5rf-export: a trained checkpoint -> a deployable NIR export directory.

    s5rf-export model.ckpt [--target loihi2|float] [-o OUT/] [--calibrate N] [--force]
                [--test-samples N] [--validate N] [--input-bits N] [--input-scale X] [--input-clip]
                [--data KIND [--data-dir DIR]]

Loads the checkpoint, discretises it, quantises it for a fixed-point target,
and writes OUT/model.nir and OUT/export.json (per-layer quantisation report,
target, software versions, accuracy, validation). Before anything is
published the written .nir is read back and must equal the network exactly;
with --validate N, N test samples also run through Lava and its spikes must
equal the golden simulator's. Calibration, accuracy and validation use the
data set recorded in the checkpoint, or the one given with --data (an
imported checkpoint records none). A model trained on real-valued inputs
exports with graded inputs (docs/design.md §5a): payloads of --input-bits bits
at one scale, chosen from the training data's largest value or given with
--input-scale. Exit code 0 only for a valid export; 1 when a check fails
(nothing is written); 2 for bad input; 130 or 143 when SIGINT or SIGTERM stops
it. OUT is published in one step (`export.export_dir`): it holds the old
export unchanged or the complete new one, never a mix.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from s5rf_neuro.commands._common import CommandParser, cli_entry
from s5rf_neuro.commands._data_args import add_data_options, given_source
from s5rf_neuro.commands._input_args import add_input_options, input_options_from
from s5rf_neuro.errors import NetworkError, TargetError
from s5rf_neuro.hardware.target import TARGETS, get_target

if TYPE_CHECKING:
    from s5rf_neuro.export.conversion import LayerSummary
    from s5rf_neuro.hardware.inputs import InputOptions

EXPORT_FORMAT = "s5rf-export"
EXPORT_FORMAT_VERSION = 1
EXIT_INVALID = 1


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="s5rf-export",
        description="Discretise, quantise and export a trained S5-RF checkpoint as NIR.",
    )
    parser.add_argument("checkpoint", type=Path, help="trained checkpoint (.ckpt)")
    parser.add_argument(
        "--target", default="loihi2", help=f"execution target ({', '.join(sorted(TARGETS))}; default loihi2)"
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=None, help="output directory (default: CHECKPOINT-TARGET next to the checkpoint)"
    )
    parser.add_argument(
        "--calibrate", type=int, default=0, metavar="N",
        help="set state scales from N training samples instead of the weight bound (default 0: weight bound)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing export in the output directory")
    parser.add_argument(
        "--test-samples", type=int, default=None, metavar="N",
        help="test samples for the accuracy figures (default: all; 0 skips them)",
    )
    parser.add_argument(
        "--validate", type=int, default=0, metavar="N",
        help="run N test samples through Lava and compare with the golden simulator and the float model",
    )
    add_input_options(parser)
    add_data_options(parser)
    return parser


@cli_entry("s5rf-export")
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("calibrate", "validate", "test_samples"):
        value = getattr(args, name)
        if value is not None and value < 0:
            parser.error(f"argument --{name.replace('_', '-')}: must be >= 0, got {value}")
    inputs = input_options_from(parser, args)
    try:
        target = get_target(args.target)
    except TargetError as err:
        raise TargetError(f"argument --target: {err}") from None
    if args.checkpoint.is_dir():
        parser.error(f"checkpoint {args.checkpoint}: is a directory, not a checkpoint file")
    if not args.checkpoint.is_file():
        parser.error(f"checkpoint {args.checkpoint}: no such file")
    output = args.output or args.checkpoint.with_name(f"{args.checkpoint.stem}-{target.name}")
    data_source = given_source(parser, args, lambda: _recorded_dataset(args.checkpoint), str(args.checkpoint))

    from s5rf_neuro.export.export_dir import ExportDir

    started = time.perf_counter()
    directory = ExportDir(output, force=args.force)
    try:
        code = _export(args, inputs, target, directory, started, data_source)
    finally:
        directory.discard()
    return code


def _recorded_dataset(checkpoint: Path):
    from s5rf_neuro.checkpoint import load_checkpoint

    return load_checkpoint(checkpoint).dataset


def _export(args: argparse.Namespace, inputs: InputOptions, target, directory, started: float,
            data_source: dict[str, Any] | None) -> int:
    from s5rf_neuro.export.accuracy import accuracy_on_test_set, lava_agreement
    from s5rf_neuro.export.conversion import convert, layer_summary
    from s5rf_neuro.export.nir_io import read_nir, write_nir
    from s5rf_neuro.hardware.network import networks_identical

    try:
        conversion = convert(args.checkpoint, target, args.calibrate, inputs, data_source)
    except (NetworkError, TargetError) as err:
        raise type(err)(f"{args.checkpoint}: {err}") from None
    staged_nir = write_nir(conversion.network, directory.stage_path("model.nir"))
    read_back = read_nir(staged_nir)
    problems = []
    if not networks_identical(conversion.network, read_back):
        problems.append("the written model.nir does not read back to the same network")
    progress = sys.stderr.isatty()
    if args.test_samples == 0:
        accuracy: dict[str, Any] = {"available": False, "reason": "skipped (--test-samples 0)"}
    else:
        accuracy = accuracy_on_test_set(conversion, args.test_samples, progress)
    validation = None
    if args.validate:
        validation = lava_agreement(conversion, read_back, args.validate, progress)
        if not validation["spikes_identical"]:
            problems.append(
                f"Lava spikes differ from the golden simulator's ({validation['spike_agreement']:.4%} of entries agree)"
            )
    summary = layer_summary(conversion.network, conversion.report)
    report = _report(args, conversion, summary, accuracy, validation, staged_nir, problems)
    _print_table(conversion, summary, accuracy, validation)
    if problems:
        for problem in problems:
            print(f"s5rf-export: invalid export: {problem}; nothing written", file=sys.stderr)
        return EXIT_INVALID
    directory.stage_json("export.json", report)
    written = directory.commit()
    print(f"wrote {', '.join(str(path) for path in written)} in {time.perf_counter() - started:.1f} s")
    return 0


def _report(args, conversion, summary, accuracy, validation, nir_path: Path, problems: list[str]) -> dict[str, Any]:
    from s5rf_neuro.export.provenance import file_digest, software_versions
    from s5rf_neuro.hardware.network import NETWORK_FORMAT_VERSION

    quantisation = conversion.report.to_dict() if conversion.report is not None else None
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "checkpoint": {"path": str(args.checkpoint.resolve()), "sha256": file_digest(args.checkpoint)},
        "target": conversion.target.to_dict(),
        "software": software_versions(),
        "model_nir": {
            "file": "model.nir",
            "network_format_version": NETWORK_FORMAT_VERSION,
            "kind": "int" if conversion.target.quantized else "float",
            "bytes": nir_path.stat().st_size,
            "sha256": file_digest(nir_path),
            "round_trip": "exact" if not problems else "see problems",
        },
        "layers": [row.to_dict() for row in summary],
        "calibration_samples": conversion.calibration_samples,
        "inputs": {
            "format": conversion.input_format.to_dict(),
            "clipped_calibration": conversion.calibration_clipped,
            "clipped_test": accuracy.get("inputs_clipped", 0),
        },
        "quantisation": quantisation,
        "warnings": list(conversion.report.warnings) if conversion.report is not None else [],
        "accuracy": accuracy,
        "validation": validation,
        "valid": not problems,
        "problems": problems,
    }


def _print_table(conversion, summary: list[LayerSummary], accuracy: dict[str, Any], validation) -> None:
    target = conversion.target
    bits = str(target.weight_bits) if target.quantized else "f64"
    print(f"s5rf-export: {conversion.path} -> target {target.name}")
    header = f"{'':14} {'inputs':>7} {'neurons':>8} {'synapses':>10} {'skip':>5} {'w bits':>7} {'w exp':>9} {'headroom':>9}"
    print(header)
    for row in summary:
        exponents = "/".join(str(e) for e in row.weight_exponents) if row.weight_exponents else "-"
        headroom_text = f"{row.state_headroom_bits:.1f} b" if row.state_headroom_bits is not None else "-"
        print(
            f"{row.name:14} {row.inputs:>7} {row.neurons:>8} {row.synapses:>10} "
            f"{'yes' if row.skip else 'no':>5} {bits:>7} {exponents:>9} {headroom_text:>9}"
        )
    total_neurons = sum(row.neurons for row in summary[:-1])
    total_synapses = sum(row.synapses for row in summary)
    print(f"{'total':14} {'':>7} {total_neurons:>8} {total_synapses:>10}")
    input_format = conversion.input_format
    if input_format.graded:
        clipped = conversion.calibration_clipped + accuracy.get("inputs_clipped", 0)
        print(f"inputs: graded, {input_format.bits}-bit payload, q = nearest(u·{input_format.scale:.6g})"
              + (f", {clipped} value(s) clipped" if input_format.clip else ""))
    if conversion.report is not None:
        for warning in conversion.report.warnings:
            print(f"warning: {warning}")
    if accuracy.get("available"):
        parts = []
        if accuracy.get("checkpoint") is not None:
            parts.append(f"checkpoint {accuracy['checkpoint']:.2%}")
        parts.append(f"float (golden) {accuracy['float']:.2%}")
        if "integer" in accuracy:
            parts.append(f"integer (golden) {accuracy['integer']:.2%}")
            parts.append(f"float/integer agreement {accuracy['float_integer_agreement']:.2%}")
        print(f"accuracy on {accuracy['dataset']} test ({accuracy['samples']} samples): " + ", ".join(parts))
    else:
        print(f"accuracy: not measured ({accuracy.get('reason')})")
    if validation is not None:
        print(
            f"Lava ({validation['backend']}, {validation['samples']} samples): spikes "
            f"{'identical to' if validation['spikes_identical'] else 'DIFFER from'} golden "
            f"({validation['spike_agreement']:.4%} agree), predictions agree with golden "
            f"{validation['prediction_agreement_golden']:.2%}, with the float model "
            f"{validation['prediction_agreement_float_model']:.2%}"
        )


if __name__ == "__main__":
    sys.exit(main())
