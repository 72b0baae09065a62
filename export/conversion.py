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
from s5rf_neuro.hardware.inputs import DEFAULT_INPUT_BITS, InputOptions, graded_format, is_graded, quantise_inputs
from s5rf_neuro.hardware.network import SPIKE_INPUTS, FloatNetwork, InputFormat, IntNetwork, Network
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
    calibration_clipped: int = 0
    """Calibration input values clipped to the graded payload range (only with clipping configured)."""
    data_source: dict[str, Any] | None = None
    """The `load_split` source given in place of the checkpoint's data set (None: the recorded one)."""

    @property
    def input_format(self) -> InputFormat:
        """How the exported network takes its inputs."""
        return self.network.input_format


def convert(checkpoint_path: Path, target: TargetSpec, calibrate: int = 0,
            inputs: InputOptions = InputOptions(), data_source: dict[str, Any] | None = None) -> Conversion:
    """Load the checkpoint, discretise it and (fixed-point target) quantise it.

    calibrate: number of training samples whose simulated peak states set the
    state scales; 0 bounds them from the weights instead. inputs: the graded
    input options (`input_format_of`).
    data_source: a `load_split` source to use instead of the checkpoint's data set
    (for calibration and the accuracy figures), e.g. for an imported model that records none.
    """
    checkpoint = load_checkpoint(checkpoint_path)
    model = checkpoint.build_model()
    metadata = {
        "checkpoint": str(checkpoint_path),
        "dataset": checkpoint.dataset.to_dict(),
        "checkpoint_metrics": {key: value for key, value in checkpoint.metrics.items() if key == "test_accuracy"},
    }
    input_format, train = input_format_of(checkpoint, inputs, data_source)
    float_network = discretise(model, metadata, input_format)
    if not target.quantized:
        return Conversion(checkpoint, checkpoint_path, model, target, float_network, float_network, None, 0, 0,
                          data_source)
    calibration, clipped = None, 0
    if calibrate > 0:
        train = train if train is not None else load_split_of(checkpoint, "train", data_source)
        calibration = train.inputs[:calibrate]
        if input_format.graded:
            prepared = quantise_inputs(calibration, input_format, f"{train.name or 'data set'} train split (calibration)")
            calibration, clipped = prepared.values, prepared.clipped
    network, report = quantise(float_network, target, calibration)
    used = 0 if calibration is None else len(calibration)
    return Conversion(checkpoint, checkpoint_path, model, target, float_network, network, report, used, clipped,
                      data_source)


def input_format_of(checkpoint: Checkpoint, options: InputOptions,
                    data_source: dict[str, Any] | None = None) -> tuple[InputFormat, Any]:
    """The input format of the checkpoint's model, and its training split when it was loaded for it.

    Real-valued training inputs (a float dtype) make graded inputs, their
    scale from the largest training value unless `options.scale` is given;
    integer inputs are spikes. The data is read only to find that scale: not
    with a scale given, nor for a data set of spikes (`holds_spikes`). When
    the training data (`data_source`, else the recorded one) cannot be loaded
    the model takes spikes, unless a graded option asks for graded inputs.
    Raises `DataError` for graded options on spike data, or training data the
    payload cannot carry.
    """
    bits = DEFAULT_INPUT_BITS if options.bits is None else options.bits
    if options.scale is not None:
        return graded_format(None, "--input-scale", bits, options.scale, options.clip), None
    from s5rf_neuro.data.registry import holds_spikes

    source = data_source if data_source is not None else checkpoint.dataset.recorded_source
    if source is not None and holds_spikes(source):
        if options.given:
            raise DataError(f"--input-bits/--input-clip: the {source.get('kind')} data set holds spikes; "
                            "graded input options apply to real-valued inputs only")
        return SPIKE_INPUTS, None
    try:
        train = load_split_of(checkpoint, "train", data_source)
    except DataError as err:
        if options.given:
            raise DataError(f"--input-bits/--input-clip: cannot choose the graded input scale ({err}); "
                            "give --input-scale") from None
        return SPIKE_INPUTS, None
    where = f"{train.name or 'data set'} train split"
    if not is_graded(train.inputs):
        if options.given:
            raise DataError(f"--input-bits/--input-clip: the {where} holds spikes ({train.inputs.dtype}); "
                            "graded input options apply to real-valued inputs only")
        return SPIKE_INPUTS, train
    return graded_format(train.inputs, where, bits, None, options.clip), train


def load_split_of(checkpoint: Checkpoint, split: str, data_source: dict[str, Any] | None = None):
    """The `split` of `data_source`, else of the checkpoint's data set (DataError when it cannot be loaded)."""
    from s5rf_neuro.data.registry import load_split

    if data_source is not None:
        return load_split(data_source, split)
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
