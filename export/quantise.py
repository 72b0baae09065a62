"""From a discrete float network to its fixed-point twin for one target.

Choices (docs/design.md §5 leaves them to this module):

- Neuron gauge. Spikes are unchanged when a neuron's weights and threshold
  are multiplied by the same g_i > 0, so each neuron's row of W is first
  brought to the full mantissa scale (`s5rf_neuro.grids.row_gains`, the grid
  QAT trains on): W_i ← g_i·W_i, θ_i ← g_i·θ_i. Every neuron's largest
  weight then uses all mantissa levels, instead of only the neuron with the
  layer's largest weight. The integer state of neuron i therefore counts
  g_i·2^n LSBs per state unit of the float network; de-quantising with the
  layer's scalar `state_scale` = 2^n gives the gauge-transformed float
  network, which has the same spikes.
- State scale. Each layer's state is held in LSBs of 2^-n state units
  (state_scale = 2^n, one n per layer). n is the largest integer such that
  (a) the layer's peak state, times 2^headroom_bits, fits the signed state
  range, (b) twice the largest threshold fits it, and (c) every connection's
  exponent stays ≤ the target's maximum (no weight clipping). The peak comes from the weights — the bound
  max_i Σ_h |W_ih|·u_max·Σ_{t<T} |λ̄_i|^t, u_max the largest input value the
  layer can see and T the sequence length (from the network's data set
  metadata, or unbounded) — or, given calibration inputs, from the float
  golden simulation of them (largest |Re x|, |Im x| reached).
- Weights. A connection (the real or the imaginary matrix of a layer, or the
  readout) is W ≈ m·2^E with E the smallest exponent that fits max|W| in the
  signed mantissa (`s5rf_neuro.grids.weight_exponent`, the same grid QAT
  trains on). In LSBs the connection's exponent is e = E + n, clamped to the
  target's exponent range. n never exceeds weight_exp_max − E, so no weight
  clips (the report states the clip fraction); a clamp below leaves the
  weights fewer levels (a warning; a connection whose weights all round to
  zero is a `TargetError`).
- Decays. c, s = nearest integers to 2^k·λ̄ with the guard |λ̄_int| < 1
  (`s5rf_neuro.grids.quantise_decay`); the readout decay likewise. A decay
  that rounds to zero (the neuron forgets at once) is a warning with its
  numbers; an unstable float decay is refused earlier by the discretiser.
- Thresholds. vth_i = round(θ_i·2^n) LSBs; spike when re > vth_i.
- Graded inputs. A network whose input format is graded (docs/design.md §5a)
  takes payloads q ≈ u·scale: the first layer's weights are divided by the
  scale before anything else (the integer network's W_int·q then drives the
  state by ≈ W·u), and the largest first-layer input is the payload maximum
  2^bits − 1 (or the calibration payloads' largest). The float network keeps
  u real; the integer network records the input format.
- Mixing stage (docs/design.md §4b). Stage A's rows are gauged like any
  layer's, M's columns divided by the same gains; then each row of stage B
  is gauged to the full mantissa (M_i ← g_i·M_i, θ_i ← g_i·θ_i). The state
  payloads are p ≈ x·2^(n − shift), shift = target.state_payload_shift, so
  stage B's weights per payload unit are M·2^(shift − n), quantised per
  connection (the real-state and the imaginary-state matrix) for LSBs of
  2^-m units of y; m is the largest exponent with 2·max θ·2^m and the
  largest v any payloads can produce (Σ_j |weights|·largest payload) within
  the state range, and both connections' exponents ≤ weight_exp_max: v
  never saturates (up to mantissa rounding) and Lava's int32 accumulator
  cannot overflow. Stage A has no threshold, so only its peak and
  exponents set n.
- Saturation. With calibration inputs the integer network is also simulated
  on them; saturation beyond `max_saturation_fraction` of the state updates
  is a `TargetError`.

The float state x (state units) is represented by x·2^n LSBs; the readout
y by y·2^n_r, and the integer score is Σ_t y_int (argmax-equivalent to the
float mean_t y).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from s5rf_neuro.data.info import recorded_dataset
from s5rf_neuro.errors import NetworkError, TargetError
from s5rf_neuro.export.quantisation_report import (
    LayerQuantisation,
    MixingQuantisation,
    QuantReport,
    ReadoutQuantisation,
    SaturationCheck,
)
from s5rf_neuro.grids import (
    gauged_exponent,
    quantise_decay,
    quantise_real_decay,
    row_gains,
    weight_exponent,
    weight_levels,
    weight_mantissa,
)
from s5rf_neuro.hardware.golden import simulate
from s5rf_neuro.hardware.network import FloatLayer, FloatMixing, FloatNetwork, IntLayer, IntMixing, IntNetwork, IntReadout
from s5rf_neuro.hardware.target import TargetSpec

DEFAULT_HEADROOM_BITS = 1
"""Bits of state range kept free above the estimated peak state."""
THRESHOLD_ERROR_WARNING = 0.01
"""Relative threshold rounding error above which quantisation warns."""
MAX_SATURATION_FRACTION = 1e-3
"""Largest fraction of state updates (per component) on calibration data that may saturate."""


@dataclass
class _Connection:
    mantissa: np.ndarray
    exponent: int
    clip_fraction: float
    error_max: float
    mantissa_max: int


def _float_exponent(weight: np.ndarray, target: TargetSpec, gauged: bool = False) -> int | None:
    """E of a weight matrix in state units (row-gauged: `gauged_exponent`), None when it is all zero."""
    peak = float(np.abs(weight).max(initial=0.0))
    if not peak > 0:
        return None
    return gauged_exponent(peak, target.weight_bits) if gauged else weight_exponent(peak, target.weight_bits)


def _quantise_connection(weight: np.ndarray, exponent: int | None, state_exponent: int, target: TargetSpec) -> _Connection:
    """Mantissas of `weight` (state units) for LSBs of 2^-state_exponent."""
    if exponent is None:
        return _Connection(np.zeros(weight.shape, np.int64), 0, 0.0, 0.0, 0)
    lsb_exponent = min(max(exponent + state_exponent, target.weight_exp_min), target.weight_exp_max)
    step_exponent = lsb_exponent - state_exponent
    mantissa = weight_mantissa(weight, step_exponent, target.weight_bits)
    clip_fraction = float(np.mean(mantissa != weight_levels(weight, step_exponent))) if weight.size else 0.0
    error = np.abs(mantissa * math.ldexp(1.0, step_exponent) - weight)
    return _Connection(
        mantissa=mantissa.astype(np.int64),
        exponent=lsb_exponent,
        clip_fraction=clip_fraction,
        error_max=float(error.max(initial=0.0)),
        mantissa_max=int(np.abs(mantissa).max(initial=0)),
    )


def _quantise_complex_decay(decay: np.ndarray, target: TargetSpec) -> tuple[np.ndarray, np.ndarray, int]:
    """(c, s) int64 and the number of neurons the |λ̄_int| < 1 guard moved."""
    re, im = decay.real, decay.imag
    c, s = quantise_decay(re, im, target.decay_bits)
    guarded = int(np.count_nonzero((c != np.round(re * target.decay_one)) | (s != np.round(im * target.decay_one))))
    return c.astype(np.int64), s.astype(np.int64), guarded


def _state_exponent(
    peak: float, threshold_max: float, exponents: list[int | None], name: str, headroom_bits: int, target: TargetSpec
) -> int:
    """Largest n with peak·2^(n+headroom) ≤ state_max, threshold_max·2^(n+1) ≤ state_max and every E + n ≤ weight_exp_max."""
    limits = []
    for value, margin in ((peak, headroom_bits), (threshold_max, 1)):
        if value > 0:
            limit = math.floor(math.log2(target.state_max / value)) - margin
            while math.ldexp(value, limit + margin) > target.state_max:
                limit -= 1
            limits.append(limit)
    used = [e for e in exponents if e is not None]
    if used:
        limits.append(target.weight_exp_max - max(used))
    exponent = min(limits) if limits else target.state_bits - 2
    if exponent < -target.state_bits:
        raise TargetError(f"{name}: peak state {peak:.4g} state units does not fit {target.state_bits}-bit state")
    return exponent


def _bound_peak(weight: np.ndarray, decay_magnitude: np.ndarray, input_max: float, time_steps: int | None) -> float:
    """Worst-case |x| of any neuron within T steps from rest: Σ_h |W_ih|·u_max·(1 − |λ̄_i|^T)/(1 − |λ̄_i|)."""
    drive = np.abs(weight).sum(axis=1) * input_max
    horizon = 1.0 if time_steps is None else 1.0 - decay_magnitude**time_steps
    gain = np.where(decay_magnitude < 1.0, horizon / np.maximum(1.0 - decay_magnitude, 1e-300), np.inf)
    if time_steps is not None:
        gain = np.minimum(gain, float(time_steps))
    return float(np.max(drive * gain, initial=0.0))


def _normalise_rows(network: FloatNetwork, weight_bits: int) -> tuple[FloatNetwork, list[np.ndarray]]:
    """The network in the gauge where each neuron's weights use the full mantissa, and the gains (per layer (P,)).

    For a layer with a mixing stage the gains are stage A's (M's columns are
    divided by them); stage B's rows are gauged too (threshold with them).
    """
    layers, gains = [], []
    for layer in network.layers:
        g = row_gains(layer.weight.real, layer.weight.imag, weight_bits)
        gains.append(g)
        weight = layer.weight * g[:, None]
        if layer.mixing is None:
            layers.append(FloatLayer(decay=layer.decay, weight=weight, threshold=layer.threshold * g, skip=layer.skip))
            continue
        mixed = layer.mixing.weight / g[None, :]
        g_mix = row_gains(mixed.real, mixed.imag, weight_bits)
        layers.append(FloatLayer(decay=layer.decay, weight=weight, threshold=layer.threshold * g_mix, skip=layer.skip,
                                 mixing=FloatMixing(weight=mixed * g_mix[:, None])))
    gauged = FloatNetwork(layers=tuple(layers), readout=network.readout, metadata=network.metadata,
                          input_format=network.input_format)
    return gauged, gains


def _fold_input_scale(network: FloatNetwork) -> FloatNetwork:
    """The network taking graded payloads q = u·scale instead of u: the first layer's weights divided by the scale
    (a mixing stage reads the states, not the inputs, and is kept as it is)."""
    first = network.layers[0]
    folded = FloatLayer(decay=first.decay, weight=first.weight / network.input_format.scale,
                        threshold=first.threshold, skip=first.skip, mixing=first.mixing)
    return FloatNetwork(layers=(folded,) + network.layers[1:], readout=network.readout, metadata=network.metadata,
                        input_format=network.input_format)


def _time_steps(network: FloatNetwork) -> int | None:
    """Sequence length recorded in the network's data set metadata, if any."""
    dataset = recorded_dataset(network.metadata, "network metadata", NetworkError)
    return dataset.time_steps if dataset is not None and dataset.time_steps > 0 else None


