"""Lava processes of an S5-RF network and their CPU process models.

Lava's own resonate-and-fire neurons fire on a phase crossing, so the project
defines its own (DESIGN §7):

- `SpikeSource`: plays the input spike counts of all samples back to back.
- `S5RFNeuron`: P complex neurons with per-neuron decays, threshold on the
  real part, no reset; inputs `a_in_re`, `a_in_im` (from one `Dense` each) and
  `a_in_skip` (the layer input, for a skip layer); output `s_out` = spikes, or
  spikes + layer input on a skip layer (graded spikes).
- `S5RFReadout`: the leaky integrating readout; `scores` holds the score of
  the last finished sample.

Each process model comes in a `floating_pt` flavour (float64, calling
`hardware.neuron.float_*`) and a `fixed_pt` flavour (int64, calling
`hardware.neuron.int_*`), so the arithmetic is the golden simulator's by
construction.

Reset schedule (no host intervention between samples). The samples are
played back to back, `period` = T steps each, `num_steps` = N·T steps in
all. A process with latency `offset` works at Lava time step t (1-based) on
the global golden step k = t − 1 − offset, i.e. sample n = k // T, step
τ = k % T; it idles while k < 0 and zeroes its state whenever τ = 0, before
applying that step's input. Lava's `Dense` delays by exactly one step, so the
builder gives layer l the offset l + 1 and the readout the offset L + 1; every
input a process receives then belongs to the (n, τ) it is working on.

Recording. For 0 ≤ k < num_steps a neuron sends its spikes of step k on
`s_rec`, and the readout sends each finished sample's score on `score_rec`.
Both are external pipes (`OutPort.flag_external_pipe`) that the host drains
between runs, one vector message per step or sample, which is far cheaper
than reading recorded Vars (Lava transfers a Var element by element). Both
models count saturation events in `saturation` (1,) like the golden simulator.
"""

from __future__ import annotations

import numpy as np

from s5rf_neuro.hardware import lava_compat  # noqa: F401  (before any Lava import)
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from s5rf_neuro.hardware.neuron import (
    float_neuron_step,
    float_readout_step,
    int_neuron_step,
    int_readout_step,
)
from s5rf_neuro.hardware.target import TargetSpec


class SpikeSource(AbstractProcess):
    """Sends row t − 1 of `inputs` at time step t, zeros after the last row.

    inputs: (K, H) non-negative integer spike counts, the samples' steps back
    to back (K = N·T). Counts may exceed 1 (graded spikes).
    """

    def __init__(self, *, inputs: np.ndarray, name: str | None = None) -> None:
        super().__init__(inputs=inputs, name=name)
        self.s_out = OutPort(shape=(int(inputs.shape[1]),))


