"""What every command shares: one-line errors and exit codes."""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Callable, Sequence

from s5rf_neuro.errors import S5RFError
from s5rf_neuro.interrupts import Interrupted, exit_code, signals_raise

EXIT_USER_ERROR = 2


def cli_entry(prog: str) -> Callable[[Callable[[Sequence[str] | None], int]], Callable[[Sequence[str] | None], int]]:
    """Wrap a command's `main(argv) -> exit code` so user mistakes print one line.

    `S5RFError` and `OSError` (a file that cannot be read or written) become
    `prog: error: message` on stderr and exit code 2. SIGINT (Ctrl-C) and
    SIGTERM unwind the command like an exception, so its cleanup runs, then
    print `prog: interrupted (SIGINT)` and exit 130, or 143 for SIGTERM
    (`s5rf_neuro.interrupts`). Anything else is a bug and keeps its traceback.
    """

    def wrap(main: Callable[[Sequence[str] | None], int]) -> Callable[[Sequence[str] | None], int]:
        @functools.wraps(main)
        def run(argv: Sequence[str] | None = None) -> int:
            try:
                with signals_raise():
                    code = main(argv)
            except S5RFError as err:
                print(f"{prog}: error: {err}", file=sys.stderr)
                code = EXIT_USER_ERROR
            except OSError as err:
                where = f"{err.filename}: " if err.filename else ""
                print(f"{prog}: error: {where}{err.strerror or err}", file=sys.stderr)
                code = EXIT_USER_ERROR
            except KeyboardInterrupt as interrupt:
                name = interrupt.name if isinstance(interrupt, Interrupted) else "SIGINT"
                print(f"{prog}: interrupted ({name})", file=sys.stderr)
                code = exit_code(interrupt)
            return code

        return run

    return wrap


def positive_int(text: str) -> int:
    """argparse type: a whole number ≥ 1 (argparse names the option in its error)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: a whole number ≥ 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value
