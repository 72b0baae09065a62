"""Training on an accelerator: the GPU test and its CPU twin run the same steps."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from s5rf_neuro.checkpoint import load_checkpoint
from s5rf_neuro.commands.train import main as train_main
from s5rf_neuro.data.registry import load_split
from s5rf_neuro.training import evaluate

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=[pytest.mark.gpu,
                                pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]),
]


@pytest.mark.parametrize("device", DEVICES)
def test_train_on_device_writes_a_cpu_loadable_checkpoint(device: str, tmp_path: Path) -> None:
    out = tmp_path / "model.ckpt"
    argv = ["-o", str(out), "--device", device, "--epochs", "3", "--no-progress"]
    assert train_main(argv) == 0
    checkpoint = load_checkpoint(out)
    assert all(t.device.type == "cpu" for t in checkpoint.state_dict.values())
    assert checkpoint.extra["epoch"] == 3
    model = checkpoint.build_model()
    test = load_split(checkpoint.dataset.source, "test")
    accuracy, spikes = evaluate(model, test)
    assert accuracy == pytest.approx(checkpoint.metrics["test_accuracy"], abs=0.01)
    assert accuracy > 0.3, "three epochs on digits should learn something"
    assert len(spikes) == 2
