"""The golden simulator: batched, vectorised execution of a discrete S5-RF network.

It is the oracle the Lava process models must match bit for bit, and what
every accuracy figure of an export comes from. An `IntNetwork` runs through
the exact float64 arithmetic of `hardware.neuron` (`decay_steps_in_place`,
the same code the Lava fixed-point models call through `int_neuron_step`);
a `FloatNetwork` runs in float64/complex128 through `float_step_in_place`.

Samples are split into chunks of at most `batch_size`; the calling thread
and helper threads kept for the process's life (numpy and BLAS release the
GIL; starting threads anew would cost more than a small run) take chunks
until none is left. Within a chunk, time is cut into blocks of a few dozen
steps; per block, each layer's synaptic input is one BLAS product over
(block steps · chunk samples, H), with the real and imaginary weights
interleaved so that its result is already the complex drive, then one call
of `decay_steps_in_place` runs the block's steps on a (chunk, P) state kept
in place (in cache), writing its spikes, which are then copied into the
float32 input of the next layer's product and counted by one BLAS product.
The readout records its block of states, summed once; where its state bound
proves that it cannot saturate, its per-step range checks are skipped.
Memory is thus bounded by the chunk and block sizes, whatever the number of
samples (plus the spikes themselves, kept only on request).

A layer with a mixing stage runs its states the same way and spikes from
the stage (`fire`): the float network on Re(M)·Re x − Im(M)·Im x, the integer
one on the states' payloads through two exact dense products.

Time runs from t = 0 with zero initial state; layer l's output at step t
drives layer l+1 at the same step t (no pipeline delay; the Lava runner
removes its own latency before comparing).
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import ThreadpoolController
from tqdm.auto import tqdm

from s5rf_neuro.errors import S5RFError, TargetError
from s5rf_neuro.hardware.network import FloatMixing, FloatNetwork, IntMixing, IntNetwork, Network, check_inputs
from s5rf_neuro.hardware.neuron import (
    EXACT_BITS,
    ExactDense,
    check_exact,
    decay_step_in_place,
    decay_steps_in_place,
    exact_decay,
    float_step_in_place,
    mixing_neuron_step,
    rounding_offset,
    state_payload,
    state_bound,
    steps_in_range,
)
from s5rf_neuro.hardware.target import TargetSpec, input_peaks
from s5rf_neuro.terminal import show_progress

BLOCK_BYTES = 1 << 21
"""Aim for one layer's drive buffer of a block of time steps (bytes): it stays in cache."""
BLOCK_ROWS = 512
"""Fewest rows (steps × samples) of a block's matrix products, for BLAS efficiency."""
BLOCK_STEPS = 64
"""Most time steps in one block (the readout sums a block's states exactly in float64)."""


@dataclass
class SimulationResult:
    """What a simulation of N samples of T steps produced.

    spikes:      per layer, bool (N, T, P): the layer's spikes (before any skip addition);
                 empty when the simulation was asked not to keep them
    scores:      (N, O): float64 mean_t y for a float network, int64 sum_t y for an integer one
    predictions: (N,) int64 argmax of scores
    saturation:  per layer then the readout (L + 1 ints): saturation events (zeros for float)
    state_peak:  per layer then the readout (L + 1 floats): the largest |component| of the state
                 reached (state units for float, LSBs for int); used for calibration and headroom
    spike_counts: per layer, int64 (N,): spikes per sample (empty: count them in `spikes`)
    """

    spikes: list[np.ndarray]
    scores: np.ndarray
    predictions: np.ndarray
    saturation: list[int]
    state_peak: list[float] = field(default_factory=list)
    spike_counts: list[np.ndarray] = field(default_factory=list)

    def spikes_per_sample(self) -> list[float]:
        """Mean number of spikes per sample, per layer."""
        if self.spike_counts:
            return [float(c.mean()) if len(c) else 0.0 for c in self.spike_counts]
        return [float(s.sum(axis=(1, 2)).mean()) if len(s) else 0.0 for s in self.spikes]


