"""CPU process models of the processes in `process`, each in two flavours.

`fixed_pt` models run on int64 and call `hardware.neuron.int_*`, `floating_pt`
models run on float64 and call `hardware.neuron.float_*`: the arithmetic is
the golden simulator's by construction. A fixed_pt model reads its number
formats from its process's Vars (`decay_bits`, `decay_rounding`,
`state_bits`) and hands them to the shared arithmetic as a `TargetSpec`.
"""

from __future__ import annotations

import numpy as np

from s5rf_neuro.hardware import lava_compat  # noqa: F401  (before any Lava import)
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from s5rf_neuro.hardware.lava_procs.process import MixingThreshold, S5RFNeuron, S5RFReadout, S5RFState, SpikeSource
from s5rf_neuro.hardware.neuron import (
    float_neuron_step,
    float_readout_step,
    int_neuron_step,
    int_readout_step,
    mixing_neuron_step,
    state_payload,
)
from s5rf_neuro.hardware.target import DECAY_ROUNDINGS, LOIHI2, TargetSpec


def _scalar_type() -> LavaPyType:
    return LavaPyType(np.ndarray, np.int64)


class _Scheduled(PyLoihiProcessModel):
    """The step a process works on at its current Lava time step (Vars `period`, `offset`, `num_steps`)."""

    period: np.ndarray = _scalar_type()
    offset: np.ndarray = _scalar_type()
    num_steps: np.ndarray = _scalar_type()
    saturation: np.ndarray = _scalar_type()

    def local_step(self) -> int:
        """Global step k = t − 1 − offset (negative: not started yet)."""
        return self.time_step - 1 - int(self.offset[0])

    def recording(self, k: int) -> bool:
        """Whether step k belongs to a sample (0 ≤ k < N·T)."""
        return 0 <= k < self.num_steps[0]


class _FixedArithmetic(_Scheduled):
    """The number formats in the Vars, as the `TargetSpec` the shared arithmetic takes."""

    decay_bits: np.ndarray = _scalar_type()
    decay_rounding: np.ndarray = _scalar_type()
    state_bits: np.ndarray = _scalar_type()
    _target: TargetSpec | None = None

    def target(self, payload_bits: int = LOIHI2.state_payload_bits) -> TargetSpec:
        """A spec holding the Vars' formats (and a state payload width), rebuilt only when one changed."""
        bits, rounding, state = int(self.decay_bits[0]), DECAY_ROUNDINGS[self.decay_rounding[0]], int(self.state_bits[0])
        spec = self._target
        formats = (bits, rounding, state, payload_bits)
        if spec is None or (spec.decay_bits, spec.decay_rounding, spec.state_bits, spec.state_payload_bits) != formats:
            spec = self._target = TargetSpec(
                name="lava-vars", quantized=True, decay_bits=bits, decay_rounding=rounding, state_bits=state,
                state_payload_bits=payload_bits,
            )
        return spec


class _SourceModel(PyLoihiProcessModel):
    num_message_bits: np.ndarray = _scalar_type()

    def run_spk(self) -> None:
        k = self.time_step - 1
        self.s_out.send(self.data[k] if k < len(self.data) else np.zeros(self.data.shape[1], self.data.dtype))


@implements(proc=SpikeSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySpikeSourceFixed(_SourceModel):
    """Integer spike counts."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=8)
    data: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)


@implements(proc=SpikeSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySpikeSourceFloat(_SourceModel):
    """Spike counts as float64."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    data: np.ndarray = LavaPyType(np.ndarray, float)


class _NeuronModel(_Scheduled):
    num_message_bits: np.ndarray = _scalar_type()

    def _update(self, a_re: np.ndarray, a_im: np.ndarray) -> np.ndarray:
        """Advance the state by one step; return the spikes (P,) in `s_out`'s dtype."""
        raise NotImplementedError

    def run_spk(self) -> None:
        a_re = self.a_in_re.recv()
        a_im = self.a_in_im.recv()
        a_skip = self.a_in_skip.recv()
        k = self.local_step()
        if k < 0:
            self.s_out.send(np.zeros_like(a_skip))
            return
        step = k % int(self.period[0])
        if step == 0:
            self.re = np.zeros_like(self.re)
            self.im = np.zeros_like(self.im)
        spikes = self._update(a_re, a_im)
        self.recorded[step] = spikes
        if step == len(self.recorded) - 1 and self.recording(k):
            self.s_rec.send(self.recorded)
        self.s_out.send(spikes + a_skip if self.num_message_bits[0] else spikes)


@implements(proc=S5RFNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyS5RFNeuronFixed(_NeuronModel, _FixedArithmetic):
    """Bit-accurate S5-RF neuron: `hardware.neuron.int_neuron_step` on int64."""

    a_in_re: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_in_im: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_in_skip: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=8)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=8)
    s_rec: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int8, precision=1)
    recorded: np.ndarray = LavaPyType(np.ndarray, np.int8, precision=1)
    decay_re: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=13)
    decay_im: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=13)
    threshold: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    re: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    im: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)

    def _update(self, a_re: np.ndarray, a_im: np.ndarray) -> np.ndarray:
        self.re, self.im, spikes, saturated = int_neuron_step(
            self.re,
            self.im,
            a_re.astype(np.int64),
            a_im.astype(np.int64),
            self.decay_re,
            self.decay_im,
            self.threshold,
            self.target(),
        )
        self.saturation[0] += saturated
        return spikes.astype(np.int32)


