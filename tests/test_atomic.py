"""s5rf_neuro.atomic: a write either replaces the file completely or leaves it as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from s5rf_neuro.atomic import atomic_path, write_text_atomic


def test_atomic_path_renames_the_written_temporary_over_the_target(tmp_path: Path) -> None:
    target = tmp_path / "model.nir"
    target.write_bytes(b"old")
    with atomic_path(target) as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".model.nir.")
        assert temporary.name.endswith(".tmp") and temporary.is_file()
        assert target.read_bytes() == b"old"  # nothing visible until the body finishes
        temporary.write_bytes(b"new content")
    assert target.read_bytes() == b"new content"
    assert os.listdir(tmp_path) == ["model.nir"]


@pytest.mark.parametrize("error", [RuntimeError("writer failed"), KeyboardInterrupt()])
def test_exception_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path, error: BaseException) -> None:
    target = tmp_path / "report.md"
    target.write_text("old report\n")
    with pytest.raises(type(error)):
        with atomic_path(target) as temporary:
            temporary.write_text("half a rep")
            raise error
    assert target.read_text() == "old report\n"
    assert os.listdir(tmp_path) == ["report.md"]


def test_exception_creates_no_target_when_there_was_none(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="bad"):
        with atomic_path(tmp_path / "new.ckpt") as temporary:
            temporary.write_bytes(b"partial")
            raise ValueError("bad")
    assert os.listdir(tmp_path) == []


def test_missing_folder_raises_before_the_body_runs(tmp_path: Path) -> None:
    ran = []
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "absent" / "x.md"):
            ran.append(True)
    assert ran == [] and os.listdir(tmp_path) == []


def test_text_helper_writes_and_overwrites_utf8(tmp_path: Path) -> None:
    target = tmp_path / "results.md"
    write_text_atomic(target, "| λ̄ | 0.97 |\n")
    assert target.read_bytes() == "| λ̄ | 0.97 |\n".encode("utf-8")
    write_text_atomic(str(target), "second\n")
    assert target.read_text(encoding="utf-8") == "second\n"
    assert os.listdir(tmp_path) == ["results.md"]


def test_new_file_gets_the_permissions_of_a_plain_open(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        write_text_atomic(tmp_path / "atomic.md", "a")
        (tmp_path / "plain.md").write_text("a")
    finally:
        os.umask(previous)
    assert (tmp_path / "atomic.md").stat().st_mode & 0o777 == (tmp_path / "plain.md").stat().st_mode & 0o777 == 0o640