class _Layer:
    """One layer (or the readout) ready to run; this base class alone only carries its shape.

    num_neurons: P (O for the readout); skip: output = spikes + input;
    threshold: float64 (P,) (unused for the readout).
    """

    def __init__(self, num_neurons: int, skip: bool = False, threshold: np.ndarray | None = None) -> None:
        self.num_neurons, self.skip = num_neurons, skip
        self.threshold = np.zeros(num_neurons) if threshold is None else threshold.astype(np.float64)

    def buffer(self, rows: int) -> np.ndarray:
        """A buffer for the drive of up to `rows` input rows (reused across blocks)."""
        raise NotImplementedError

    def drive(self, inputs: np.ndarray, buffer: np.ndarray) -> np.ndarray:
        """The drive (rows, P) of inputs (rows, H), computed in `buffer` (as many rows): complex, real for a readout."""
        raise NotImplementedError

    def step(self, state: np.ndarray, drive: np.ndarray) -> tuple[int, float, float]:
        """One step of `state` in place; (saturation events, largest, smallest component)."""
        raise NotImplementedError

    def fire(self, state: np.ndarray, out: np.ndarray) -> None:
        """The spikes of states (B, P) after a step, written into `out` (B, P): Re x > θ."""
        np.greater(state.real, self.threshold, out=out)

    def spiking_steps(self, state: np.ndarray, drive: np.ndarray, spikes: np.ndarray) -> tuple[int, float, float]:
        """len(drive) steps of `state` (B, P) in place over drive (t, B, P), writing spikes (t, B, P) bool.

        Returns (saturation events, largest, smallest component).
        """
        events, high, low = 0, 0.0, 0.0
        for t in range(len(drive)):
            step_events, step_high, step_low = self.step(state, drive[t])
            events, high, low = events + step_events, max(high, step_high), min(low, step_low)
            self.fire(state, spikes[t])
        return events, high, low

    def steps(self, state: np.ndarray, drive: np.ndarray, history: np.ndarray, start_peak: float) -> tuple[int, float, float]:
        """len(drive) steps of `state` in place, each new state also written to history[t].

        drive, history: (t, B, P); start_peak: a bound on every |component| of `state`.
        Returns (saturation events, largest, smallest component).
        """
        events, high, low = 0, 0.0, 0.0
        for t in range(len(drive)):
            step_events, step_high, step_low = self.step(state, drive[t])
            events, high, low = events + step_events, max(high, step_high), min(low, step_low)
            history[t] = state
        return events, high, low


class _IntLayer(_Layer):
    """An integer layer or readout: `ExactDense` input, `decay_step_in_place` step.

    dense: interleaved real and imaginary rows for a layer, plain rows for the readout;
    largest_input: a bound on the layer's inputs (sets the BLAS precision);
    decay: complex128 (P,) from `exact_decay`, or float64 (O,) d/2^decay_bits.
    The drive a + offset is kept in float32 where that is exact (|a| < 2^23), else float64.
    """

    def __init__(
        self, shape: _Layer, dense: ExactDense, largest_input: int, decay: np.ndarray, target: TargetSpec
    ) -> None:
        super().__init__(shape.num_neurons, shape.skip, shape.threshold)
        self.dense, self.largest_input, self.decay, self.target = dense, largest_input, decay, target
        self.offset = rounding_offset(target)
        # a bound of twice the inputs' asks float32 for |a| < 2^23, where a + 1/2 is still exact
        self.dtype = np.float32 if dense.exact_dtype(2 * largest_input) is np.float32 else np.float64
        component = dense.row_bounds * largest_input + 1.0 + self.offset
        drive_modulus = np.hypot(component[0::2], component[1::2]) if decay.dtype.kind == "c" else component
        self.drive_modulus = float(np.max(drive_modulus, initial=0.0))
        self.always_in_range = state_bound(np.abs(decay), drive_modulus) <= min(target.state_max, -target.state_min)

    def buffer(self, rows: int) -> np.ndarray:
        return np.empty((rows, len(self.dense.exponent)), dtype=self.dtype)

    def drive(self, inputs: np.ndarray, buffer: np.ndarray) -> np.ndarray:
        drive = self.dense.apply(inputs, self.largest_input, buffer)
        if self.offset:
            drive += self.offset
        return drive.view(np.complex64 if self.dtype is np.float32 else np.complex128) if self.decay.dtype.kind == "c" else drive

    def step(self, state: np.ndarray, drive: np.ndarray) -> tuple[int, float, float]:
        return decay_step_in_place(state, self.decay, drive, self.target)

    def spiking_steps(self, state: np.ndarray, drive: np.ndarray, spikes: np.ndarray) -> tuple[int, float, float]:
        return decay_steps_in_place(state, self.decay, drive, self.target, threshold=self.threshold, spikes=spikes)

    def steps(self, state: np.ndarray, drive: np.ndarray, history: np.ndarray, start_peak: float) -> tuple[int, float, float]:
        in_range = self.always_in_range or steps_in_range(start_peak, len(drive), self.drive_modulus, self.target)
        return decay_steps_in_place(state, self.decay, drive, self.target, history, in_range)


