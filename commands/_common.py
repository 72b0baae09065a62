"""What every command shares: one-line errors and exit codes, and the checks of common options."""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Callable, NoReturn, Sequence

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


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, `prog: error: message` (exit 2), like every other
    user mistake; `--help` still shows the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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


def random_seed(text: str) -> int:
    """argparse type: a random seed, a whole number in 0..2^32-1 (what NumPy and torch accept)."""
    value = int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be in 0..{2**32 - 1}, got {value}")
    return value


def check_device(parser: argparse.ArgumentParser, name: str, option: str = "--device") -> None:
    """Refuse, as an error of `option`, a torch device this machine cannot run the model on."""
    from s5rf_neuro.distributed import resolve_device

    try:
        resolve_device(name)
    except S5RFError as err:
        parser.error(f"argument {option}: {err}")
