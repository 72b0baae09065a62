"""The steps of `s5rf-export`: checkpoint -> networks -> summary, accuracy and Lava agreement.

Each step is a function of plain values, so the command only composes them
and prints; `export.export_dir` owns the files.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from s5rf_neuro.checkpoint import Checkpoint, load_checkpoint
from s5rf_neuro.errors import DataError
from s5rf_neuro.export.discretise import discretise
from s5rf_neuro.export.quantise import QuantReport, quantise
from s5rf_neuro.hardware.golden import SimulationResult, simulate
from s5rf_neuro.hardware.network import FloatNetwork, IntNetwork, Network
from s5rf_neuro.hardware.target import TargetSpec

SOFTWARE = ("s5rf-neuro", "torch", "nir", "lava-nc", "numpy")
"""Packages whose versions an export records."""


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


def layer_summary(network: Network, report: QuantReport | None) -> list[dict[str, Any]]:
    """Per layer then the readout: inputs, neurons, synapses (nonzero weights, real and imaginary
    counted apart), skip, weight exponents and state headroom (None where not applicable)."""
    rows = []
    report_layers = report.layers if report is not None else [{}] * len(network.layers)
    for index, (layer, quant) in enumerate(zip(network.layers, report_layers)):
        if isinstance(network, IntNetwork):
            synapses = int(np.count_nonzero(layer.weight_re) + np.count_nonzero(layer.weight_im))
            exponents = [layer.weight_exp_re, layer.weight_exp_im]
        else:
            synapses = int(np.count_nonzero(layer.weight.real) + np.count_nonzero(layer.weight.imag))
            exponents = None
        rows.append(
            {
                "name": f"layer {index}",
                "inputs": layer.num_inputs,
                "neurons": layer.num_neurons,
                "synapses": synapses,
                "skip": bool(layer.skip),
                "weight_exponents": exponents,
                "state_headroom_bits": quant.get("state_headroom_bits"),
            }
        )
    readout = network.readout
    outputs, inputs = np.shape(readout.weight)
    rows.append(
        {
            "name": "readout",
            "inputs": int(inputs),
            "neurons": int(outputs),
            "synapses": int(np.count_nonzero(readout.weight)),
            "skip": False,
            "weight_exponents": [readout.weight_exp] if isinstance(network, IntNetwork) else None,
            "state_headroom_bits": report.readout.get("state_headroom_bits") if report is not None else None,
        }
    )
    return rows


def accuracy(network: Network, inputs: np.ndarray, labels: np.ndarray, progress: bool) -> tuple[float, SimulationResult]:
    """Golden-simulator accuracy of `network` on (inputs, labels), and the simulation (spike counts only, bounded memory)."""
    result = simulate(network, inputs, progress=progress, keep_spikes=False)
    return float(np.mean(result.predictions == labels)), result


def accuracy_on_test_set(conversion: Conversion, samples: int | None, progress: bool) -> dict[str, Any]:
    """Float and (fixed-point target) integer accuracy on the checkpoint's test set.

    samples: how many test samples (None: all). Returns {"available": False,
    "reason": ...} when the test data cannot be loaded.
    """
    try:
        data = load_split_of(conversion.checkpoint, "test")
    except DataError as err:
        return {"available": False, "reason": str(err)}
    inputs, labels = data.inputs[:samples], data.labels[:samples]
    recorded = conversion.checkpoint.metrics.get("test_accuracy")
    result: dict[str, Any] = {
        "available": True,
        "dataset": data.name,
        "samples": int(len(labels)),
        "checkpoint": None if recorded is None else float(recorded),
    }
    float_accuracy, float_run = accuracy(conversion.float_network, inputs, labels, progress)
    result["float"] = float_accuracy
    if isinstance(conversion.network, IntNetwork):
        int_accuracy, int_run = accuracy(conversion.network, inputs, labels, progress)
        result["integer"] = int_accuracy
        result["float_integer_agreement"] = float(np.mean(float_run.predictions == int_run.predictions))
        result["saturation"] = [int(count) for count in int_run.saturation]
    return result


def lava_agreement(conversion: Conversion, network: Network, samples: int, progress: bool) -> dict[str, Any]:
    """Run `samples` test samples through Lava (CPU) and compare with the golden simulator and the float model.

    Returns spike agreement (fraction of equal spike entries, and whether every
    layer's spikes are identical), prediction agreement with golden and with
    the checkpoint's float model.
    """
    import torch

    from s5rf_neuro.hardware.backends import LAVA_CPU
    from s5rf_neuro.hardware.lava_run import run_lava

    data = load_split_of(conversion.checkpoint, "test")
    inputs = data.inputs[:samples]
    golden = simulate(network, inputs)
    lava = run_lava(network, inputs, backend=LAVA_CPU, progress=progress)
    with torch.no_grad():
        model_predictions = conversion.model(torch.as_tensor(np.asarray(inputs, dtype=np.float32))).argmax(dim=1).numpy()
    equal = [int(np.count_nonzero(g == l)) for g, l in zip(golden.spikes, lava.spikes)]
    total = [int(g.size) for g in golden.spikes]
    return {
        "samples": int(len(inputs)),
        "backend": LAVA_CPU,
        "spikes_identical": all(g.shape == l.shape and np.array_equal(g, l) for g, l in zip(golden.spikes, lava.spikes)),
        "spike_agreement": float(sum(equal) / max(sum(total), 1)),
        "prediction_agreement_golden": float(np.mean(golden.predictions == lava.predictions)),
        "prediction_agreement_float_model": float(np.mean(model_predictions == lava.predictions)),
    }


def software_versions() -> dict[str, str | None]:
    """Installed versions of the packages in `SOFTWARE` (None when absent), and Python's."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in SOFTWARE:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def file_digest(path: Path) -> str:
    """SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
