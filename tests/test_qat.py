"""Quantisation-aware training: the straight-through fake quantisers, the training hook."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from s5rf_neuro.checkpoint import load_checkpoint
from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.data.info import DatasetInfo
from s5rf_neuro.data.registry import load_split
from s5rf_neuro.errors import ConfigError, TargetError
from s5rf_neuro.export.discretise import discretise
from s5rf_neuro.export.quantise import quantise
from s5rf_neuro.grids import weight_exponent
from s5rf_neuro.hardware.target import LOIHI2
from s5rf_neuro.model import S5RFClassifier
from s5rf_neuro.qat import (
    QATFormat,
    fake_quantise_weight,
    param_transform,
    quantised_model,
    quantised_parameters,
)
from s5rf_neuro.training import Recipe, train


def test_fake_quantisers_pass_gradients_straight_through() -> None:
    weight = torch.randn(5, 7, dtype=torch.float64, requires_grad=True)
    quantised = fake_quantise_weight(weight, 4)
    quantised.backward(torch.arange(35.0, dtype=torch.float64).reshape(5, 7))
    assert torch.equal(weight.grad, torch.arange(35.0, dtype=torch.float64).reshape(5, 7))
    step = 2.0 ** weight_exponent(float(weight.abs().max()), 4)
    assert torch.equal(quantised / step, torch.round(quantised / step))


def test_format_validation() -> None:
    assert QATFormat.from_dict(QATFormat(6, 10, "x").to_dict()) == QATFormat(6, 10, "x")
    with pytest.raises(ConfigError, match="weight_bits"):
        QATFormat(weight_bits=1)
    with pytest.raises(ConfigError, match="weight_bits must be in 2..8"):
        QATFormat(weight_bits=9)
    with pytest.raises(ConfigError, match="QAT format: unknown field 'bits' \\(fields: weight_bits, decay_bits, target\\)"):
        QATFormat.from_dict({"bits": 3})


@pytest.mark.parametrize("discretization, keep_imag", [("dirac", True), ("dirac", False), ("bilinear", True)])
def test_grid_model_quantises_to_the_same_integers(discretization: str, keep_imag: bool) -> None:
    """Moving the parameters onto the QAT grid changes nothing the integer quantiser produces."""
    torch.manual_seed(1)
    model = S5RFClassifier(S5RFConfig(input_dim=6, output_dim=3, num_layers=3, num_neurons=8,
                                      discretization=discretization, keep_imag=keep_imag))
    fmt = QATFormat(LOIHI2.weight_bits, LOIHI2.decay_bits)
    metadata = {"dataset": DatasetInfo("toy", "", 20, 6, ("a", "b", "c"), None).to_dict()}
    original, _ = quantise(discretise(model, metadata), LOIHI2)
    projected = quantised_model(model, fmt)
    on_grid, _ = quantise(discretise(projected, metadata), LOIHI2)
    for a, b in zip(original.layers, on_grid.layers):
        for field in ("decay_re", "decay_im", "weight_re", "weight_im"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
        assert (a.weight_exp_re, a.weight_exp_im) == (b.weight_exp_re, b.weight_exp_im)
    np.testing.assert_array_equal(original.readout.weight, on_grid.readout.weight)
    np.testing.assert_array_equal(original.readout.decay, on_grid.readout.decay)
    # the transform only moves values: the projected model is a fixed point
    again = quantised_parameters(projected, fmt)
    params = dict(projected.named_parameters())
    for name, value in again.items():
        torch.testing.assert_close(value, params[name], rtol=1e-5, atol=1e-6)


def _nll(model: S5RFClassifier, inputs: np.ndarray, labels: np.ndarray) -> float:
    with torch.no_grad():
        log_probs = model.eval()(torch.from_numpy(inputs).float())
    return float(torch.nn.functional.nll_loss(log_probs, torch.from_numpy(labels)))


def test_a_few_qat_steps_reduce_the_quantised_loss_and_record_the_format(digits_checkpoint, tmp_path) -> None:
    checkpoint = load_checkpoint(digits_checkpoint)
    train_data = load_split(checkpoint.dataset.source, "train").subset(slice(0, 256))
    fmt = QATFormat(weight_bits=3, decay_bits=8, target="test-3bit")
    model = checkpoint.build_model()
    before = _nll(quantised_model(model, fmt), train_data.inputs, train_data.labels)
    recipe = Recipe(epochs=2, batch_size=32, lr=0.002, lr_ssm=0.001, seed=0)
    out = tmp_path / "qat.ckpt"
    train(model, train_data, train_data.subset(slice(0, 64)), recipe, out, checkpoint.dataset,
          param_transform=param_transform(S5RFClassifier(checkpoint.config), fmt), extra={"qat": fmt.to_dict()},
          progress=False)
    after = _nll(quantised_model(model, fmt), train_data.inputs, train_data.labels)
    assert after < before
    saved = load_checkpoint(out)
    assert QATFormat.from_dict(saved.extra["qat"]) == fmt
    assert dataclasses.asdict(saved.config) == dataclasses.asdict(checkpoint.config)


def test_train_command_fine_tunes_with_qat_and_records_the_format(digits_checkpoint, tmp_path, capsys) -> None:
    import subprocess
    import sys
    from pathlib import Path

    from s5rf_neuro.commands.train import main

    out = tmp_path / "qat.ckpt"
    script = Path(sys.executable).with_name("s5rf-train")
    done = subprocess.run(
        [str(script), "--qat", "loihi2", "--resume", str(digits_checkpoint), "-o", str(out), "--epochs", "1",
         "--no-progress", "--threads", "1"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    saved = load_checkpoint(out)
    assert saved.extra["qat"] == {"weight_bits": 8, "decay_bits": 12, "target": "loihi2"}
    assert saved.extra["epoch"] == 1 and saved.extra["recipe"]["lr"] < load_checkpoint(digits_checkpoint).extra["recipe"]["lr"]
    # a QAT checkpoint resumes as one run: its epoch count and optimiser state continue
    assert main(["--qat", "loihi2", "--resume", str(out), "--epochs", "2", "--no-progress"]) == 0
    assert load_checkpoint(out).extra["epoch"] == 2
    capsys.readouterr()
    assert main(["--qat", "loihi9", "--resume", str(out)]) == 2
    assert "unknown target 'loihi9'; known targets: float, loihi2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--qat", "loihi2"])
    assert "argument --qat: needs --resume" in capsys.readouterr().err


def test_qat_and_the_target_allow_the_same_weight_bits() -> None:
    def allowed(build) -> bool:
        try:
            build()
        except (ConfigError, TargetError):
            return False
        return True

    for bits in range(0, 12):
        assert allowed(lambda: QATFormat(weight_bits=bits)) == allowed(lambda: LOIHI2.with_weight_bits(bits)), bits