class _FloatLayer(_Layer):
    """A float layer or readout: float64 BLAS input (weight (P', H)), `float_step_in_place` step."""

    def __init__(self, shape: _Layer, weight: np.ndarray, decay: np.ndarray) -> None:
        super().__init__(shape.num_neurons, shape.skip, shape.threshold)
        self.weight_t, self.decay = np.ascontiguousarray(weight.T, dtype=np.float64), decay

    def buffer(self, rows: int) -> np.ndarray:
        return np.empty((rows, self.weight_t.shape[1]), dtype=np.float64)

    def drive(self, inputs: np.ndarray, buffer: np.ndarray) -> np.ndarray:
        np.matmul(np.asarray(inputs, dtype=np.float64), self.weight_t, out=buffer)
        return buffer.view(np.complex128) if self.decay.dtype.kind == "c" else buffer

    def step(self, state: np.ndarray, drive: np.ndarray) -> tuple[int, float, float]:
        float_step_in_place(state, self.decay, drive)
        parts = state.view(np.float64)
        return 0, float(parts.max(initial=0.0)), float(parts.min(initial=0.0))


class _IntMixingLayer(_IntLayer):
    """An integer layer with a mixing stage: states as in `_IntLayer`, spikes from the mixing stage.

    The states' payloads (`state_payload`) feed two `ExactDense` connections
    (on the real and on the imaginary payloads), whose sum the stage's
    threshold neurons compare (`mixing_neuron_step`).
    """

    def __init__(self, layer: _IntLayer, mixing: IntMixing) -> None:
        super().__init__(layer, layer.dense, layer.largest_input, layer.decay, layer.target)
        self.mixing_re = ExactDense(mixing.weight_re, mixing.weight_exp_re)
        self.mixing_im = ExactDense(mixing.weight_im, mixing.weight_exp_im)
        self.payload_max = self.target.state_payload_max

    spiking_steps = _Layer.spiking_steps  # step by step: each step's spikes come from the stage (`fire`)

    def fire(self, state: np.ndarray, out: np.ndarray) -> None:
        payload = state_payload(state.view(np.float64), self.target)
        a_re = self.mixing_re.apply(payload[:, 0::2], self.payload_max)
        a_im = self.mixing_im.apply(payload[:, 1::2], self.payload_max)
        out[...] = mixing_neuron_step(a_re, a_im, self.threshold, self.target)[1]


