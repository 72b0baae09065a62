"""SIGINT and SIGTERM as an exception, so that interrupted work cleans up before the process exits.

Python turns SIGINT into `KeyboardInterrupt` but lets SIGTERM kill the
process on the spot: no `finally`, no removal of temporary files, no stop of
worker processes. Inside `signals_raise()` both signals raise `Interrupted`
(a `KeyboardInterrupt`, so every existing cleanup for Ctrl-C runs) in the
process that entered the block; the command exits 128 + the signal number,
as a shell reports a process killed by it (130 for SIGINT, 143 for SIGTERM).

A process forked inside the block inherits the handlers. By default a child
reacts as it would have without them (the previous handler, or the
signal's default action); `children="ignore"` makes forked children ignore
both signals, for workers whose parent stops them itself (Lava's runtime
processes, `hardware/lava_session.py`). `signals_deferred()` holds signals
back while cleanup must finish, and re-raises the first one afterwards.

Standard library only, like `s5rf_neuro.errors`, so every room may import it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any, Callable, Iterator, Literal

HANDLED = (signal.SIGINT, signal.SIGTERM)
"""The signals that become `Interrupted`."""

REDELIVERY_S = 0.01
"""Delay (s) before a dropped interruption's signal is delivered again (out of the code that dropped it)."""

Handler = Callable[[int, "FrameType | None"], Any] | int | None


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; `exit_code` is 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        """The exit status a shell gives a process this signal ended: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signum

    @property
    def name(self) -> str:
        """"SIGINT" or "SIGTERM"."""
        return signal.Signals(self.signum).name


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """The exit status for an interruption: `Interrupted.exit_code`, 130 for a plain KeyboardInterrupt."""
    return interrupt.exit_code if isinstance(interrupt, Interrupted) else 128 + signal.SIGINT


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _as_previous(signum: int, previous: Handler, frame: FrameType | None) -> None:
    """React to `signum` in a forked child as if `previous` were still installed."""
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


@contextlib.contextmanager
def signals_raise(children: Literal["default", "ignore"] = "default",
                  redeliver_after_s: float | None = None) -> Iterator[None]:
    """Within the block SIGINT and SIGTERM raise `Interrupted` in this process; handlers restored after.

    children: what a process forked inside the block does on these signals:
    "default" (as without this block) or "ignore" (its parent stops it).
    Python drops an exception raised where it cannot propagate (a weakref
    callback, a destructor, a fork hook: "Exception ignored in ..."), and the
    interruption with it: such a dropped `Interrupted` is not reported, and,
    unless an earlier one is already unwinding the block, its signal is
    delivered again a moment later (`REDELIVERY_S`), to raise where it can
    propagate.
    redeliver_after_s: with a number, the signal is instead sent again every
    that many seconds until the block ends (for drops Python does not report,
    and so that work the drop interrupted, such as recording a forked
    process, can finish first); the block's own exception handling must hold
    it back (`signals_deferred`) while it cleans up.
    Outside the main thread signals cannot be handled and the block changes nothing.
    """
    if not _in_main_thread():
        yield
        return
    owner = os.getpid()
    previous = {signum: signal.getsignal(signum) for signum in HANDLED}
    lock = threading.RLock()  # the handler may run while this thread holds it
    timers: list[threading.Timer] = []
    active = [True]
    raised, dropped = [0], [0]  # Interrupted raised by the handler, and dropped where it could not propagate

    def redeliver(signum: int) -> None:
        with lock:
            if active[0]:
                os.kill(owner, signum)

    def handler(signum: int, frame: FrameType | None) -> None:
        if os.getpid() != owner:
            if children == "default":
                _as_previous(signum, previous[signum], frame)
            return
        if redeliver_after_s is not None:
            with lock:
                if active[0]:
                    timer = threading.Timer(redeliver_after_s, redeliver, (signum,))
                    timer.daemon = True
                    timers.append(timer)
                    timer.start()
        raised[0] += 1
        raise Interrupted(signum)

    previous_hook = sys.unraisablehook

    def unraisable(event: Any) -> None:
        if not isinstance(event.exc_value, Interrupted):
            previous_hook(event)
            return
        dropped[0] += 1
        with lock:  # every one raised was dropped (none is unwinding): deliver it again, from a thread, once out of here
            if active[0] and os.getpid() == owner and dropped[0] == raised[0] and redeliver_after_s is None:
                timer = threading.Timer(REDELIVERY_S, redeliver, (event.exc_value.signum,))
                timer.daemon = True
                timers.append(timer)
                timer.start()

    try:
        sys.unraisablehook = unraisable
        for signum in HANDLED:
            signal.signal(signum, handler)
        yield
    finally:
        with lock:
            active[0] = False
            for timer in timers:
                timer.cancel()
        for signum, old in previous.items():
            signal.signal(signum, old)
        sys.unraisablehook = previous_hook


@contextlib.contextmanager
def signals_deferred(raise_after: bool = True) -> Iterator[None]:
    """Hold SIGINT and SIGTERM back during the block; then raise `Interrupted` for the first one that came.

    For cleanup that must not be cut short. The block must end on its own
    (bounded waits only): a signal cannot stop it. Forked children ignore the
    signals while the block runs. `raise_after=False` drops the held signals,
    for cleanup that runs because of an interruption already on its way.
    """
    if not _in_main_thread():
        yield
        return
    owner = os.getpid()
    received: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in HANDLED}

    def handler(signum: int, frame: FrameType | None) -> None:
        if os.getpid() == owner:
            received.append(signum)

    for signum in HANDLED:
        signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
    if received and raise_after:
        raise Interrupted(received[0])
