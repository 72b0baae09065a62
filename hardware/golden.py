"""The golden simulator: batched execution of a discrete S5-RF network.

It is the oracle the Lava process models must match bit for bit, and what
every accuracy figure of an export comes from. An `IntNetwork` runs through
the compiled integer loops of `hardware.loops` (`layer_block`,
`readout_block`), built from the same row updates that the Lava fixed-point
models call through `int_neuron_step`; a `FloatNetwork` runs in
float64/complex128 through BLAS products and `float_step_in_place`.

Samples are split into chunks of at most `batch_size`; the calling thread
and helper threads kept for the process's life (the compiled loops, numpy
and BLAS release the GIL; starting threads anew would cost more than a small
run) take chunks until none is left. Within a chunk, time is cut into
blocks, and each layer runs a whole block before the next one takes its
spikes. An integer layer keeps each sample's state in cache while it runs
the block's steps; per step it sums the weight rows of the non-zero inputs
only (event-driven, as a neuromorphic core does: the work grows with the
spikes, not with the fan-in), in the narrowest integer accumulator that
cannot overflow, then rotates, saturates and fires. A float layer computes a
block's drive as one BLAS product (real and imaginary weights interleaved,
so that the result views as complex) and steps it with numpy. Memory is
bounded by the chunk and block sizes, whatever the number of samples (plus
the spikes themselves, kept only on request).

A layer with a mixing stage spikes from the stage: the float network on
Re(M)·Re x − Im(M)·Im x, the integer one on the states' payloads through two
dense sums in the same loop.

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
from typing import Iterator

import numpy as np
from threadpoolctl import ThreadpoolController
from tqdm.auto import tqdm

from s5rf_neuro.errors import S5RFError
from s5rf_neuro.hardware.network import FloatMixing, FloatNetwork, IntMixing, IntNetwork, Network, check_inputs
from s5rf_neuro.hardware.neuron import accumulator_dtype, arithmetic, check_exact, float_step_in_place, loops
from s5rf_neuro.hardware.target import TargetSpec, input_peaks
from s5rf_neuro.terminal import show_progress

BLOCK_BYTES = 1 << 21
"""Aim for one float layer's complex128 drive of a block of time steps (bytes): it stays in cache."""
BLOCK_ROWS = 512
"""Fewest rows (steps × samples) of a block's matrix products, for BLAS efficiency."""


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

    def new_state(self, batch: int) -> np.ndarray:
        """The zero state of `batch` samples."""
        raise NotImplementedError

    def spiking_steps(self, state: np.ndarray, inputs: np.ndarray, spikes: np.ndarray, counts: np.ndarray) -> tuple[int, float]:
        """Run `state` in place over a block of inputs (B, t, H), writing spikes (B, t, P) uint8 0/1 and adding each
        sample's spikes into counts (B,) int64. Returns (saturation events, peak |component|)."""
        raise NotImplementedError

    def readout_steps(self, state: np.ndarray, inputs: np.ndarray, total: np.ndarray) -> tuple[int, float]:
        """Run the readout `state` (B, O) in place over inputs (B, t, H), adding Σ_t y into total (B, O).
        Returns (saturation events, peak |y|)."""
        raise NotImplementedError