class _FloatMixingLayer(_FloatLayer):
    """A float layer with a mixing stage: spikes Re(M)·Re x − Im(M)·Im x > θ."""

    def __init__(self, layer: _FloatLayer, mixing: FloatMixing) -> None:
        super().__init__(layer, layer.weight_t.T, layer.decay)
        # (2P, P): rows re_0, im_0, re_1, … against the interleaved state parts
        self.mixing_t = np.ascontiguousarray(_interleaved(*(part.T for part in mixing.weight_parts())))

    def fire(self, state: np.ndarray, out: np.ndarray) -> None:
        np.greater(state.view(np.float64) @ self.mixing_t, self.threshold, out=out)


def _interleaved(real: np.ndarray, imag: np.ndarray) -> np.ndarray:
    """(2P, ...) rows re_0, im_0, re_1, im_1, …: a product with them views as complex (…, P)."""
    out = np.empty((2 * len(real),) + real.shape[1:], dtype=np.result_type(real, imag))
    out[0::2], out[1::2] = real, imag
    return out


def _plan_int(network: IntNetwork, largest_input: int) -> tuple[list[_Layer], _Layer]:
    """The layers and readout of `network` for inputs ≤ largest_input (checks exactness first)."""
    target = network.target
    magnitudes = [int(np.max(np.abs(l.decay_re) + np.abs(l.decay_im), initial=0)) for l in network.layers]
    check_exact(target, max(magnitudes + [int(np.max(np.abs(network.readout.decay), initial=0))]))
    if BLOCK_STEPS << (target.state_bits - 1) >= 1 << EXACT_BITS:
        raise TargetError(f"target {target.name}: {target.state_bits}-bit readout states are too wide to sum exactly")
    peaks = input_peaks(largest_input, (layer.skip for layer in network.layers))
    layers: list[_Layer] = []
    for layer, peak in zip(network.layers, peaks):
        exponents = np.tile([layer.weight_exp_re, layer.weight_exp_im], layer.num_neurons)
        dense = ExactDense(_interleaved(layer.weight_re, layer.weight_im), exponents)
        shape = _Layer(layer.num_neurons, layer.skip, layer.threshold)
        planned = _IntLayer(shape, dense, peak, exact_decay(layer.decay_re, layer.decay_im, target), target)
        layers.append(planned if layer.mixing is None else _IntMixingLayer(planned, layer.mixing))
    readout = network.readout
    decay = readout.decay.astype(np.float64) * 2.0 ** -target.decay_bits
    dense = ExactDense(readout.weight, readout.weight_exp)
    return layers, _IntLayer(_Layer(network.output_dim), dense, peaks[-1], decay, target)


def _plan_float(network: FloatNetwork) -> tuple[list[_Layer], _Layer]:
    """The layers and readout of `network`."""
    layers: list[_Layer] = []
    for layer in network.layers:
        shape = _Layer(layer.num_neurons, layer.skip, layer.threshold)
        planned = _FloatLayer(shape, _interleaved(layer.weight.real, layer.weight.imag), layer.decay)
        layers.append(planned if layer.mixing is None else _FloatMixingLayer(planned, layer.mixing))
    return layers, _FloatLayer(_Layer(network.output_dim), network.readout.weight, network.readout.decay)


@dataclass
class _Outputs:
    """Where the chunks write: spikes (N, T, P) per layer or none, spike counts (N,),
    scores (N, O) (int64 Σ_t y for an integer network, float64 Σ_t y for a float one)."""

    spikes: list[np.ndarray]
    counts: list[np.ndarray]
    scores: np.ndarray


def _neuron_steps(layer: _Layer, state: np.ndarray, drive: np.ndarray, spikes: np.ndarray) -> tuple[int, float]:
    """Run state (B, P) in place over drive (t, B, P), writing spikes (t, B, P) bool; (saturation events, peak |component|).

    The state stays in cache from step to step.
    """
    events, high, low = layer.spiking_steps(state, drive, spikes)
    return events, max(high, -low)


