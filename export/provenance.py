"""What an export records about where it came from: software versions and file digests."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from pathlib import Path

SOFTWARE = ("s5rf-neuro", "torch", "nir", "lava-nc", "numpy")
"""Packages whose versions an export records."""


def software_versions() -> dict[str, str | None]:
    """Installed versions of the packages in `SOFTWARE` (None when absent), and Python's."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in SOFTWARE:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def file_digest(path: Path) -> str:
    """SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
