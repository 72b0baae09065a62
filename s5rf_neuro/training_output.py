"""What training writes besides the weights: the output check before any work, and the metrics log.

A run writes two files: the checkpoint and `<checkpoint stem>.metrics.jsonl`,
one JSON object per finished epoch. They are kept consistent: after every
epoch the checkpoint and then the whole log are replaced atomically, one
right after the other, with SIGINT and SIGTERM held back in between
(`s5rf_neuro.interrupts`). Until the first epoch of a run is saved both
files stay as they were, so a run over an existing checkpoint that fails or
is interrupted early leaves the old checkpoint with its own log. Only a kill
that cannot be caught (SIGKILL, power loss) in the instant between the two
renames leaves the new checkpoint beside the previous log.

The log is strict JSON: a non-finite number (a diverged loss) is written as
null, never as NaN or Infinity.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from s5rf_neuro.atomic import create_temporary, write_text_atomic
from s5rf_neuro.errors import S5RFError


def metrics_path(checkpoint_path: str | os.PathLike[str]) -> Path:
    """Where the per-epoch metrics of a checkpoint go: `<stem>.metrics.jsonl` next to it."""
    path = Path(checkpoint_path)
    return path.with_name(path.stem + ".metrics.jsonl")


def check_output(checkpoint_path: str | os.PathLike[str], given_as: str) -> None:
    """Refuse, before any work, a checkpoint path that training could not write.

    given_as: how the user named the path ("-o runs/model.ckpt"), the start of
    the one-line `S5RFError`. Refused: the checkpoint or its metrics log is a
    directory, a folder on the way is a file, or the folder allows no new file.
    Missing folders are fine (training creates them).
    """
    path = Path(checkpoint_path)
    for target, what in ((path, "the checkpoint"), (metrics_path(path), "its metrics log")):
        if target.is_dir():
            raise S5RFError(f"{given_as}: {what} {target} is a directory; give a checkpoint file name such as "
                            f"{target / 'model.ckpt'}")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise S5RFError(f"{given_as}: {folder} is not a directory")
    try:
        create_temporary(path if folder == path.parent else folder / path.name).unlink()
    except OSError as err:
        raise S5RFError(f"{given_as}: cannot create files in {folder}: {err.strerror or err}") from None


def json_line(metrics: Mapping[str, Any]) -> str:
    """One log line: `metrics` as strict JSON (non-finite numbers as null), newline-terminated."""
    return json.dumps(_finite_or_none(metrics), allow_nan=False) + "\n"


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(item) for item in value]
    return value


def earlier_lines(log: Path, epochs_done: int) -> list[str]:
    """The lines of `log` for epochs 1..`epochs_done` (those a resumed checkpoint holds); none for a fresh run."""
    kept: list[str] = []
    if epochs_done and log.is_file():
        for line in log.read_text().splitlines():
            try:
                epoch = json.loads(line).get("epoch", 0)
            except (ValueError, AttributeError):
                continue  # a line of an older version, cut short by an interruption
            if isinstance(epoch, int) and epoch <= epochs_done:
                kept.append(line + "\n")
    return kept


def write_log(log: Path, lines: Sequence[str]) -> None:
    """Replace `log` with `lines` atomically."""
    write_text_atomic(log, "".join(lines))
