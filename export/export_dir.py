"""The export directory: refuse to overwrite an export, stage files, publish them by rename.

Files are written under temporary names inside the directory and renamed to
their final names only when the whole export is valid (`commit`); a failed or
interrupted export removes its temporary files (`discard`), and a directory
it created, so no half-written or mismatched file is ever left behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from s5rf_neuro.atomic import create_temporary
from s5rf_neuro.errors import S5RFError
from s5rf_neuro.records import plain_json

EXPORT_FILES = ("model.nir", "export.json")
"""The files an export directory holds."""


class ExportDir:
    """A directory being written: `stage_path` names temporary files, `commit` renames them."""

    def __init__(self, path: Path, force: bool) -> None:
        """Check `path` and create it if needed; an existing export there needs `force`."""
        self.path = path
        if path.exists() and not path.is_dir():
            raise S5RFError(f"{path}: output path exists and is not a directory")
        present = [name for name in EXPORT_FILES if (path / name).exists()]
        if present and not force:
            raise S5RFError(f"{path}: already holds an export ({', '.join(present)}); use --force to replace it")
        self.created = not path.exists()
        path.mkdir(parents=True, exist_ok=True)
        self._staged: dict[str, Path] = {}

    def stage_path(self, name: str) -> Path:
        """A fresh temporary path in the directory that `commit` will rename to `name`."""
        self._staged[name] = create_temporary(self.path / name)
        return self._staged[name]

    def stage_json(self, name: str, content: dict[str, Any]) -> Path:
        """Stage `content` as indented JSON under `name` (numpy scalars and arrays become plain values)."""
        path = self.stage_path(name)
        path.write_text(json.dumps(content, indent=2, default=plain_json) + "\n")
        return path

    def commit(self) -> list[Path]:
        """Rename every staged file to its final name; returns the final paths."""
        final = []
        for name, temporary in self._staged.items():
            os.replace(temporary, self.path / name)
            final.append(self.path / name)
        self._staged.clear()
        return final

    def discard(self) -> None:
        """Remove staged files, and the directory when this export created it and it is empty."""
        for temporary in self._staged.values():
            temporary.unlink(missing_ok=True)
        self._staged.clear()
        if self.created and self.path.is_dir() and not any(self.path.iterdir()):
            self.path.rmdir()
