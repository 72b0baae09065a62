"""The golden simulator: batched, vectorised execution of a discrete S5-RF network.

It is the oracle the Lava process models must match bit for bit, and the
baseline of the throughput benchmark. An `IntNetwork` runs in int64 through
`hardware.neuron` (the integer arithmetic exists only there); a
`FloatNetwork` runs in float64/complex128 through `float_neuron_step`.

The dense connections are not recurrent, so each layer is computed for all
time steps of a batch at once (one matrix product over (batch·T, H)), then
the neuron recurrence runs over time on (batch, P) arrays, and the layer's
output feeds the next layer. Time runs from t = 0 with zero initial state;
layer l's output at step t drives layer l+1 at the same step t (no
pipeline delay; the Lava runner removes its own latency before comparing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from s5rf_neuro.errors import S5RFError
from s5rf_neuro.hardware.network import FloatNetwork, IntNetwork, Network
from s5rf_neuro.hardware.neuron import (
    dense_int,
    float_neuron_step,
    float_readout_step,
    int_neuron_step,
    int_readout_step,
)


@dataclass
class SimulationResult:
    """What a simulation of N samples of T steps produced.

    spikes:      per layer, bool (N, T, P): the layer's spikes (before any skip addition)
    scores:      (N, O): float64 mean_t y for a float network, int64 sum_t y for an integer one
    predictions: (N,) int64 argmax of scores
    saturation:  per layer then the readout (L + 1 ints): saturation events (zeros for float)
    state_peak:  per layer then the readout (L + 1 floats): the largest |component| of the state
                 reached (state units for float, LSBs for int); used for calibration and headroom
    """

    spikes: list[np.ndarray]
    scores: np.ndarray
    predictions: np.ndarray
    saturation: list[int]
    state_peak: list[float] = field(default_factory=list)

    def spikes_per_sample(self) -> list[float]:
        """Mean number of spikes per sample, per layer."""
        return [float(s.sum(axis=(1, 2)).mean()) if len(s) else 0.0 for s in self.spikes]


def _check_inputs(network: Network, inputs: np.ndarray) -> np.ndarray:
    inputs = np.asarray(inputs)
    if inputs.ndim != 3 or inputs.shape[2] != network.input_dim:
        raise S5RFError(
            f"inputs must have shape (samples, time steps, {network.input_dim}), got {inputs.shape}"
        )
    if inputs.dtype.kind not in "biu":
        if inputs.dtype.kind != "f" or not np.array_equal(inputs, np.round(inputs)):
            raise S5RFError(f"inputs must be integer spike counts, got dtype {inputs.dtype}")
    if inputs.size and inputs.min() < 0:
        raise S5RFError("inputs must be non-negative spike counts")
    return inputs


def _run_int_batch(network: IntNetwork, inputs: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, list[int], list[float]]:
    """One batch, time-major: inputs (T, B, H) -> (spikes per layer (T, B, P), scores (B, O), saturation, peaks)."""
    target = network.target
    steps, batch, _ = inputs.shape
    layer_input = inputs
    spikes_out: list[np.ndarray] = []
    saturation: list[int] = []
    peaks: list[float] = []
    for layer in network.layers:
        if layer.weight_exp_re == layer.weight_exp_im:
            both = dense_int(np.concatenate([layer.weight_re, layer.weight_im]), layer.weight_exp_re, layer_input)
            a_re, a_im = both[..., : layer.num_neurons], both[..., layer.num_neurons :]
        else:
            a_re = dense_int(layer.weight_re, layer.weight_exp_re, layer_input)
            a_im = dense_int(layer.weight_im, layer.weight_exp_im, layer_input)
        re = np.zeros((batch, layer.num_neurons), dtype=np.int64)
        im = np.zeros_like(re)
        spikes = np.empty((steps, batch, layer.num_neurons), dtype=bool)
        events = 0
        peak = 0
        for t in range(steps):
            re, im, spikes[t], sat = int_neuron_step(
                re, im, a_re[t], a_im[t], layer.decay_re, layer.decay_im, layer.threshold, target
            )
            events += sat
            peak = max(peak, int(re.max(initial=0)), -int(re.min(initial=0)), int(im.max(initial=0)), -int(im.min(initial=0)))
        spikes_out.append(spikes)
        saturation.append(events)
        peaks.append(float(peak))
        layer_input = np.add(spikes, layer_input, dtype=np.int64) if layer.skip else spikes
    readout = network.readout
    drive = dense_int(readout.weight, readout.weight_exp, layer_input)
    y = np.zeros((batch, network.output_dim), dtype=np.int64)
    scores = np.zeros_like(y)
    events = 0
    peak = 0
    for t in range(steps):
        y, sat = int_readout_step(y, drive[t], readout.decay, target)
        scores += y
        events += sat
        peak = max(peak, int(y.max(initial=0)), -int(y.min(initial=0)))
    saturation.append(events)
    peaks.append(float(peak))
    return spikes_out, scores, saturation, peaks


def _complex_drive(weight: np.ndarray, layer_input: np.ndarray) -> np.ndarray:
    """W·u for all steps at once: complex128 (..., P) from float64 (..., H), two real BLAS products."""
    drive = np.empty(layer_input.shape[:-1] + (weight.shape[0],), dtype=np.complex128)
    drive.real = layer_input @ np.ascontiguousarray(weight.real.T)
    drive.imag = layer_input @ np.ascontiguousarray(weight.imag.T)
    return drive


def _run_float_batch(network: FloatNetwork, inputs: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, list[int], list[float]]:
    """Float twin of `_run_int_batch` (same shapes; saturation all zero)."""
    steps, batch, _ = inputs.shape
    layer_input = inputs.astype(np.float64)
    spikes_out: list[np.ndarray] = []
    peaks: list[float] = []
    for layer in network.layers:
        drive = _complex_drive(layer.weight, layer_input)
        state = np.zeros((batch, layer.num_neurons), dtype=np.complex128)
        spikes = np.empty((steps, batch, layer.num_neurons), dtype=bool)
        peak = 0.0
        for t in range(steps):
            state, spikes[t] = float_neuron_step(state, drive[t], layer.decay, layer.threshold)
            parts = state.view(np.float64)
            peak = max(peak, float(parts.max(initial=0.0)), -float(parts.min(initial=0.0)))
        spikes_out.append(spikes)
        peaks.append(peak)
        layer_input = spikes + layer_input if layer.skip else spikes.astype(np.float64)
    readout = network.readout
    drive = layer_input @ readout.weight.T
    y = np.zeros((batch, network.output_dim), dtype=np.float64)
    total = np.zeros_like(y)
    peak = 0.0
    for t in range(steps):
        y = float_readout_step(y, drive[t], readout.decay)
        total += y
        peak = max(peak, float(y.max(initial=0.0)), -float(y.min(initial=0.0)))
    peaks.append(peak)
    scores = total / steps if steps else total
    return spikes_out, scores, [0] * (len(network.layers) + 1), peaks


def simulate(
    network: Network, inputs: np.ndarray, batch_size: int = 256, progress: bool = False
) -> SimulationResult:
    """Run `network` on `inputs` (N, T, H) non-negative integer spike counts.

    Samples are processed `batch_size` at a time (vectorised over the batch);
    `progress` shows a tqdm bar over batches. See `SimulationResult` for the
    outputs.
    """
    if not isinstance(network, (FloatNetwork, IntNetwork)):
        raise S5RFError(f"cannot simulate a {type(network).__name__}; expected FloatNetwork or IntNetwork")
    if batch_size < 1:
        raise S5RFError(f"batch size must be positive, got {batch_size}")
    inputs = _check_inputs(network, inputs)
    run_batch = _run_int_batch if isinstance(network, IntNetwork) else _run_float_batch
    count = inputs.shape[0]
    spikes: list[list[np.ndarray]] = [[] for _ in network.layers]
    scores: list[np.ndarray] = []
    saturation = [0] * (len(network.layers) + 1)
    peaks = [0.0] * (len(network.layers) + 1)
    starts = range(0, count, batch_size)
    for start in tqdm(starts, desc="golden sim", unit="batch", disable=not progress):
        time_major = np.ascontiguousarray(inputs[start : start + batch_size].transpose(1, 0, 2))
        layer_spikes, batch_scores, batch_saturation, batch_peaks = run_batch(network, time_major)
        for per_layer, s in zip(spikes, layer_spikes):
            per_layer.append(s.transpose(1, 0, 2))
        scores.append(batch_scores)
        saturation = [a + b for a, b in zip(saturation, batch_saturation)]
        peaks = [max(a, b) for a, b in zip(peaks, batch_peaks)]
    score_dtype = np.int64 if isinstance(network, IntNetwork) else np.float64
    steps = inputs.shape[1]
    all_spikes = [
        np.concatenate(s) if s else np.zeros((0, steps, layer.num_neurons), dtype=bool)
        for s, layer in zip(spikes, network.layers)
    ]
    all_scores = np.concatenate(scores) if scores else np.zeros((0, network.output_dim), dtype=score_dtype)
    return SimulationResult(
        spikes=all_spikes,
        scores=all_scores,
        predictions=np.argmax(all_scores, axis=1).astype(np.int64),
        saturation=saturation,
        state_peak=peaks,
    )
