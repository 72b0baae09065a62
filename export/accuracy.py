"""How well an export agrees: golden-simulator accuracy on the test set, and Lava against golden and the float model."""

from __future__ import annotations

from typing import Any

import numpy as np

from s5rf_neuro.errors import DataError
from s5rf_neuro.export.conversion import Conversion, load_split_of
from s5rf_neuro.hardware.golden import SimulationResult, simulate
from s5rf_neuro.hardware.inputs import network_inputs
from s5rf_neuro.hardware.network import IntNetwork, Network


def accuracy(network: Network, inputs: np.ndarray, labels: np.ndarray, progress: bool) -> tuple[float, SimulationResult]:
    """Golden-simulator accuracy of `network` on (inputs, labels), and the simulation (spike counts only, bounded memory)."""
    result = simulate(network, inputs, progress=progress, keep_spikes=False)
    return float(np.mean(result.predictions == labels)), result


def accuracy_on_test_set(conversion: Conversion, samples: int | None, progress: bool) -> dict[str, Any]:
    """Float and (fixed-point target) integer accuracy on the checkpoint's test set, or on the
    conversion's `data_source` when one was given.

    samples: how many test samples (None: all). Returns {"available": False,
    "reason": ...} when the recorded test data cannot be loaded; given data that cannot be
    loaded or does not fit the network raises DataError.
    """
    try:
        data = load_split_of(conversion.checkpoint, "test", conversion.data_source)
    except DataError as err:
        if conversion.data_source is not None:
            raise
        return {"available": False, "reason": str(err)}
    data.check_fits(str(conversion.path), conversion.network.input_dim, conversion.network.output_dim)
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
        prepared = network_inputs(conversion.network, inputs, f"{data.name or 'data set'} test split")
        int_accuracy, int_run = accuracy(conversion.network, prepared.values, labels, progress)
        result["integer"] = int_accuracy
        result["inputs_clipped"] = prepared.clipped
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

    data = load_split_of(conversion.checkpoint, "test", conversion.data_source)
    inputs = data.inputs[:samples]
    payloads = network_inputs(network, inputs, f"{data.name or 'data set'} test split").values
    golden = simulate(network, payloads)
    lava = run_lava(network, payloads, backend=LAVA_CPU, progress=progress)
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
