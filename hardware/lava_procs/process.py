"""The Lava processes of an S5-RF network: a spike source, S5-RF neurons, a readout.

Lava's own resonate-and-fire neurons fire on a phase crossing, so the project
defines its own. Their models live in `models`; every number a model needs
(decays, thresholds, decay bits, rounding, state width, payload width, the
schedule, the input spikes) is a `Var` of its process, so any backend reads
them the same way, as Lava's `RF` keeps `decay_bits` and `state_exp`.

Schedule (no host intervention between samples). The samples are played back
to back, `period` = T steps each, `num_steps` = N·T steps in all. A process
with latency `offset` works at Lava time step t (1-based) on the global step
k = t − 1 − offset, i.e. sample n = k // T, step τ = k % T; it idles while
k < 0 and zeroes its state whenever τ = 0, before applying that step's input.
Lava's `Dense` delays by one step, so a builder gives layer l the offset
l + 1 and the readout of L layers the offset L + 1; every input a process
receives then belongs to the (n, τ) it is working on.

A layer with a mixing stage (docs/design.md §4b) is two processes: its
states (`S5RFState`, no threshold) send Re x and Im x as graded spikes every
step, and two `Dense` feed its threshold neurons (`MixingThreshold`), which
therefore work one step later (offset one more).

Recording. A neuron collects the spikes of each sample in `recorded` and,
at the sample's last step, sends them on `s_rec`; the readout sends each
finished sample's score on `score_rec`. Both are external pipes
(`OutPort.flag_external_pipe`) that the host drains between runs, one message
per sample, far cheaper than reading recorded Vars (Lava transfers a Var
element by element) or one message per step.
"""

from __future__ import annotations

import numpy as np

from s5rf_neuro.hardware import lava_compat  # noqa: F401  (before any Lava import)
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from s5rf_neuro.hardware.target import DECAY_ROUNDINGS, LOIHI2


def _scalar(value: int) -> Var:
    """A (1,) integer Var."""
    return Var(shape=(1,), init=int(value))


def _schedule(process: AbstractProcess, period: int, offset: int, num_steps: int) -> None:
    """The schedule Vars `period`, `offset`, `num_steps` (module docstring)."""
    process.period = _scalar(period)
    process.offset = _scalar(offset)
    process.num_steps = _scalar(num_steps)


def _arithmetic(process: AbstractProcess, decay_bits: int, decay_rounding: str, state_bits: int) -> None:
    """The number-format Vars `decay_bits`, `decay_rounding` (index into DECAY_ROUNDINGS), `state_bits`."""
    if decay_rounding not in DECAY_ROUNDINGS:
        raise ValueError(f"decay_rounding must be one of {DECAY_ROUNDINGS}, got {decay_rounding!r}")
    process.decay_bits = _scalar(decay_bits)
    process.decay_rounding = _scalar(DECAY_ROUNDINGS.index(decay_rounding))
    process.state_bits = _scalar(state_bits)


class SpikeSource(AbstractProcess):
    """Plays spike counts back, one row per time step.

    Dynamics: at Lava time step t (1-based) `s_out` sends row t − 1 of `data`,
    and zeros once the rows run out.

    Parameters
    ----------
    data : np.ndarray
        (K, H) non-negative integer spike counts, the samples' steps back to
        back (K = N·T time steps, H channels). Counts may exceed 1 (graded).
    num_message_bits : int
        Width of the graded spike payload `s_out` carries (bits, unsigned);
        every count must stay below 2**num_message_bits.
    name : str, optional
        Process name.

    Example
    -------
    >>> source = SpikeSource(data=np.eye(3, dtype=np.int32), num_message_bits=8)
    This sends (1, 0, 0), (0, 1, 0), (0, 0, 1) at steps 1, 2, 3, then zeros.
    """

    def __init__(self, *, data: np.ndarray, num_message_bits: int = LOIHI2.spike_payload_bits,
                 name: str | None = None) -> None:
        super().__init__(name=name)
        self.s_out = OutPort(shape=(int(data.shape[1]),))
        self.data = Var(shape=data.shape, init=data)
        self.num_message_bits = _scalar(num_message_bits)