class S5RFNeuron(AbstractProcess):
    """One S5-RF layer's neurons (see the module docstring for the schedule).

    decay_re, decay_im: (P,) c and s (fixed_pt: integers with `target.decay_bits`
        fractional bits; floating_pt: Re λ̄ and Im λ̄)
    threshold: (P,) spike when the real state exceeds it (state units / LSBs)
    period: T steps per sample; offset: latency in steps; num_steps: N·T
    record_buffer: messages the `s_rec` pipe holds before the process blocks
    target: the fixed-point spec (used by the fixed_pt model only)
    """

    def __init__(
        self,
        *,
        decay_re: np.ndarray,
        decay_im: np.ndarray,
        threshold: np.ndarray,
        period: int,
        offset: int,
        num_steps: int,
        record_buffer: int,
        target: TargetSpec | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(period=period, offset=offset, num_steps=num_steps, target=target, name=name)
        shape = (int(np.size(threshold)),)
        self.a_in_re = InPort(shape=shape)
        self.a_in_im = InPort(shape=shape)
        self.a_in_skip = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.s_rec = OutPort(shape=shape)
        self.s_rec.flag_external_pipe(buffer_size=record_buffer)
        self.decay_re = Var(shape=shape, init=decay_re)
        self.decay_im = Var(shape=shape, init=decay_im)
        self.threshold = Var(shape=shape, init=threshold)
        self.re = Var(shape=shape, init=0)
        self.im = Var(shape=shape, init=0)
        self.saturation = Var(shape=(1,), init=0)


class S5RFReadout(AbstractProcess):
    """Leaky integrating readout y[τ] = d ⊙ y[τ−1] + a[τ] and its per-sample score.

    decay: (O,) d (fixed_pt: integers with `target.decay_bits` fractional bits)
    period, offset, num_steps, record_buffer: as for `S5RFNeuron`.
    A sample's score is Σ_τ y (fixed_pt, int64) or mean_τ y (floating_pt); it is
    sent on `score_rec` and kept in `scores` until the next sample ends.
    """

    def __init__(
        self,
        *,
        decay: np.ndarray,
        period: int,
        offset: int,
        num_steps: int,
        record_buffer: int,
        target: TargetSpec | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(period=period, offset=offset, num_steps=num_steps, target=target, name=name)
        shape = (int(np.size(decay)),)
        self.a_in = InPort(shape=shape)
        self.score_rec = OutPort(shape=shape)
        self.score_rec.flag_external_pipe(buffer_size=record_buffer)
        self.decay = Var(shape=shape, init=decay)
        self.y = Var(shape=shape, init=0)
        self.score = Var(shape=shape, init=0)
        self.scores = Var(shape=shape, init=0)
        self.saturation = Var(shape=(1,), init=0)


class _Scheduled(PyLoihiProcessModel):
    """The golden step a process works on at its current Lava time step."""

    def local_step(self) -> int:
        """Global golden step k = t − 1 − offset (negative: not started yet)."""
        return self.time_step - 1 - self.proc_params["offset"]

    def recording(self, k: int) -> bool:
        """Whether step k belongs to a sample (0 ≤ k < N·T)."""
        return 0 <= k < self.proc_params["num_steps"]


class _SourceModel(PyLoihiProcessModel):
    def run_spk(self) -> None:
        inputs = self.proc_params["inputs"]
        k = self.time_step - 1
        row = inputs[k] if k < len(inputs) else np.zeros(inputs.shape[1], dtype=inputs.dtype)
        self.s_out.send(row)


@implements(proc=SpikeSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySpikeSourceFixed(_SourceModel):
    """Integer spike counts."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=8)


@implements(proc=SpikeSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySpikeSourceFloat(_SourceModel):
    """Spike counts as float64."""

    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)


class _NeuronModel(_Scheduled):
    def _update(self, a_re: np.ndarray, a_im: np.ndarray) -> np.ndarray:
        """Advance the state by one step; return the spikes (bool (P,))."""
        raise NotImplementedError

    def run_spk(self) -> None:
        a_re = self.a_in_re.recv()
        a_im = self.a_in_im.recv()
        a_skip = self.a_in_skip.recv()
        k = self.local_step()
        if k < 0:
            self.s_out.send(np.zeros_like(a_skip))
            return
        if k % self.proc_params["period"] == 0:
            self.re = np.zeros_like(self.re)
            self.im = np.zeros_like(self.im)
        spikes = self._update(a_re, a_im)
        if self.recording(k):
            self.s_rec.send(spikes)
        self.s_out.send(spikes + a_skip)


@implements(proc=S5RFNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyS5RFNeuronFixed(_NeuronModel):
    """Bit-accurate S5-RF neuron: `hardware.neuron.int_neuron_step` on int64."""

    a_in_re: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_in_im: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_in_skip: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=8)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=8)
    s_rec: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int8, precision=1)
    decay_re: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=13)
    decay_im: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=13)
    threshold: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    re: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    im: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    saturation: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def _update(self, a_re: np.ndarray, a_im: np.ndarray) -> np.ndarray:
        self.re, self.im, spikes, saturated = int_neuron_step(
            self.re,
            self.im,
            a_re.astype(np.int64),
            a_im.astype(np.int64),
            self.decay_re,
            self.decay_im,
            self.threshold,
            self.proc_params["target"],
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
    decay_re: np.ndarray = LavaPyType(np.ndarray, float)
    decay_im: np.ndarray = LavaPyType(np.ndarray, float)
    threshold: np.ndarray = LavaPyType(np.ndarray, float)
    re: np.ndarray = LavaPyType(np.ndarray, float)
    im: np.ndarray = LavaPyType(np.ndarray, float)
    saturation: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def _update(self, a_re: np.ndarray, a_im: np.ndarray) -> np.ndarray:
        state, spikes = float_neuron_step(
            self.re + 1j * self.im,
            a_re + 1j * a_im,
            self.decay_re + 1j * self.decay_im,
            self.threshold,
        )
        self.re, self.im = state.real.copy(), state.imag.copy()
        return spikes.astype(float)


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
        period = self.proc_params["period"]
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
class PyS5RFReadoutFixed(_ReadoutModel):
    """Bit-accurate readout: `hardware.neuron.int_readout_step`; score = Σ_τ y (int64)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    score_rec: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int64)
    decay: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=13)
    y: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    score: np.ndarray = LavaPyType(np.ndarray, np.int64)
    scores: np.ndarray = LavaPyType(np.ndarray, np.int64)
    saturation: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def _update(self, a: np.ndarray) -> None:
        self.y, saturated = int_readout_step(self.y, a.astype(np.int64), self.decay, self.proc_params["target"])
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
    saturation: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def _update(self, a: np.ndarray) -> None:
        self.y = float_readout_step(self.y, a, self.decay)
        self.score = self.score + self.y

    def _finish(self) -> np.ndarray:
        return self.score / self.proc_params["period"]
