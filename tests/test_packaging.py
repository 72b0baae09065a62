"""A normal (non-editable) `pip install .` carries every room under the one name `s5rf_neuro`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_regular_install_imports_every_room(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout and reuses no stale build/
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", "runs", "notebooks"))
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(source)],
        check=True, capture_output=True, cwd=tmp_path,
    )
    code = (
        "import s5rf_neuro, s5rf_neuro.export.nir_io, s5rf_neuro.hardware.golden, s5rf_neuro.commands.export, "
        "s5rf_neuro.data.digits, s5rf_neuro.hardware.energy as energy; "
        "print(s5rf_neuro.__file__); print(sorted(energy.available_profiles()))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
                          env=env)
    installed_at, profiles = done.stdout.splitlines()
    assert Path(installed_at).is_relative_to(target)
    assert "loihi1" in profiles and "horowitz45nm" in profiles
    assert (target / "bin" / "s5rf-export").exists()
