"""Runs fuzz cases through the commands' `main(argv)` in this one process and writes what happened.

    python tests/fuzz_driver.py CASES.json RESULTS.json

CASES.json: {"root": DIR, "timeout_s": S, "cases": [{"name", "command", "argv", "env"}]}; every case runs
with DIR as its working directory, `env` set on top of the environment (a value of null removes the
variable), and an alarm of S seconds. RESULTS.json: per case the exit code ("traceback" for an exception
that escaped `main`, "hang" for the alarm), stderr, the traceback text, and the files under DIR whose
content changed or that disappeared.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import json
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

COMMANDS = {
    "s5rf-train": "s5rf_neuro.commands.train",
    "s5rf-eval": "s5rf_neuro.commands.evaluate",
    "s5rf-export": "s5rf_neuro.commands.export",
    "s5rf-run": "s5rf_neuro.commands.run",
    "s5rf-report": "s5rf_neuro.commands.report",
    "s5rf-import": "s5rf_neuro.commands.import_reference",
    "s5rf-data": "s5rf_neuro.commands.data",
}


class Hang(BaseException):
    """Raised by the alarm: the case ran past its time."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang()


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`, by path relative to it."""
    digests = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            digests[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def run_case(case: dict[str, Any], root: Path, timeout_s: int) -> dict[str, Any]:
    """Run one case; its result record (see module doc)."""
    main = importlib.import_module(COMMANDS[case["command"]]).main
    before = snapshot(root)
    saved = {key: os.environ.get(key) for key in case.get("env", {})}
    for key, value in case.get("env", {}).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    stdout, stderr = io.StringIO(), io.StringIO()
    code: Any = None
    trace = ""
    signal.alarm(timeout_s)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(case["argv"])
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except Hang:
        code = "hang"
    except BaseException:
        code, trace = "traceback", traceback.format_exc()
    finally:
        signal.alarm(0)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    after = snapshot(root)
    changed = sorted(path for path, digest in before.items() if after.get(path) != digest)
    return {"name": case["name"], "code": code, "stderr": stderr.getvalue(), "trace": trace, "changed": changed}


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    root = Path(spec["root"])
    os.chdir(root)
    signal.signal(signal.SIGALRM, _alarm)
    results = [run_case(case, root, int(spec["timeout_s"])) for case in spec["cases"]]
    Path(sys.argv[2]).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
