"""The export directory: refuse to overwrite an export, stage a complete new one, publish it in one step.

An export directory holds `model.nir` and `export.json` and nothing else, and
is replaced as a whole (docs/design.md §6). The files are written into a
hidden staging directory next to it (`.{name}.{pid}.{random}.partial`);
only when the whole export is valid does `commit` give the staging
directory the export's name (`s5rf_neuro.atomic.publish_directory`: an
atomic exchange with the old export), so a reader finds the old export
unchanged or the complete new one, never files of two exports. A failed or
interrupted export removes its staging directory (`discard`); one left by a
killed process is removed by the next export to the same path.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from s5rf_neuro.atomic import create_staging_directory, publish_directory, remove_stale_staging
from s5rf_neuro.errors import S5RFError
from s5rf_neuro.records import plain_json

EXPORT_FILES = ("model.nir", "export.json")
"""The files an export directory holds."""
STAGING_SUFFIX = ".partial"


class ExportDir:
    """An export being written: `stage_path` names files in the staging directory, `commit` publishes them."""

    def __init__(self, path: Path, force: bool) -> None:
        """Check `path` (the -o directory) before any work; an existing export there needs `force`.

        Refused in one line, with nothing changed: a path that is not a
        directory, an export without `force`, and a directory that holds
        anything but an export's files (an export replaces its directory).
        """
        self.path = path
        self._target = Path(os.path.realpath(path))
        if path.exists() and not path.is_dir():
            raise S5RFError(f"{path}: output path exists and is not a directory")
        if path.is_dir():
            self._check_existing(force)
        self._created_parents: list[Path] = []
        self._staging: Path | None = None
        self._published = False

    def _check_existing(self, force: bool) -> None:
        entries = sorted(entry.name for entry in self.path.iterdir())
        for name in EXPORT_FILES:
            if (self.path / name).exists() and not (self.path / name).is_file():
                raise S5RFError(f"{self.path / name}: is not a file, so {self.path} is not an export; remove it or "
                                "choose another -o directory")
        foreign = [name for name in entries if name not in EXPORT_FILES]
        if foreign:
            raise S5RFError(
                f"{self.path}: holds {', '.join(foreign[:5])}{' …' if len(foreign) > 5 else ''}, which is not part "
                f"of an export (an export directory holds only {' and '.join(EXPORT_FILES)} and is replaced as a "
                "whole); remove it or choose another -o directory"
            )
        if entries and not force:
            raise S5RFError(f"{self.path}: already holds an export ({', '.join(entries)}); use --force to replace it")

    def stage_path(self, name: str) -> Path:
        """The path of `name` in the staging directory (not created: the writer creates it).

        The first call creates the staging directory (and missing folders above the export).
        """
        if name not in EXPORT_FILES or self._published:
            raise ValueError(f"{name!r} is not an export file or the export is already published")
        if self._staging is None:
            self._created_parents = _missing_parents(self._target)
            self._target.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_staging(self._target, STAGING_SUFFIX)
            self._staging = create_staging_directory(self._target, STAGING_SUFFIX)
        return self._staging / name

    def stage_json(self, name: str, content: dict[str, Any]) -> Path:
        """Stage `content` as indented JSON under `name` (numpy scalars and arrays become plain values)."""
        path = self.stage_path(name)
        path.write_text(json.dumps(content, indent=2, default=plain_json) + "\n")
        return path

    def commit(self) -> list[Path]:
        """Publish the staged files as the export directory in one step; returns their final paths."""
        if self._staging is None:
            raise ValueError("nothing staged, or the export is already published")
        missing = [name for name in EXPORT_FILES if not (self._staging / name).is_file()]
        if missing:
            raise ValueError(f"cannot publish an export without {', '.join(missing)}")
        publish_directory(self._staging, self._target)
        self._staging, self._published = None, True
        return [self.path / name for name in EXPORT_FILES]

    def discard(self) -> None:
        """Remove the staging directory, and the parent folders this export created, unless published."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        if self._published:
            return
        for folder in self._created_parents:
            try:
                folder.rmdir()
            except OSError:
                break


def _missing_parents(target: Path) -> list[Path]:
    """The folders above `target` that do not exist yet, deepest first."""
    missing = []
    for folder in target.parents:
        if folder.exists():
            break
        missing.append(folder)
    return missing