def _readout_steps(
    readout: _Layer, y: np.ndarray, drive: np.ndarray, history: np.ndarray, total: np.ndarray, start_peak: float
) -> tuple[int, float]:
    """Run y (B, O) over drive (t, B, O) through history (t, B, O), adding Σ_t y into total (B, O).

    start_peak: a bound on every |y|. Returns (saturation events, peak |y|).
    """
    events, high, low = readout.steps(y, drive, history, start_peak)
    np.add(total, history.sum(axis=0), out=total)
    return events, max(high, -low)


def _run_chunk(
    layers: list[_Layer], readout: _Layer, inputs: np.ndarray, start: int, out: _Outputs
) -> tuple[list[int], list[float]]:
    """Run samples inputs (B, T, H) (rows start… of the outputs); returns (saturation, peaks) per layer + readout.

    All buffers are allocated once per chunk and reused by every block.
    """
    batch, steps, _ = inputs.shape
    widest = max([layer.num_neurons for layer in layers] + [readout.num_neurons])
    block = max(1, min(steps, BLOCK_STEPS, max(-(-BLOCK_ROWS // batch), BLOCK_BYTES // (16 * batch * widest))))
    rows = block * batch
    states = [np.zeros((batch, layer.num_neurons), dtype=np.complex128) for layer in layers]
    buffers = [layer.buffer(rows) for layer in layers]
    fired = [np.empty((block, batch, layer.num_neurons), dtype=bool) for layer in layers]
    spikes = [np.empty((rows, layer.num_neurons), dtype=np.float32) for layer in layers]
    summed = [np.empty((rows, layer.num_neurons), dtype=np.float32) if layer.skip else None for layer in layers]
    per_neuron = [np.ones(layer.num_neurons, dtype=np.float32) for layer in layers]
    y = np.zeros((batch, readout.num_neurons), dtype=np.float64)
    y_buffer = readout.buffer(rows)
    y_history = np.empty((block, batch, readout.num_neurons), dtype=np.float64)
    block_total = np.empty_like(y)
    total = np.zeros((batch, readout.num_neurons), dtype=out.scores.dtype)
    saturation = [0] * (len(layers) + 1)
    peaks = [0.0] * (len(layers) + 1)
    stop = start + batch
    for t0 in range(0, steps, block):
        length = min(steps, t0 + block) - t0
        used = length * batch
        layer_input = np.ascontiguousarray(inputs[:, t0 : t0 + length].transpose(1, 0, 2)).reshape(used, -1)
        for index, layer in enumerate(layers):
            drive = layer.drive(layer_input, buffers[index][:used]).reshape(length, batch, -1)
            spiked = fired[index][:length]
            events, peak = _neuron_steps(layer, states[index], drive, spiked)
            saturation[index] += events
            peaks[index] = max(peaks[index], peak)
            flat = spikes[index][:used]
            np.copyto(flat, spiked.reshape(used, -1))
            # spikes per row in one BLAS pass (exact: fewer than 2^24), summed over the block's steps
            out.counts[index][start:stop] += (flat @ per_neuron[index]).reshape(length, batch).sum(axis=0).astype(np.int64)
            if out.spikes:
                out.spikes[index][start:stop, t0 : t0 + length] = spiked.transpose(1, 0, 2)
            layer_input = np.add(flat, layer_input, out=summed[index][:used]) if layer.skip else flat
        drive = readout.drive(layer_input, y_buffer[:used]).reshape(length, batch, -1)
        block_total[...] = 0.0
        events, peak = _readout_steps(readout, y, drive, y_history[:length], block_total, peaks[-1])
        saturation[-1] += events
        peaks[-1] = max(peaks[-1], peak)
        total += block_total.astype(total.dtype)
    out.scores[start:stop] = total
    return saturation, peaks


@functools.lru_cache(maxsize=4)
def _helpers(count: int) -> ThreadPoolExecutor:
    """`count` threads kept for the process's life: starting threads costs more than a small simulation."""
    return ThreadPoolExecutor(count, thread_name_prefix="golden")


if hasattr(os, "register_at_fork"):
    # a forked child has none of its parent's threads: it starts its own helpers
    os.register_at_fork(after_in_child=_helpers.cache_clear)


@functools.lru_cache(maxsize=1)
def _blas_controller() -> ThreadpoolController:
    """The process's BLAS thread pools (found once)."""
    return ThreadpoolController()


def default_workers() -> int:
    """The number of CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def simulate(
    network: Network,
    inputs: np.ndarray,
    batch_size: int = 256,
    progress: bool = False,
    workers: int | None = None,
    keep_spikes: bool = True,
) -> SimulationResult:
    """Run `network` on `inputs` (N, T, H) as it takes them (`check_inputs`): spike counts, graded
    payloads for an integer network (`hardware.inputs.network_inputs` makes them), or real values
    for a float network with graded inputs.

    Samples are processed in chunks of at most `batch_size` (vectorised over
    the chunk), on `workers` threads (default: every core this process may
    use; with more than one, BLAS runs one thread per worker). `progress`
    shows a tqdm bar over the samples, advancing chunk by chunk. `keep_spikes=False` keeps only the spike
    counts per sample, so that memory stays bounded for any N. See
    `SimulationResult` for the outputs.
    """
    if not isinstance(network, (FloatNetwork, IntNetwork)):
        raise S5RFError(f"cannot simulate a {type(network).__name__}; expected FloatNetwork or IntNetwork")
    if batch_size < 1:
        raise S5RFError(f"batch size must be positive, got {batch_size}")
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise S5RFError(f"workers must be positive, got {workers}")
    inputs = check_inputs(network, inputs)
    count, steps, _ = inputs.shape
    is_int = isinstance(network, IntNetwork)
    if is_int:
        layers, readout = _plan_int(network, int(inputs.max(initial=0)))
    else:
        layers, readout = _plan_float(network)
    out = _Outputs(
        spikes=[np.zeros((count, steps, layer.num_neurons), dtype=bool) for layer in layers] if keep_spikes else [],
        counts=[np.zeros(count, dtype=np.int64) for _ in layers],
        scores=np.zeros((count, network.output_dim), dtype=np.int64 if is_int else np.float64),
    )
    chunk = max(1, min(batch_size, -(-count // workers)))
    starts = range(0, count, chunk)
    workers = min(workers, len(starts)) or 1
    saturation = [0] * (len(layers) + 1)
    peaks = [0.0] * (len(layers) + 1)

    pending = iter(starts)  # shared by the workers; next() on it is atomic
    merge = threading.Lock()
    failed = threading.Event()

    def drain(bar: tqdm) -> None:
        """Run chunks until none is left, merging each one's saturation and peaks (the caller's thread is a worker)."""
        for start in pending:
            if failed.is_set():
                return
            try:
                chunk_saturation, chunk_peaks = _run_chunk(layers, readout, inputs[start : start + chunk], start, out)
            except BaseException:
                failed.set()
                raise
            with merge:
                saturation[:] = [a + b for a, b in zip(saturation, chunk_saturation)]
                peaks[:] = [max(a, b) for a, b in zip(peaks, chunk_peaks)]
                bar.update(min(chunk, count - start))

    limit = _blas_controller().limit(limits=1, user_api="blas") if workers > 1 else nullcontext()
    with limit, tqdm(total=count, desc="golden sim", unit="sample", disable=not show_progress(progress)) as bar:
        helpers = [_helpers(workers - 1).submit(drain, bar) for _ in range(workers - 1)]
        try:
            drain(bar)
        finally:
            for helper in helpers:
                helper.exception()
        for helper in helpers:
            helper.result()
    scores = out.scores if is_int or not steps else out.scores / steps
    return SimulationResult(
        spikes=out.spikes,
        scores=scores,
        predictions=np.argmax(scores, axis=1).astype(np.int64),
        saturation=saturation,
        state_peak=peaks,
        spike_counts=out.counts,
    )
