"""The rooms import one way (docs/design.md §1): s5rf_neuro -> export -> hardware, commands on top."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# room folder -> imports it must never make (module prefixes)
FORBIDDEN = {
    "s5rf_neuro": ("s5rf_neuro.hardware", "s5rf_neuro.export", "s5rf_neuro.commands", "lava"),
    "hardware": ("torch", "s5rf_neuro.export", "s5rf_neuro.commands", "s5rf_neuro.model",
                 "s5rf_neuro.layer", "s5rf_neuro.training", "s5rf_neuro.data", "s5rf_neuro.qat"),
    "export": ("s5rf_neuro.commands",),
}


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name `path` imports, at any depth of the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_room_imports_follow_the_data_flow(room: str) -> None:
    violations = []
    for path in sorted((ROOT / room).rglob("*.py")):
        for module in imported_modules(path):
            for prefix in FORBIDDEN[room]:
                if module == prefix or module.startswith(prefix + "."):
                    violations.append(f"{path.relative_to(ROOT)} imports {module}")
    assert violations == []


LEAVES = ("s5rf_neuro.errors", "s5rf_neuro.atomic", "s5rf_neuro.records", "s5rf_neuro.terminal", "s5rf_neuro.interrupts")
"""Dependency-free modules of the model package that every room may import."""


def test_hardware_takes_only_the_leaves_from_the_model_package() -> None:
    outside = sorted(
        f"{path.relative_to(ROOT)} imports {module}"
        for path in (ROOT / "hardware").rglob("*.py")
        for module in imported_modules(path)
        if module.startswith("s5rf_neuro") and not module.startswith("s5rf_neuro.hardware") and module not in LEAVES
    )
    assert outside == []


@pytest.mark.parametrize("leaf", LEAVES)
def test_leaves_import_only_the_standard_library_and_each_other(leaf: str) -> None:
    path = ROOT / "s5rf_neuro" / (leaf.split(".")[-1] + ".py")
    third_party = {m for m in imported_modules(path) if m.split(".")[0] not in sys.stdlib_module_names}
    assert third_party <= set(LEAVES)


def test_hardware_and_errors_load_without_torch() -> None:
    code = (
        "import sys, s5rf_neuro.hardware.golden, s5rf_neuro.hardware.mapping, s5rf_neuro.hardware.counters; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.strip() == "False"


def test_all_rooms_import_from_any_directory(tmp_path: Path) -> None:
    code = "import s5rf_neuro, s5rf_neuro.export, s5rf_neuro.hardware, s5rf_neuro.commands, s5rf_neuro.data"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