class _IntLayer(_Layer):
    """An integer layer or readout, run block by block by the compiled `layer_block` (`readout_block`).

    weight: the dense connection's mantissas transposed, (H, 2P) real then
    imaginary columns for a layer, (H, O) for the readout, in its accumulator
    dtype; exponents: (exp_re, exp_im), or (exp,) for the readout;
    decay: float64 (2, P) the integer (c, s), or (1, O) the readout's d;
    mixing: the stage's transposed (P, P) weights and exponents, or None.
    The state is float64 (2, B, P): re, im (a readout's: (B, O)).
    """

    def __init__(
        self, shape: _Layer, weight: np.ndarray, exponents: tuple[int, ...], decay: np.ndarray, target: TargetSpec,
        mixing: IntMixing | None = None,
    ) -> None:
        super().__init__(shape.num_neurons, shape.skip, shape.threshold)
        self.weight, self.exponents, self.decay = weight, exponents, decay
        self.arithmetic = arithmetic(target)
        if mixing is None:
            self.mixing = (_NO_MIXING, _NO_MIXING, 0, 0, 0.0)
        else:
            dtype = accumulator_dtype(np.concatenate([mixing.weight_re, mixing.weight_im]), target.state_payload_max,
                                      max(mixing.weight_exp_re, mixing.weight_exp_im))
            self.mixing = (
                np.ascontiguousarray(mixing.weight_re.T, dtype=dtype), np.ascontiguousarray(mixing.weight_im.T, dtype=dtype),
                mixing.weight_exp_re, mixing.weight_exp_im, 2.0 ** -target.state_payload_shift,
            )

    def new_state(self, batch: int) -> np.ndarray:
        return np.zeros((2, batch, self.num_neurons) if len(self.decay) == 2 else (batch, self.num_neurons))

    def spiking_steps(self, state: np.ndarray, inputs: np.ndarray, spikes: np.ndarray, counts: np.ndarray) -> tuple[int, float]:
        events, high, low = loops().layer_block(
            inputs, self.weight, *self.exponents, *self.decay, self.arithmetic, self.threshold,
            state[0], state[1], spikes, counts, *self.mixing,
        )
        return events, max(high, -low)

    def readout_steps(self, state: np.ndarray, inputs: np.ndarray, total: np.ndarray) -> tuple[int, float]:
        events, high, low = loops().readout_block(inputs, self.weight, *self.exponents, self.decay[0], self.arithmetic, state, total)
        return events, max(high, -low)


_NO_MIXING = np.zeros((0, 0), dtype=np.int16)
"""The mixing weights `layer_block` takes for a layer without a mixing stage."""


class _FloatLayer(_Layer):
    """A float layer or readout: float64 BLAS input (weight (P', H)), `float_step_in_place` steps.

    The state is complex128 (B, P) (a readout's: float64 (B, O)).
    """

    def __init__(self, shape: _Layer, weight: np.ndarray, decay: np.ndarray) -> None:
        super().__init__(shape.num_neurons, shape.skip, shape.threshold)
        self.weight_t, self.decay = np.ascontiguousarray(weight.T, dtype=np.float64), decay

    def new_state(self, batch: int) -> np.ndarray:
        return np.zeros((batch, self.num_neurons), dtype=self.decay.dtype)

    def steps(self, state: np.ndarray, inputs: np.ndarray) -> Iterator[float]:
        """Step `state` in place over inputs (B, t, H), yielding after each step its peak |component|."""
        drive = np.asarray(inputs, dtype=np.float64).transpose(1, 0, 2) @ self.weight_t
        drive = drive.view(self.decay.dtype)
        parts = state.view(np.float64)
        for step_drive in drive:
            float_step_in_place(state, self.decay, step_drive)
            yield max(float(parts.max(initial=0.0)), -float(parts.min(initial=0.0)))

    def fire(self, state: np.ndarray) -> np.ndarray:
        """The spikes (B, P) bool of states after a step: Re x > θ."""
        return state.real > self.threshold

    def spiking_steps(self, state: np.ndarray, inputs: np.ndarray, spikes: np.ndarray, counts: np.ndarray) -> tuple[int, float]:
        peak = 0.0
        for t, step_peak in enumerate(self.steps(state, inputs)):
            fired = self.fire(state)
            spikes[:, t] = fired
            counts += np.count_nonzero(fired, axis=1)
            peak = max(peak, step_peak)
        return 0, peak

    def readout_steps(self, state: np.ndarray, inputs: np.ndarray, total: np.ndarray) -> tuple[int, float]:
        peak = 0.0
        for step_peak in self.steps(state, inputs):
            total += state
            peak = max(peak, step_peak)
        return 0, peak


class _FloatMixingLayer(_FloatLayer):
    """A float layer with a mixing stage: spikes Re(M)·Re x − Im(M)·Im x > θ."""

    def __init__(self, layer: _FloatLayer, mixing: FloatMixing) -> None:
        super().__init__(layer, layer.weight_t.T, layer.decay)
        # (2P, P): rows re_0, im_0, re_1, … against the interleaved state parts
        self.mixing_t = np.ascontiguousarray(_interleaved(*(part.T for part in mixing.weight_parts())))

    def fire(self, state: np.ndarray) -> np.ndarray:
        return state.view(np.float64) @ self.mixing_t > self.threshold


def _interleaved(real: np.ndarray, imag: np.ndarray) -> np.ndarray:
    """(2P, ...) rows re_0, im_0, re_1, im_1, …: a product with them views as complex (…, P)."""
    out = np.empty((2 * len(real),) + real.shape[1:], dtype=np.result_type(real, imag))
    out[0::2], out[1::2] = real, imag
    return out


