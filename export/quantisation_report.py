"""What quantisation did and lost: one typed record per layer, one for the readout, one for the whole network.

`quantise` fills them; the export command, the layer summary and the report
read their attributes; `QuantReport.to_dict()` gives the plain form written
to `export.json` and `report.json` (one key per field).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PeakSource = Literal["weights", "calibration"]
"""Where a layer's peak state came from: the weight bound or a calibration run."""


@dataclass(frozen=True)
class StateScaling:
    """How a layer's (or the readout's) state was scaled to integers.

    state_scale: 2^n, LSBs per gauged state unit; state_exponent: n;
    peak_source: how state_peak was found; state_peak: largest |state| in
    gauged state units; state_headroom_bits: log2 of the state range over the
    peak in LSBs; input_max: largest input value assumed.
    """

    state_scale: float
    state_exponent: int
    peak_source: PeakSource
    state_peak: float
    state_headroom_bits: float
    input_max: float


@dataclass(frozen=True)
class MixingQuantisation:
    """A mixing stage's quantisation (docs/design.md §4b).

    payload_bits: signed bits of the state payloads; payload_shift: state bits
    dropped on the way into a payload; state_scale: 2^m, LSBs of v per gauged
    unit of y; state_exponent: m; row_gain_min/max: stage B's neuron gauge;
    weight_exp_re/im: exponents of the connections on the real and imaginary
    payloads; weight_mantissa_max_re/im: largest |mantissa| used;
    weight_clip_fraction: fraction of weights clipped (0..1);
    weight_error_max: largest error of M's real or imaginary part, in the
    float network's units; neurons: threshold neurons of the stage;
    synapses: non-zero weights of both connections.
    """

    payload_bits: int
    payload_shift: int
    state_scale: float
    state_exponent: int
    row_gain_min: float
    row_gain_max: float
    weight_exp_re: int
    weight_exp_im: int
    weight_mantissa_max_re: int
    weight_mantissa_max_im: int
    weight_clip_fraction: float
    weight_error_max: float
    neurons: int
    synapses: int


@dataclass(frozen=True)
class LayerQuantisation(StateScaling):
    """One spiking layer's quantisation: its state scaling (`StateScaling`), then

    row_gain_min/max: the neuron gauge g (dimensionless); weight_exp_re/im: connection exponents
    (LSBs); weight_mantissa_max_re/im: largest |mantissa| used;
    weight_clip_fraction: fraction of weights clipped (0..1);
    weight_error_max: largest weight error in state units of the float network;
    decay_error_max: largest |λ̄_int − λ̄|; decay_zero: neurons whose decay
    rounded to 0; decay_guarded: neurons moved to keep |λ̄_int| < 1;
    decay_magnitude_max: max |λ̄_int|; threshold_min/max: θ = 1/|b̄| in state
    units of the float network; threshold_lsb_min/max: vth in LSBs;
    threshold_error_max: largest relative threshold rounding error
    (thresholds are stage B's when the layer mixes); mixing: the mixing
    stage's quantisation, or None.
    """

    row_gain_min: float
    row_gain_max: float
    weight_exp_re: int
    weight_exp_im: int
    weight_mantissa_max_re: int
    weight_mantissa_max_im: int
    weight_clip_fraction: float
    weight_error_max: float
    decay_error_max: float
    decay_zero: int
    decay_guarded: int
    decay_magnitude_max: float
    threshold_min: float
    threshold_max: float
    threshold_lsb_min: int
    threshold_lsb_max: int
    threshold_error_max: float
    mixing: MixingQuantisation | None = None


@dataclass(frozen=True)
class ReadoutQuantisation(StateScaling):
    """The readout's quantisation; fields as in `LayerQuantisation` (one real connection: weight_exp, weight_mantissa_max)."""

    weight_exp: int
    weight_mantissa_max: int
    weight_clip_fraction: float
    weight_error_max: float
    decay_error_max: float
    decay_zero: int


@dataclass(frozen=True)
class SaturationCheck:
    """The integer network run on the calibration inputs.

    samples: calibration samples run; saturation: saturation events per layer
    then the readout; saturation_fraction: the same over the state updates
    (per component), 0..1.
    """

    samples: int
    saturation: list[int]
    saturation_fraction: list[float]


@dataclass
class QuantReport:
    """What quantisation did and lost, per layer and for the readout.

    warnings: one line each, with numbers; calibration: the saturation check
    on the calibration inputs (None without calibration).
    """

    target: str
    layers: list[LayerQuantisation]
    readout: ReadoutQuantisation
    warnings: list[str] = field(default_factory=list)
    calibration: SaturationCheck | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able plain dict (the `quantisation` entry of export.json and report.json)."""
        return asdict(self)