@implements(proc=S5RFNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyS5RFNeuronFloat(_NeuronModel):
    """Float64 S5-RF neuron: `hardware.neuron.float_neuron_step`."""

    a_in_re: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_in_im: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_in_skip: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_rec: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int8, precision=1)
    recorded: np.ndarray = LavaPyType(np.ndarray, np.int8, precision=1)
    decay_re: np.ndarray = LavaPyType(np.ndarray, float)
    decay_im: np.ndarray = LavaPyType(np.ndarray, float)
    threshold: np.ndarray = LavaPyType(np.ndarray, float)
    re: np.ndarray = LavaPyType(np.ndarray, float)
    im: np.ndarray = LavaPyType(np.ndarray, float)
    decay_bits: np.ndarray = _scalar_type()
    decay_rounding: np.ndarray = _scalar_type()
    state_bits: np.ndarray = _scalar_type()

    def _update(self, a_re: np.ndarray, a_im: np.ndarray) -> np.ndarray:
        state, spikes = float_neuron_step(
            self.re + 1j * self.im,
            a_re + 1j * a_im,
            self.decay_re + 1j * self.decay_im,
            self.threshold,
        )
        self.re, self.im = state.real.copy(), state.imag.copy()
        return spikes.astype(float)


class _StateModel(_Scheduled):
    """Stage A of a mixing layer: the S5-RF state step, both parts sent every step."""

    def _update(self, a_re: np.ndarray, a_im: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance the state by one step; return what `s_out_re` and `s_out_im` send."""
        raise NotImplementedError

    def run_spk(self) -> None:
        a_re = self.a_in_re.recv()
        a_im = self.a_in_im.recv()
        k = self.local_step()
        if k < 0:
            self.s_out_re.send(np.zeros_like(a_re))
            self.s_out_im.send(np.zeros_like(a_im))
            return
        if k % int(self.period[0]) == 0:
            self.re = np.zeros_like(self.re)
            self.im = np.zeros_like(self.im)
        out_re, out_im = self._update(a_re, a_im)
        self.s_out_re.send(out_re)
        self.s_out_im.send(out_im)


@implements(proc=S5RFState, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyS5RFStateFixed(_StateModel, _FixedArithmetic):
    """Bit-accurate states: `int_neuron_step`, then `state_payload` of each part."""

    a_in_re: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_in_im: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out_re: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    s_out_im: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    decay_re: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=13)
    decay_im: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=13)
    re: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    im: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    payload_bits: np.ndarray = _scalar_type()

    def _update(self, a_re: np.ndarray, a_im: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        target = self.target(int(self.payload_bits[0]))
        self.re, self.im, _, saturated = int_neuron_step(
            self.re, self.im, a_re.astype(np.int64), a_im.astype(np.int64),
            self.decay_re, self.decay_im, np.zeros_like(self.re), target,
        )
        self.saturation[0] += saturated
        return state_payload(self.re, target).astype(np.int32), state_payload(self.im, target).astype(np.int32)


@implements(proc=S5RFState, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyS5RFStateFloat(_StateModel):
    """Float64 states: `float_neuron_step`, both parts sent as they are."""

    a_in_re: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_in_im: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out_re: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_out_im: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    decay_re: np.ndarray = LavaPyType(np.ndarray, float)
    decay_im: np.ndarray = LavaPyType(np.ndarray, float)
    re: np.ndarray = LavaPyType(np.ndarray, float)
    im: np.ndarray = LavaPyType(np.ndarray, float)
    payload_bits: np.ndarray = _scalar_type()
    decay_bits: np.ndarray = _scalar_type()
    decay_rounding: np.ndarray = _scalar_type()
    state_bits: np.ndarray = _scalar_type()

    def _update(self, a_re: np.ndarray, a_im: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        state, _ = float_neuron_step(self.re + 1j * self.im, a_re + 1j * a_im, self.decay_re + 1j * self.decay_im,
                                     np.zeros_like(self.re))
        self.re, self.im = state.real.copy(), state.imag.copy()
        return self.re.copy(), self.im.copy()


class _MixingModel(_Scheduled):
    """Stage B of a mixing layer: memoryless threshold neurons, recorded like `S5RFNeuron`'s."""

    def _spikes(self, a_re: np.ndarray, a_im: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def run_spk(self) -> None:
        a_re = self.a_in_re.recv()
        a_im = self.a_in_im.recv()
        k = self.local_step()
        if k < 0:
            self.s_out.send(np.zeros(self.threshold.shape, self.recorded.dtype))
            return
        step = k % int(self.period[0])
        spikes = self._spikes(a_re, a_im)
        self.recorded[step] = spikes
        if step == len(self.recorded) - 1 and self.recording(k):
            self.s_rec.send(self.recorded)
        self.s_out.send(spikes)


@implements(proc=MixingThreshold, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyMixingThresholdFixed(_MixingModel):
    """Bit-accurate threshold neurons: `hardware.neuron.mixing_neuron_step`."""

    a_in_re: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_in_im: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=8)
    s_rec: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int8, precision=1)
    recorded: np.ndarray = LavaPyType(np.ndarray, np.int8, precision=1)
    threshold: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    state_bits: np.ndarray = _scalar_type()
    _target: TargetSpec | None = None

    def _spikes(self, a_re: np.ndarray, a_im: np.ndarray) -> np.ndarray:
        bits = int(self.state_bits[0])
        if self._target is None or self._target.state_bits != bits:
            self._target = TargetSpec(name="lava-vars", quantized=True, state_bits=bits)
        return mixing_neuron_step(a_re, a_im, self.threshold, self._target)[1].astype(np.int32)


@implements(proc=MixingThreshold, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyMixingThresholdFloat(_MixingModel):
    """Float64 threshold neurons: spike when a_re + a_im > threshold."""

    a_in_re: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_in_im: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    s_rec: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int8, precision=1)
    recorded: np.ndarray = LavaPyType(np.ndarray, np.int8, precision=1)
    threshold: np.ndarray = LavaPyType(np.ndarray, float)
    state_bits: np.ndarray = _scalar_type()

    def _spikes(self, a_re: np.ndarray, a_im: np.ndarray) -> np.ndarray:
        return (a_re + a_im > self.threshold).astype(float)


class _ReadoutModel(_Scheduled):
    def _update(self, a: np.ndarray) -> None:
        """Advance y by one step and add it to the running score."""
        raise NotImplementedError

    def _finish(self) -> np.ndarray:
        """The score of the sample that just ended."""
        raise NotImplementedError

    def run_spk(self) -> None:
        a = self.a_in.recv()
        k = self.local_step()
        if k < 0:
            return
        period = int(self.period[0])
        if k % period == 0:
            self.y = np.zeros_like(self.y)
            self.score = np.zeros_like(self.score)
        self._update(a)
        if k % period == period - 1:
            self.scores = self._finish()
            if self.recording(k):
                self.score_rec.send(self.scores)


@implements(proc=S5RFReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyS5RFReadoutFixed(_ReadoutModel, _FixedArithmetic):
    """Bit-accurate readout: `hardware.neuron.int_readout_step`; score = Σ_τ y (int64)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    score_rec: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
    decay: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=13)
    y: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    score: np.ndarray = LavaPyType(np.ndarray, np.int64)
    scores: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def _update(self, a: np.ndarray) -> None:
        self.y, saturated = int_readout_step(self.y, a.astype(np.int64), self.decay, self.target())
        self.saturation[0] += saturated
        self.score = self.score + self.y

    def _finish(self) -> np.ndarray:
        return self.score.copy()


@implements(proc=S5RFReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyS5RFReadoutFloat(_ReadoutModel):
    """Float64 readout: `hardware.neuron.float_readout_step`; score = mean_τ y."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    score_rec: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    decay: np.ndarray = LavaPyType(np.ndarray, float)
    y: np.ndarray = LavaPyType(np.ndarray, float)
    score: np.ndarray = LavaPyType(np.ndarray, float)
    scores: np.ndarray = LavaPyType(np.ndarray, float)
    decay_bits: np.ndarray = _scalar_type()
    decay_rounding: np.ndarray = _scalar_type()
    state_bits: np.ndarray = _scalar_type()

    def _update(self, a: np.ndarray) -> None:
        self.y = float_readout_step(self.y, a, self.decay)
        self.score = self.score + self.y

    def _finish(self) -> np.ndarray:
        return self.score / self.period[0]
