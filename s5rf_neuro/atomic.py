"""Atomic writes: write a temporary file (or directory) next to the target, then rename it over the target.

A reader sees either the old file or the complete new one, never a partial
write: `os.replace` within one file system is atomic, which is why the
temporary file sits in the target's own folder. If the writing fails (any
exception, KeyboardInterrupt included), the temporary file is removed and the
target is left as it was.

A set of files that belong together lives in one directory, published as a
whole by `publish_directory`: a complete directory staged next to the target
takes the target's name in one step (an atomic exchange of the two names
where the file system offers one), so a reader sees the old set or the new
one, never a mix.

This module depends on the standard library only, like `s5rf_neuro.errors`,
so every room (model, export, hardware, commands, bench scripts) may import it.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import shutil
from pathlib import Path
from typing import Iterator

_NAME_ATTEMPTS = 100
"""Random temporary names tried before giving up (a clash needs a 32-bit collision)."""
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
"""renameat2(2): paths relative to the working directory; swap the two names atomically."""


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
    An OSError about the temporary file (creating it, renaming it: the
    target is a directory) names the target instead: the temporary name is
    internal and never reaches a user.
    """
    target = Path(path)
    temporary = create_temporary(target)
    try:
        yield temporary
        with _naming(target, temporary):
            os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _naming(target: Path, temporary: Path) -> Iterator[None]:
    """Re-raise an OSError that names `temporary` as the same error naming `target`."""
    try:
        yield
    except OSError as err:
        if err.filename is not None and Path(os.fsdecode(err.filename)) == temporary:
            raise type(err)(err.errno, err.strerror, str(target)) from None
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
            with _naming(target, candidate):
                descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(descriptor)
        return candidate
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", str(target.parent))


def create_staging_directory(target: Path, suffix: str) -> Path:
    """Create an empty directory `.{target name}.{pid}.{random}{suffix}` next to `target` and return it.

    Its permissions are those of a plain new directory (0o777 less the umask);
    the process id in the name lets `remove_stale_staging` tell abandoned ones apart.
    """
    for _ in range(_NAME_ATTEMPTS):
        candidate = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}{suffix}")
        try:
            os.mkdir(candidate, 0o777)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(errno.EEXIST, "no unused staging directory name", str(target.parent))


def remove_stale_staging(target: Path, suffix: str) -> None:
    """Remove the staging directories of `target` (see `create_staging_directory`) whose process has ended.

    A process killed outright (SIGKILL, power loss) cannot remove its own; a
    live process's directory is left alone.
    """
    for candidate in target.parent.glob(f".{target.name}.*{suffix}"):
        pid = candidate.name[len(target.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(candidate, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def publish_directory(staged: Path, target: Path) -> None:
    """Give the complete directory `staged` the name `target` in one step, and remove the directory it replaces.

    `staged` and `target` share a folder. A missing `target` is created by one
    rename. An existing `target` directory is exchanged with `staged`
    atomically (renameat2 with RENAME_EXCHANGE: Linux, on ext4, XFS, Btrfs,
    tmpfs and most local file systems), so its name never points at a mix or
    at nothing; then the old directory, now under the staging name, is
    removed. Where the exchange is not available, `target` is first renamed
    aside: a process killed between the two renames leaves no `target`, and
    the old directory under the aside name.
    """
    if not target.exists():
        os.rename(staged, target)
        return
    if not _exchange(staged, target):
        aside = create_staging_directory(target, ".old")
        os.rename(target, aside / target.name)
        os.rename(staged, target)
        staged = aside
    shutil.rmtree(staged)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically; False where the system or file system cannot."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))