def _plan_int(network: IntNetwork, peaks: list[int]) -> tuple[list[_Layer], _Layer]:
    """The layers and readout of `network` for inputs bounded by peaks (per layer, then the readout; checks
    exactness first)."""
    target = network.target
    magnitudes = [int(np.max(np.abs(l.decay_re) + np.abs(l.decay_im), initial=0)) for l in network.layers]
    check_exact(target, max(magnitudes + [int(np.max(np.abs(network.readout.decay), initial=0))]))
    layers: list[_Layer] = []
    for layer, peak in zip(network.layers, peaks):
        weight = np.concatenate([layer.weight_re, layer.weight_im])
        dtype = accumulator_dtype(weight, peak, max(layer.weight_exp_re, layer.weight_exp_im))
        shape = _Layer(layer.num_neurons, layer.skip, layer.threshold)
        decay = np.stack([layer.decay_re, layer.decay_im]).astype(np.float64)
        exponents = (layer.weight_exp_re, layer.weight_exp_im)
        layers.append(_IntLayer(shape, np.ascontiguousarray(weight.T, dtype=dtype), exponents, decay, target, layer.mixing))
    readout = network.readout
    dtype = accumulator_dtype(readout.weight, peaks[-1], readout.weight_exp)
    weight = np.ascontiguousarray(readout.weight.T, dtype=dtype)
    decay = readout.decay.astype(np.float64)[np.newaxis]
    return layers, _IntLayer(_Layer(network.output_dim), weight, (readout.weight_exp,), decay, target)


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


def _run_chunk(
    layers: list[_Layer], readout: _Layer, inputs: np.ndarray, dtypes: list[type | None], start: int, out: _Outputs
) -> tuple[list[int], list[float]]:
    """Run samples inputs (B, T, H) (rows start… of the outputs); returns (saturation, peaks) per layer + readout.

    dtypes: per layer, then the readout, the dtype its inputs are given in
    (None: as they come). Time runs in blocks; each layer runs a whole block
    before the next one takes its spikes. Every block's arrays are contiguous,
    so that the compiled loops of an integer network meet few distinct types.
    """
    batch, steps, _ = inputs.shape
    stop = start + batch
    widest = max([layer.num_neurons for layer in layers] + [readout.num_neurons])
    block = max(1, min(steps, max(-(-BLOCK_ROWS // batch), BLOCK_BYTES // (16 * batch * widest))))
    states = [layer.new_state(batch) for layer in layers]
    y = readout.new_state(batch)
    total = out.scores[start:stop]
    saturation = [0] * (len(layers) + 1)
    peaks = [0.0] * (len(layers) + 1)
    for t0 in range(0, steps, block):
        length = min(steps, t0 + block) - t0
        layer_input = np.ascontiguousarray(inputs[:, t0 : t0 + length], dtype=dtypes[0])
        for index, layer in enumerate(layers):
            fired = np.empty((batch, length, layer.num_neurons), dtype=np.uint8)
            events, peak = layer.spiking_steps(states[index], layer_input, fired, out.counts[index][start:stop])
            saturation[index] += events
            peaks[index] = max(peaks[index], peak)
            if out.spikes:
                out.spikes[index][start:stop, t0 : t0 + length] = fired
            layer_input = np.add(fired, layer_input, dtype=dtypes[index + 1]) if layer.skip else fired
        events, peak = readout.readout_steps(y, layer_input, total)
        saturation[-1] += events
        peaks[-1] = max(peaks[-1], peak)
    return saturation, peaks


def _input_dtype(peak: int) -> type:
    """The dtype of an integer layer's inputs bounded by `peak`: uint8 up to 255, else int64."""
    return np.uint8 if peak <= np.iinfo(np.uint8).max else np.int64


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
        peaks_in = list(input_peaks(int(inputs.max(initial=0)), (layer.skip for layer in network.layers)))
        layers, readout = _plan_int(network, peaks_in)
        dtypes: list[type | None] = [_input_dtype(peak) for peak in peaks_in]
    else:
        layers, readout = _plan_float(network)
        dtypes = [None] * (len(layers) + 1)
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
                chunk_saturation, chunk_peaks = _run_chunk(layers, readout, inputs[start : start + chunk], dtypes, start, out)
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
