"""A checkpoint turned into the network to export, and the per-layer summary `s5rf-export` prints and records.

`convert` loads, discretises and (fixed-point target) quantises; each step is
a function of plain values, so the command only composes them and prints;
`export.export_dir` owns the files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from s5rf_neuro.checkpoint import Checkpoint, load_checkpoint
from s5rf_neuro.errors import DataError
from s5rf_neuro.export.discretise import discretise
from s5rf_neuro.export.quantisation_report import QuantReport
from s5rf_neuro.export.quantise import quantise
from s5rf_neuro.hardware.network import FloatNetwork, IntNetwork, Network
from s5rf_neuro.hardware.target import TargetSpec


@dataclass
class Conversion:
    """A checkpoint turned into the network to export.

    model: the checkpoint's PyTorch model (eval mode); float_network: the
    discrete float network; network: what is exported (the integer network
    for a fixed-point target, else float_network); report: the quantisation
    report (None for the float target).
    """

    checkpoint: Checkpoint
    path: Path
    model: Any
    target: TargetSpec
    float_network: FloatNetwork
    network: Network
    report: QuantReport | None
    calibration_samples: int


def convert(checkpoint_path: Path, target: TargetSpec, calibrate: int = 0) -> Conversion:
    """Load the checkpoint, discretise it and (fixed-point target) quantise it.

    calibrate: number of training samples whose simulated peak states set the
    state scales; 0 bounds them from the weights instead.
    """
    checkpoint = load_checkpoint(checkpoint_path)
    model = checkpoint.build_model()
    metadata = {
        "checkpoint": str(checkpoint_path),
        "dataset": checkpoint.dataset.to_dict(),
        "checkpoint_metrics": {key: value for key, value in checkpoint.metrics.items() if key == "test_accuracy"},
    }
    float_network = discretise(model, metadata)
    if not target.quantized:
        return Conversion(checkpoint, checkpoint_path, model, target, float_network, float_network, None, 0)
    calibration = None
    if calibrate > 0:
        calibration = load_split_of(checkpoint, "train").inputs[:calibrate]
    network, report = quantise(float_network, target, calibration)
    used = 0 if calibration is None else len(calibration)
    return Conversion(checkpoint, checkpoint_path, model, target, float_network, network, report, used)


def load_split_of(checkpoint: Checkpoint, split: str):
    """The `split` of the checkpoint's data set (DataError when it cannot be loaded)."""
    from s5rf_neuro.data.registry import load_split

    source = checkpoint.dataset.recorded_source
    if source is None:
        raise DataError("the checkpoint records no data source")
    return load_split(source, split)


@dataclass(frozen=True)
class LayerSummary:
    """One row of the exported network's summary (a spiking layer, its mixing stage, or the readout).

    inputs, neurons: widths; synapses: nonzero weights (real and imaginary
    counted apart); weight_exponents: the connections' exponents (integer
    network only, else None); state_headroom_bits: bits of state range above
    the peak (None without a quantisation report).
    """

    name: str
    inputs: int
    neurons: int
    synapses: int
    skip: bool
    weight_exponents: list[int] | None
    state_headroom_bits: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able plain dict (an entry of export.json's `layers`)."""
        return asdict(self)


def layer_summary(network: Network, report: QuantReport | None) -> list[LayerSummary]:
    """Per layer (and its mixing stage, if any, inputs = the states it mixes) then the readout: the
    network's widths, synapses and exponents, and the report's state headroom."""
    rows = []
    headroom = [None] * len(network.layers) if report is None else [layer.state_headroom_bits for layer in report.layers]
    for index, (layer, layer_headroom) in enumerate(zip(network.layers, headroom)):
        synapses = sum(int(np.count_nonzero(part)) for part in layer.weight_parts())
        exponents = [layer.weight_exp_re, layer.weight_exp_im] if isinstance(network, IntNetwork) else None
        rows.append(LayerSummary(f"layer {index}", layer.num_inputs, layer.num_neurons, synapses, bool(layer.skip),
                                 exponents, layer_headroom))
        if layer.mixing is not None:
            stage = layer.mixing
            mixing_exponents = [stage.weight_exp_re, stage.weight_exp_im] if isinstance(network, IntNetwork) else None
            rows.append(LayerSummary(f"layer {index} mixing", layer.num_neurons, layer.num_mixing_neurons,
                                     stage.num_synapses, False, mixing_exponents, None))
    readout = network.readout
    outputs, inputs = np.shape(readout.weight)
    rows.append(
        LayerSummary(
            "readout", int(inputs), int(outputs), int(np.count_nonzero(readout.weight)), False,
            [readout.weight_exp] if isinstance(network, IntNetwork) else None,
            report.readout.state_headroom_bits if report is not None else None,
        )
    )
    return rows