def quantise(
    network: FloatNetwork,
    target: TargetSpec,
    calibration_inputs: np.ndarray | None = None,
    *,
    headroom_bits: int = DEFAULT_HEADROOM_BITS,
    input_max: float = 1.0,
    time_steps: int | None = None,
    max_saturation_fraction: float = MAX_SATURATION_FRACTION,
) -> tuple[IntNetwork, QuantReport]:
    """Quantise `network` to `target` (see the module docstring for the rules).

    calibration_inputs: optional (N, T, H) inputs as the integer network takes
    them (spike counts, or graded payloads from `hardware.inputs.quantise_inputs`);
    when given, each layer's peak state is measured on them (float golden
    simulation) instead of bounded from the weights, and the integer network's
    saturation on them is checked. input_max: largest first-layer input value
    assumed without calibration (1 for binary spikes; graded inputs always
    assume the payload maximum). time_steps: sequence length for the
    weight bound (default: the network's metadata["dataset"]["time_steps"],
    else unbounded). Raises `TargetError` for a float target, a network whose
    state saturates on the calibration inputs beyond `max_saturation_fraction`
    of the state updates, a connection whose weights all round to zero, an
    input or output beyond the spike payload, or thresholds that cannot be represented.
    """
    if not target.quantized:
        raise TargetError(f"target {target.name!r} is not a fixed-point target; nothing to quantise")
    warnings: list[str] = []
    input_format = network.input_format
    if input_format.graded:
        network = _fold_input_scale(network)
        input_max = float(input_format.payload_max)
    gauged, gains = _normalise_rows(network, target.weight_bits)
    peaks: list[float] | None = None
    if calibration_inputs is not None:
        calibration_inputs = np.asarray(calibration_inputs)
        peaks = simulate(gauged, calibration_inputs).state_peak
        input_max = float(calibration_inputs.max(initial=1))
    time_steps = time_steps if time_steps is not None else _time_steps(network)
    input_maxima = target.graded_peaks(input_max, (layer.skip for layer in network.layers))

    int_layers: list[IntLayer] = []
    layer_reports: list[LayerQuantisation] = []
    for index, (original, layer, gain) in enumerate(zip(network.layers, gauged.layers, gains)):
        int_layer, layer_report = _quantise_layer(
            f"layer {index}", original, layer, gain, target,
            peaks[index] if peaks is not None else None, input_maxima[index], time_steps, headroom_bits, warnings,
        )
        int_layers.append(int_layer)
        layer_reports.append(layer_report)
    readout, readout_report = _quantise_readout(
        network, target, peaks, input_maxima[-1], time_steps, headroom_bits, warnings
    )
    metadata = dict(network.metadata)
    metadata["quantisation"] = {
        "headroom_bits": headroom_bits,
        "peak_source": "weights" if peaks is None else "calibration",
        "time_steps": time_steps,
        "row_gauge": True,
    }
    int_network = IntNetwork(layers=tuple(int_layers), readout=readout, target=target, metadata=metadata,
                             input_format=input_format)
    report = QuantReport(target=target.name, layers=layer_reports, readout=readout_report, warnings=warnings)
    if calibration_inputs is not None:
        report.calibration = _check_saturation(int_network, calibration_inputs, max_saturation_fraction)
    return int_network, report


