"""Atomic file writes: write a temporary file next to the target, then rename it over the target.

A reader sees either the old file or the complete new one, never a partial
write: `os.replace` within one file system is atomic, which is why the
temporary file sits in the target's own folder. If the writing fails (any
exception, KeyboardInterrupt included), the temporary file is removed and the
target is left as it was.

This module depends on the standard library only, like `s5rf_neuro.errors`,
so every room (model, export, hardware, commands, bench scripts) may import it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path
from typing import Iterator

_NAME_ATTEMPTS = 100
"""Random temporary names tried before giving up (a clash needs a 32-bit collision)."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in `path`'s folder; rename it over `path` on success, remove it on an exception.

    The temporary file exists, empty, when the body starts: the body writes it
    by name (reopen it, or pass the name to a writer such as `torch.save`,
    `h5py.File(name, "w")` or `nir.write`). Its name is hidden and ends in
    ".tmp" (`.{target name}.{random}.tmp`), so a writer that infers the format
    from the file name, such as matplotlib's `savefig`, must be given the
    format explicitly. The file gets the permissions a plain `open(path, "w")`
    gives a new file (0o666 less the umask).

    The folder must exist: FileNotFoundError otherwise, before the body runs.
    """
    target = Path(path)
    temporary = create_temporary(target)
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` as UTF-8, atomically (see `atomic_path`)."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def create_temporary(target: Path) -> Path:
    """Create an empty file with an unused hidden name next to `target`, and return its path.

    The name is `.{target name}.{random}.tmp`; the permissions are those of a plain new file.
    """
    for _ in range(_NAME_ATTEMPTS):
        candidate = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            # Mode 0o666 lets the umask decide, as for any new file (tempfile.mkstemp would force 0o600).
            descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(descriptor)
        return candidate
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", str(target.parent))
