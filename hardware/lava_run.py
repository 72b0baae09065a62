"""Run a network in Lava and return what the golden simulator returns.

`run_lava` builds the process graph once for all N samples (compiling a Lava
graph costs far more than a sample), plays the samples back to back and lets
every process reset itself at its own sample boundaries (schedule in
`hardware.lava_procs.process`). It runs N·T Lava steps plus the readout's latency in chunks of at
most `CHUNK_STEPS`, and after each chunk drains the spike and score
recordings of the samples finished so far (one message per sample and
process; each process's latency, `lava_builder.latencies`, is already
taken out by its schedule), so that spikes[l][n, τ] is directly comparable to
the golden simulator's. The run happens inside `lava_session`, which stops
Lava and frees its processes and shared memory when the run fails or SIGINT
or SIGTERM interrupts it (docs/design.md §7).

Backends (`hardware.backends`): "cpu" runs `Loihi2SimCfg` with the `fixed_pt` process models for
an `IntNetwork` (Lava's bit-accurate `Dense` + `hardware.neuron` arithmetic)
and `floating_pt` for a `FloatNetwork`; "loihi2-hw" selects `Loihi2HwCfg`,
which needs Intel's Lava extension for Loihi (lava-loihi). That path is
untested here (no extension, no chip); the S5-RF processes only have Python
models, so there they would run on the host next to the Dense synapses on the
chip, and the external recording pipes would need checking on real hardware.
"""

from __future__ import annotations

import numpy as np

from s5rf_neuro.hardware import lava_compat  # noqa: F401  (before any Lava import)
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2HwCfg, Loihi2SimCfg, RunConfig
from lava.utils import loihi
from tqdm.auto import tqdm

from s5rf_neuro.errors import S5RFError
from s5rf_neuro.hardware.backends import LAVA_BACKENDS, LAVA_CPU, LAVA_HW
from s5rf_neuro.hardware.golden import SimulationResult
from s5rf_neuro.hardware.lava_builder import LavaNetwork, build_lava
from s5rf_neuro.hardware.lava_session import lava_session
from s5rf_neuro.hardware.network import FloatNetwork, IntNetwork, Network, check_inputs
from s5rf_neuro.hardware.neuron import load_step_loops
from s5rf_neuro.terminal import show_progress

CHUNK_STEPS = 512
"""Lava steps per `run` call; the recording pipes hold the samples that finish within one (CHUNK_STEPS // T + 2)."""


def run_config(network: Network, backend: str) -> RunConfig:
    """The Lava run configuration for `backend`; `S5RFError` if it cannot be used here."""
    tag = "fixed_pt" if isinstance(network, IntNetwork) else "floating_pt"
    if backend == LAVA_CPU:
        return Loihi2SimCfg(select_tag=tag)
    if backend == LAVA_HW:
        if not loihi.is_installed():
            raise S5RFError(
                "backend loihi2-hw needs Intel's Lava extension for Loihi (lava-loihi, distributed to INRC "
                "members) and a Loihi 2 system; it is not installed here, use the CPU backend (Loihi2SimCfg)"
            )
        if tag != "fixed_pt":
            raise S5RFError("backend loihi2-hw runs quantised networks only; export for a fixed-point target")
        return Loihi2HwCfg(select_tag=tag)
    raise S5RFError(f"unknown Lava backend {backend!r}; choose {', '.join(LAVA_BACKENDS)}")


class _Recorder:
    """Collects the recordings of a built network as the Lava steps advance, one message per sample."""

    def __init__(self, built: LavaNetwork, count: int, steps: int, score_dtype: type) -> None:
        self.built = built
        self.count, self.steps = count, steps
        self.spikes = [np.zeros((count, steps, n.s_rec.shape[1]), dtype=bool) for n in built.neurons]
        self.received = [0] * len(built.neurons)
        self.scores = np.zeros((count, built.readout.score_rec.shape[0]), dtype=score_dtype)
        self.samples_done = 0

    def _finished(self, lava_steps: int, latency: int) -> int:
        """Samples a process of this latency has finished within the first `lava_steps` steps."""
        return min(max(lava_steps - latency, 0) // self.steps, self.count)

    def drain(self, lava_steps: int) -> None:
        """Receive everything the processes sent in the first `lava_steps` steps."""
        latencies = self.built.latencies
        for layer, neuron in enumerate(self.built.neurons):
            ready = self._finished(lava_steps, latencies[layer])
            pipe = neuron.s_rec.external_pipe_csp_recv_port
            for n in range(self.received[layer], ready):
                self.spikes[layer][n] = pipe.recv()
            self.received[layer] = ready
        ready = self._finished(lava_steps, latencies[-1])
        pipe = self.built.readout.score_rec.external_pipe_csp_recv_port
        for n in range(self.samples_done, ready):
            self.scores[n] = pipe.recv()
        self.samples_done = ready


def run_lava(network: Network, inputs: np.ndarray, backend: str = LAVA_CPU, progress: bool = False) -> SimulationResult:
    """Run `network` on `inputs` (N, T, H) in Lava, given as for `golden.simulate` (`check_inputs`).

    Returns the golden simulator's `SimulationResult`: per-layer spikes
    (N, T, P) realigned to golden time, scores (N, O) (int64 Σ_t y for an
    integer network, float64 mean_t y for a float one), predictions and
    saturation events per layer then the readout. `progress` shows a tqdm bar
    over samples.
    """
    if not isinstance(network, (FloatNetwork, IntNetwork)):
        raise S5RFError(f"cannot run a {type(network).__name__} in Lava; expected FloatNetwork or IntNetwork")
    inputs = check_inputs(network, inputs)
    config = run_config(network, backend)
    count, steps, _ = inputs.shape
    fixed = isinstance(network, IntNetwork)
    score_dtype = np.int64 if fixed else np.float64
    if count == 0 or steps == 0:
        return _empty_result(network, count, steps, score_dtype)
    if fixed:
        load_step_loops()
    with lava_session() as session:
        built = build_lava(network, inputs, record_buffer=CHUNK_STEPS // steps + 2)
        session.process = built.readout
        recorder = _Recorder(built, count, steps, score_dtype)
        total = count * steps + built.latencies[-1]
        done = 0
        with tqdm(total=count, desc="lava", unit="sample", disable=not show_progress(progress)) as bar:
            while done < total:
                chunk = min(CHUNK_STEPS, total - done)
                built.readout.run(condition=RunSteps(num_steps=chunk), run_cfg=config)
                done += chunk
                before = recorder.samples_done
                recorder.drain(done)
                bar.update(recorder.samples_done - before)
        saturation = built.saturation()
    return SimulationResult(
        spikes=recorder.spikes,
        scores=recorder.scores,
        predictions=np.argmax(recorder.scores, axis=1).astype(np.int64),
        saturation=saturation,
    )


def _empty_result(network: Network, count: int, steps: int, score_dtype: type) -> SimulationResult:
    return SimulationResult(
        spikes=[np.zeros((count, steps, layer.num_neurons), dtype=bool) for layer in network.layers],
        scores=np.zeros((count, network.output_dim), dtype=score_dtype),
        predictions=np.zeros(count, dtype=np.int64),
        saturation=[0] * (len(network.layers) + 1),
    )