def _quantise_layer(
    name: str,
    original: FloatLayer,
    layer: FloatLayer,
    gain: np.ndarray,
    target: TargetSpec,
    calibrated_peak: float | None,
    input_max: float,
    time_steps: int | None,
    headroom_bits: int,
    warnings: list[str],
) -> tuple[IntLayer, LayerQuantisation]:
    """One layer, given in its original and its row-gauged form (same decays)."""
    c, s, guarded = _quantise_complex_decay(layer.decay, target)
    decay_int = (c + 1j * s) / target.decay_one
    exponents = [_float_exponent(layer.weight.real, target, True), _float_exponent(layer.weight.imag, target, True)]
    if calibrated_peak is None:
        magnitude = np.maximum(np.abs(layer.decay), np.abs(decay_int))
        peak = _bound_peak(layer.weight, magnitude, input_max, time_steps)
    else:
        peak = calibrated_peak
    state_threshold = 0.0 if layer.mixing is not None else float(layer.threshold.max(initial=0.0))
    n = _state_exponent(peak, state_threshold, exponents, name, headroom_bits, target)
    scale = math.ldexp(1.0, n)
    conn_re = _quantise_connection(layer.weight.real, exponents[0], n, target)
    conn_im = _quantise_connection(layer.weight.imag, exponents[1], n, target)
    for part, conn, exponent in (("real", conn_re, exponents[0]), ("imaginary", conn_im, exponents[1])):
        _check_connection(f"{name} {part} weights", conn, exponent, n, target, warnings)
    mixing, mixing_report = None, None
    if layer.mixing is not None:
        mixing, mixing_report = _quantise_mixing(name, original, layer, gain, n, target, warnings)
    # the threshold is in LSBs of the state, or of v for a mixing layer
    threshold_scale = scale if mixing is None else mixing.state_scale
    threshold = np.round(layer.threshold * threshold_scale).astype(np.int64)
    if threshold.max(initial=0) >= min(target.state_max, target.threshold_max):
        raise TargetError(f"{name}: threshold {int(threshold.max())} LSBs cannot be crossed by a {target.state_bits}-bit state")
    threshold_error = np.abs(threshold / threshold_scale - layer.threshold) / layer.threshold
    if threshold_error.max() > THRESHOLD_ERROR_WARNING:
        warnings.append(
            f"WARNING {name}: thresholds lose up to {100 * float(threshold_error.max()):.2f} % to rounding "
            f"at scale {threshold_scale:g} LSBs per unit (smallest threshold {int(threshold.min())} LSBs)"
        )
    zero = int(np.count_nonzero((c == 0) & (s == 0)))
    if zero:
        warnings.append(
            f"WARNING {name}: {zero} neuron(s) have a decay that rounds to 0 at {target.decay_bits} bits "
            f"(smallest |λ̄| = {float(np.abs(layer.decay).min()):.3g}); they keep no state between steps"
        )
    # weight error in the original network's state units (undo the neuron gauge)
    weight_error = np.abs(
        (conn_re.mantissa * math.ldexp(1.0, conn_re.exponent) + 1j * conn_im.mantissa * math.ldexp(1.0, conn_im.exponent))
        / (scale * gain[:, None])
        - original.weight
    )
    report = LayerQuantisation(
        state_scale=scale,
        state_exponent=n,
        peak_source="weights" if calibrated_peak is None else "calibration",
        state_peak=peak,
        state_headroom_bits=math.log2(target.state_max / (peak * scale)) if peak > 0 else float(target.state_bits),
        input_max=input_max,
        row_gain_min=float(gain.min()),
        row_gain_max=float(gain.max()),
        weight_exp_re=conn_re.exponent,
        weight_exp_im=conn_im.exponent,
        weight_mantissa_max_re=conn_re.mantissa_max,
        weight_mantissa_max_im=conn_im.mantissa_max,
        weight_clip_fraction=max(conn_re.clip_fraction, conn_im.clip_fraction),
        weight_error_max=float(weight_error.max(initial=0.0)),
        decay_error_max=float(np.abs(decay_int - layer.decay).max(initial=0.0)),
        decay_zero=zero,
        decay_guarded=guarded,
        decay_magnitude_max=float(np.abs(decay_int).max(initial=0.0)),
        threshold_min=float(original.threshold.min()),
        threshold_max=float(original.threshold.max()),
        threshold_lsb_min=int(threshold.min()),
        threshold_lsb_max=int(threshold.max()),
        threshold_error_max=float(threshold_error.max()),
        mixing=mixing_report,
    )
    int_layer = IntLayer(
        decay_re=c,
        decay_im=s,
        weight_re=conn_re.mantissa,
        weight_im=conn_im.mantissa,
        weight_exp_re=conn_re.exponent,
        weight_exp_im=conn_im.exponent,
        threshold=threshold,
        state_scale=scale,
        skip=layer.skip,
        mixing=mixing,
    )
    return int_layer, report


