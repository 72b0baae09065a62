"""Stop Lava and release what it holds when a run is interrupted (SIGINT, SIGTERM) or fails.

How Lava 0.10 behaves on its own (`lava.magma.runtime`): compiling a graph
starts a `multiprocessing.managers.SharedMemoryManager` server process, which
creates one /dev/shm segment per channel, then forks one process per Lava
process and per runtime service. Only `Runtime.stop()` undoes this: it sends
STOP to the runtime services, waits for their answers, joins the processes
and shuts the manager down, which unlinks the segments. So

- Ctrl-C reaches every process of the terminal's process group: each forked
  process dies with a traceback of its own, and `Runtime.stop()` then waits
  forever for answers from processes that are gone (a hang), with the
  segments still in /dev/shm;
- SIGTERM to the parent alone kills it without any of this: the forked
  processes and the manager stay behind, blocked, and so do the segments;
- an interruption while the runtime is being built leaves a half-built
  runtime that `Runtime.stop()` cannot handle, and whose processes'
  destructors call it again when they are collected.

`lava_session()` works around this from outside Lava. Inside it SIGINT and
SIGTERM raise `Interrupted` in this process only (`s5rf_neuro.interrupts`):
the processes Lava forks ignore them, so the parent alone decides; a signal
that lands while Lava forks (where Python drops the exception) is sent again. A run
that ends normally stops Lava the usual way. On any exception (interruption
included) the session, with further signals held back, kills the processes
Lava forked, shuts the shared-memory manager down so that it unlinks its
segments, unlinks any segment still left, and detaches the runtime from its
processes so that no destructor talks to the killed ones. Every wait is
bounded, so the exception reaches the caller within seconds.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory
from typing import Any, Iterator

from s5rf_neuro.hardware import lava_compat  # noqa: F401  (before any Lava import)
from lava.magma.core.process.process import AbstractProcess
from lava.magma.runtime.message_infrastructure.multiprocessing import SystemProcess
from lava.magma.runtime.runtime import Runtime

from s5rf_neuro.interrupts import signals_deferred, signals_raise

REDELIVER_S = 0.5
"""Seconds after which a signal whose exception Python dropped (one raised in a fork hook) is sent again."""
JOIN_TIMEOUT_S = 5.0
"""Longest wait for one killed process to be reaped."""


@dataclass
class LavaSession:
    """The process whose runtime the session owns (set it once the Lava graph is built; None before)."""

    process: AbstractProcess | None = None


@contextlib.contextmanager
def lava_session() -> Iterator[LavaSession]:
    """Run Lava inside the block; on any exception stop it by force and release its resources (module doc)."""
    session = LavaSession()
    before = set(multiprocessing.active_children())
    with signals_raise(children="ignore", redeliver_after_s=REDELIVER_S):
        try:
            yield session
            if session.process is not None and session.process.runtime is not None:
                session.process.stop()
        except BaseException:
            with signals_deferred(raise_after=False):
                release(session.process.runtime if session.process is not None else None, before)
            raise


def release(runtime: Runtime | None, before: set[multiprocessing.process.BaseProcess]) -> None:
    """Kill the processes forked since `before` and free the shared memory of `runtime`, whatever its state."""
    infrastructure = getattr(runtime, "_messaging_infrastructure", None)
    lava_manager = getattr(infrastructure, "smm", None)
    manager = getattr(lava_manager, "_manager", None)
    server = getattr(manager, "_process", None)
    forked = [child for child in set(multiprocessing.active_children()) - before if child is not server]
    for child in forked:
        child.kill()
    for child in forked:
        # Lava's SystemProcess.join takes no timeout; a killed process exits at once.
        child.join() if isinstance(child, SystemProcess) else child.join(JOIN_TIMEOUT_S)
    if lava_manager is not None:
        segments = list(lava_manager._shared_memory_handles)
        _shut_down_manager(lava_manager, manager, server)
        for segment in segments:
            _unlink(segment)
    if runtime is not None:
        _detach(runtime)


def _shut_down_manager(lava_manager: Any, manager: Any, server: Any) -> None:
    """Ask the manager's server to unlink its segments and exit; kill it if it never finished starting."""
    if manager is not None and hasattr(manager, "shutdown"):
        with contextlib.suppress(OSError, EOFError):
            lava_manager.shutdown()
    if server is not None and server.is_alive():  # never started, or did not answer within the manager's 1 s
        server.kill()
        server.join(JOIN_TIMEOUT_S)


def _unlink(segment: SharedMemory) -> None:
    """Unlink a segment the manager did not (its server gone); a segment already unlinked is fine."""
    with contextlib.suppress(FileNotFoundError):
        segment.unlink()


def _detach(runtime: Runtime) -> None:
    """Make the killed runtime inert: no Lava process refers to it and its destructor sends nothing."""
    runtime._is_started = runtime._is_running = False
    processes = getattr(getattr(runtime, "_executable", None), "process_list", None) or []
    for process in processes:
        if process.runtime is runtime:
            process.runtime = None
    watchdog = getattr(runtime, "_watchdog_manager", None)
    if watchdog is not None:
        watchdog.stop()
