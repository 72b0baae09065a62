"""Piped into a log, a command writes lines a person can read: no progress-bar redraws."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_training_piped_to_a_file_writes_one_line_per_epoch(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("s5rf-train")
    log = tmp_path / "train.log"
    with log.open("w") as sink:
        done = subprocess.run([str(script), "-o", str(tmp_path / "m.ckpt"), "--epochs", "2"],
                              stdout=sink, stderr=subprocess.STDOUT, timeout=600)
    text = log.read_text()
    assert done.returncode == 0, text
    assert "\r" not in text and "it/s" not in text
    epochs = [line for line in text.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["epoch 1/2", "epoch 2/2"]
    assert len(text.splitlines()) <= 6, text