def _quantise_mixing(
    name: str,
    original: FloatLayer,
    layer: FloatLayer,
    gain: np.ndarray,
    state_exponent: int,
    target: TargetSpec,
    warnings: list[str],
) -> tuple[IntMixing, MixingQuantisation]:
    """Stage B of a mixing layer, given in its original and gauged form, for stage A's state exponent n."""
    assert layer.mixing is not None and original.mixing is not None
    shift = target.state_payload_shift
    per_payload = math.ldexp(1.0, shift - state_exponent)
    parts = [part * per_payload for part in layer.mixing.weight_parts()]
    # the gauged rows lie within the full mantissa scale: at most 2^(1−bits) per unit, per_payload times that here
    cap = 1 - target.weight_bits + shift - state_exponent
    exponents = [None if e is None else min(e, cap) for e in (_float_exponent(part, target) for part in parts)]
    # v cannot leave the state range whatever the payloads: its bound, not a measured peak, sets m
    bound = float((np.abs(parts[0]) + np.abs(parts[1])).sum(axis=1).max(initial=0.0)) * target.state_payload_max
    m = _state_exponent(bound, float(layer.threshold.max(initial=0.0)), exponents, f"{name} mixing", 0, target)
    conns = [_quantise_connection(part, exponent, m, target) for part, exponent in zip(parts, exponents)]
    for part, conn, exponent in zip(("real-state", "imaginary-state"), conns, exponents):
        _check_connection(f"{name} mixing {part} weights", conn, exponent, m, target, warnings)
    mixing = IntMixing(weight_re=conns[0].mantissa, weight_im=conns[1].mantissa, weight_exp_re=conns[0].exponent,
                       weight_exp_im=conns[1].exponent, state_scale=math.ldexp(1.0, m))
    # back to the original network's units: y = M_eff x with M_eff = mantissa·2^(e − m)/per_payload · g_A / g_B
    g_mix = layer.threshold / original.threshold
    errors = [
        np.abs(conn.mantissa * math.ldexp(1.0, conn.exponent - m) / per_payload * gain[None, :] / g_mix[:, None] - want)
        for conn, want in zip(conns, original.mixing.weight_parts())
    ]
    report = MixingQuantisation(
        payload_bits=min(target.state_payload_bits, target.state_bits),
        payload_shift=shift,
        state_scale=math.ldexp(1.0, m),
        state_exponent=m,
        row_gain_min=float(g_mix.min(initial=1.0)),
        row_gain_max=float(g_mix.max(initial=1.0)),
        weight_exp_re=conns[0].exponent,
        weight_exp_im=conns[1].exponent,
        weight_mantissa_max_re=conns[0].mantissa_max,
        weight_mantissa_max_im=conns[1].mantissa_max,
        weight_clip_fraction=max(conn.clip_fraction for conn in conns),
        weight_error_max=float(max(error.max(initial=0.0) for error in errors)),
        neurons=layer.num_mixing_neurons,
        synapses=mixing.num_synapses,
    )
    return mixing, report