class S5RFNeuron(AbstractProcess):
    """P complex S5-RF neurons: per-neuron decays, threshold on the real part, no reset.

    Dynamics, per neuron, with synaptic inputs a_re, a_im from `a_in_re`,
    `a_in_im` (one `Dense` each) and u from `a_in_skip` (a skip layer's input):

        fixed_pt (integers, k = decay_bits, sat = clip to state_bits signed):
            re' = sat(shift(c·re − s·im) + a_re),  im' = sat(shift(s·re + c·im) + a_im)
            shift(x) = (x + 2^(k−1)) >> k ("nearest") or x >> k ("floor")
        floating_pt: x' = (c + i·s)·x + (a_re + i·a_im),  re = Re x, im = Im x
        spike = re' > threshold;  s_out = spike (+ u when num_message_bits > 0)

    The fixed_pt model calls `hardware.neuron.int_neuron_step`, the golden
    simulator's arithmetic, and counts clipped state words in `saturation`.
    Each sample's spikes, (T, P) int8, go to the `s_rec` pipe at its last step
    (see the module docstring).

    Parameters
    ----------
    decay_re, decay_im : np.ndarray
        (P,) c and s: Re λ̄ and Im λ̄ (floating_pt), or those times 2**decay_bits
        rounded (fixed_pt, integers).
    threshold : np.ndarray
        (P,) spike when the real state exceeds it (state units or LSBs).
    period : int
        T, time steps per sample; the state is zeroed at each sample's start.
    offset : int
        Latency in time steps (see the module docstring).
    num_steps : int
        N·T, time steps that are recorded.
    record_buffer : int
        Samples the `s_rec` pipe holds before the process blocks.
    num_message_bits : int
        0: `s_out` sends binary spikes; else it sends spikes + u as graded
        spikes of this payload width (bits).
    decay_bits : int
        Fractional bits of c and s (fixed_pt).
    decay_rounding : str
        "nearest" or "floor", how the decayed state is shifted (fixed_pt).
    state_bits : int
        Signed width of re and im; beyond it they saturate (fixed_pt).
    name : str, optional
        Process name.

    Example
    -------
    >>> layer = S5RFNeuron(decay_re=np.array([3900]), decay_im=np.array([800]),
    ...                    threshold=np.array([5000]), period=32, offset=1,
    ...                    num_steps=320, record_buffer=18, num_message_bits=0)
    One neuron with λ̄ ≈ (3900 + 800i)/4096, resetting every 32 steps and
    working one step behind the Lava clock (behind one `Dense`).
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
        num_message_bits: int,
        decay_bits: int = LOIHI2.decay_bits,
        decay_rounding: str = LOIHI2.decay_rounding,
        state_bits: int = LOIHI2.state_bits,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        shape = (int(np.size(threshold)),)
        self.a_in_re = InPort(shape=shape)
        self.a_in_im = InPort(shape=shape)
        self.a_in_skip = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.s_rec = OutPort(shape=(int(period), shape[0]))
        self.s_rec.flag_external_pipe(buffer_size=record_buffer)
        self.recorded = Var(shape=(int(period), shape[0]), init=0)
        self.decay_re = Var(shape=shape, init=decay_re)
        self.decay_im = Var(shape=shape, init=decay_im)
        self.threshold = Var(shape=shape, init=threshold)
        self.re = Var(shape=shape, init=0)
        self.im = Var(shape=shape, init=0)
        self.num_message_bits = _scalar(num_message_bits)
        _arithmetic(self, decay_bits, decay_rounding, state_bits)
        _schedule(self, period, offset, num_steps)
        self.saturation = _scalar(0)


class S5RFReadout(AbstractProcess):
    """Leaky integrating readout and its per-sample score.

    Dynamics, per output, with synaptic input a from `a_in`:

        fixed_pt: y' = sat(shift(d·y) + a)   (shift and sat as in `S5RFNeuron`)
        floating_pt: y' = d·y + a
        score = Σ_τ y (fixed_pt, int64) or mean_τ y (floating_pt) over a sample

    A finished sample's score goes to the `score_rec` pipe and stays in
    `scores` until the next sample ends; y and the running `score` are zeroed
    at each sample's start. The fixed_pt model calls
    `hardware.neuron.int_readout_step` and counts clipped words in `saturation`.

    Parameters
    ----------
    decay : np.ndarray
        (O,) d in (0, 1) (floating_pt), or d·2**decay_bits rounded (fixed_pt).
    period, offset, num_steps, record_buffer : int
        As for `S5RFNeuron`.
    decay_bits, decay_rounding, state_bits :
        As for `S5RFNeuron` (fixed_pt).
    name : str, optional
        Process name.

    Example
    -------
    >>> readout = S5RFReadout(decay=np.full(10, 3500), period=32, offset=3,
    ...                       num_steps=320, record_buffer=16)
    Ten outputs with d ≈ 0.85, scoring samples of 32 steps behind two layers.
    """

    def __init__(
        self,
        *,
        decay: np.ndarray,
        period: int,
        offset: int,
        num_steps: int,
        record_buffer: int,
        decay_bits: int = LOIHI2.decay_bits,
        decay_rounding: str = LOIHI2.decay_rounding,
        state_bits: int = LOIHI2.state_bits,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        shape = (int(np.size(decay)),)
        self.a_in = InPort(shape=shape)
        self.score_rec = OutPort(shape=shape)
        self.score_rec.flag_external_pipe(buffer_size=record_buffer)
        self.decay = Var(shape=shape, init=decay)
        self.y = Var(shape=shape, init=0)
        self.score = Var(shape=shape, init=0)
        self.scores = Var(shape=shape, init=0)
        _arithmetic(self, decay_bits, decay_rounding, state_bits)
        _schedule(self, period, offset, num_steps)
        self.saturation = _scalar(0)


class S5RFState(AbstractProcess):
    """P complex S5-RF states without a threshold: stage A of a mixing layer.

    Dynamics as `S5RFNeuron`'s (same ports a_in_re, a_in_im and arithmetic),
    but nothing spikes: every step `s_out_re` and `s_out_im` send the new
    state's parts as graded spikes, in fixed_pt their payloads
    (`hardware.neuron.state_payload`: the top `payload_bits` of the state).

    Parameters
    ----------
    decay_re, decay_im : np.ndarray
        (P,) as for `S5RFNeuron`.
    period, offset, num_steps : int
        As for `S5RFNeuron` (no recording).
    payload_bits : int
        Signed payload width of the state spikes (fixed_pt).
    decay_bits, decay_rounding, state_bits :
        As for `S5RFNeuron` (fixed_pt).
    name : str, optional
        Process name.

    Example
    -------
    >>> states = S5RFState(decay_re=np.array([3900]), decay_im=np.array([800]),
    ...                    period=32, offset=1, num_steps=320, payload_bits=16)
    One state sending its top 16 bits of Re x and Im x every step.
    """

    def __init__(
        self,
        *,
        decay_re: np.ndarray,
        decay_im: np.ndarray,
        period: int,
        offset: int,
        num_steps: int,
        payload_bits: int = LOIHI2.state_payload_bits,
        decay_bits: int = LOIHI2.decay_bits,
        decay_rounding: str = LOIHI2.decay_rounding,
        state_bits: int = LOIHI2.state_bits,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        shape = (int(np.size(decay_re)),)
        self.a_in_re = InPort(shape=shape)
        self.a_in_im = InPort(shape=shape)
        self.s_out_re = OutPort(shape=shape)
        self.s_out_im = OutPort(shape=shape)
        self.decay_re = Var(shape=shape, init=decay_re)
        self.decay_im = Var(shape=shape, init=decay_im)
        self.re = Var(shape=shape, init=0)
        self.im = Var(shape=shape, init=0)
        self.payload_bits = _scalar(payload_bits)
        _arithmetic(self, decay_bits, decay_rounding, state_bits)
        _schedule(self, period, offset, num_steps)
        self.saturation = _scalar(0)


class MixingThreshold(AbstractProcess):
    """P memoryless threshold neurons: stage B of a mixing layer.

    Dynamics, with a_re, a_im from the `Dense` on the real- and on the
    imaginary-state spikes: fixed_pt v = sat(a_re + a_im)
    (`hardware.neuron.mixing_neuron_step`), floating_pt v = a_re + a_im;
    spike = v > threshold, sent on `s_out` and recorded as `S5RFNeuron`'s.

    Parameters
    ----------
    threshold : np.ndarray
        (P,) spike when v exceeds it (threshold units or LSBs of v).
    period, offset, num_steps, record_buffer : int
        As for `S5RFNeuron`.
    state_bits : int
        Signed width of v (fixed_pt).
    name : str, optional
        Process name.

    Example
    -------
    >>> stage = MixingThreshold(threshold=np.full(8, 4000), period=32, offset=2,
    ...                         num_steps=320, record_buffer=18)
    Eight threshold neurons one step behind the states they mix.
    """

    def __init__(
        self,
        *,
        threshold: np.ndarray,
        period: int,
        offset: int,
        num_steps: int,
        record_buffer: int,
        state_bits: int = LOIHI2.state_bits,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        shape = (int(np.size(threshold)),)
        self.a_in_re = InPort(shape=shape)
        self.a_in_im = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.s_rec = OutPort(shape=(int(period), shape[0]))
        self.s_rec.flag_external_pipe(buffer_size=record_buffer)
        self.recorded = Var(shape=(int(period), shape[0]), init=0)
        self.threshold = Var(shape=shape, init=threshold)
        self.state_bits = _scalar(state_bits)
        _schedule(self, period, offset, num_steps)
        self.saturation = _scalar(0)