def _check_connection(name: str, conn: _Connection, exponent: int | None, state_exponent: int, target: TargetSpec, warnings: list[str]) -> None:
    """Refuse a connection whose weights all vanish; warn when it lost mantissa levels."""
    if exponent is None or exponent + state_exponent >= target.weight_exp_min:
        return
    if conn.mantissa_max == 0:
        raise TargetError(
            f"{name}: every weight rounds to 0 at exponent {conn.exponent} (needed {exponent + state_exponent}, "
            f"target minimum {target.weight_exp_min}); the state scale 2^{state_exponent} is too coarse for them"
        )
    warnings.append(
        f"WARNING {name}: exponent {exponent + state_exponent} is below the target's minimum "
        f"{target.weight_exp_min}; the largest weight uses only {conn.mantissa_max} of {target.weight_max} mantissa levels"
    )


def _quantise_readout(
    network: FloatNetwork,
    target: TargetSpec,
    peaks: list[float] | None,
    input_max: float,
    time_steps: int | None,
    headroom_bits: int,
    warnings: list[str],
) -> tuple[IntReadout, ReadoutQuantisation]:
    readout = network.readout
    d = quantise_real_decay(readout.decay, target.decay_bits).astype(np.int64)
    decay_int = d / target.decay_one
    exponent = _float_exponent(readout.weight, target)
    if peaks is None:
        peak = _bound_peak(readout.weight, np.maximum(readout.decay, decay_int), input_max, time_steps)
        source = "weights"
    else:
        peak = peaks[-1]
        source = "calibration"
    n = _state_exponent(peak, 0.0, [exponent], "readout", headroom_bits, target)
    conn = _quantise_connection(readout.weight, exponent, n, target)
    _check_connection("readout weights", conn, exponent, n, target, warnings)
    zero = int(np.count_nonzero(d == 0))
    if zero:
        warnings.append(
            f"WARNING readout: {zero} output(s) have a decay that rounds to 0 at {target.decay_bits} bits "
            f"(smallest decay {float(readout.decay.min()):.3g})"
        )
    report = ReadoutQuantisation(
        state_scale=math.ldexp(1.0, n),
        state_exponent=n,
        peak_source=source,
        state_peak=peak,
        state_headroom_bits=math.log2(target.state_max / math.ldexp(peak, n)) if peak > 0 else float(target.state_bits),
        input_max=input_max,
        weight_exp=conn.exponent,
        weight_mantissa_max=conn.mantissa_max,
        weight_clip_fraction=conn.clip_fraction,
        weight_error_max=conn.error_max,
        decay_error_max=float(np.abs(decay_int - readout.decay).max(initial=0.0)),
        decay_zero=zero,
    )
    return IntReadout(weight=conn.mantissa, weight_exp=conn.exponent, decay=d, state_scale=math.ldexp(1.0, n)), report


def _check_saturation(network: IntNetwork, inputs: np.ndarray, max_fraction: float) -> SaturationCheck:
    """Simulate the integer network on calibration inputs; refuse too much saturation."""
    result = simulate(network, inputs)
    samples, steps = inputs.shape[0], inputs.shape[1]
    widths = [2 * layer.num_neurons for layer in network.layers] + [network.output_dim]
    fractions = [events / max(1, samples * steps * width) for events, width in zip(result.saturation, widths)]
    names = [f"layer {i}" for i in range(len(network.layers))] + ["readout"]
    for name, events, fraction in zip(names, result.saturation, fractions):
        if fraction > max_fraction:
            raise TargetError(
                f"{name}: {events} saturation events on {samples} calibration samples "
                f"({100 * fraction:.3f} % of state updates, limit {100 * max_fraction:.3f} %)"
            )
    return SaturationCheck(samples=samples, saturation=list(result.saturation), saturation_fraction=fractions)
