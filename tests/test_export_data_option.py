"""s5rf-export and s5rf-report on an imported checkpoint (which records no data set) with --data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from s5rf_neuro.checkpoint import load_checkpoint
from s5rf_neuro.commands.export import main as export_main
from s5rf_neuro.commands.import_reference import main as import_main
from s5rf_neuro.commands.report import main as report_main

SAMPLES = 40


def reference_npz(checkpoint: Path, path: Path) -> Path:
    """The trained model's parameters in the reference `.npz` layout (complex numbers as [re, im])."""
    model = load_checkpoint(checkpoint).build_model()
    params = {}
    for i, layer in enumerate(model.layers):
        params[f"dense_layers.{i}.B"] = layer.input_weight_ri.detach().numpy()
        params[f"neuron_layers.{i}.Lambda"] = layer.lambda_param.detach().numpy()
        params[f"neuron_layers.{i}.log_step"] = layer.log_step.detach().numpy()[:, None]
    weight = model.readout_weight.detach().numpy()
    params["output_dense.B"] = np.stack([weight, np.zeros_like(weight)], axis=-1)
    params["li.tau"] = model.readout_logit.detach().numpy()
    np.savez(path, **params)
    return path


@pytest.fixture(scope="module")
def imported(digits_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's trained digits model, exported to the reference layout and imported back."""
    work = tmp_path_factory.mktemp("imported")
    config = work / "config.json"
    config.write_text(json.dumps(load_checkpoint(digits_checkpoint).config.to_dict()))
    out = work / "imported.ckpt"
    assert import_main([str(reference_npz(digits_checkpoint, work / "params.npz")), "--config", str(config),
                        "-o", str(out)]) == 0
    return out


def exported_accuracy(capsys, argv: list[str]) -> tuple[dict, str]:
    capsys.readouterr()
    assert export_main(argv) == 0
    printed = capsys.readouterr().out
    out = Path(argv[argv.index("-o") + 1])
    return json.loads((out / "export.json").read_text())["accuracy"], printed


def test_export_measures_an_imported_model_on_the_given_data(digits_checkpoint, imported, tmp_path, capsys):
    accuracy, printed = exported_accuracy(capsys, [str(imported), "--target", "float", "-o", str(tmp_path / "plain")])
    assert not accuracy["available"] and "accuracy: not measured (the checkpoint records no data source)" in printed

    common = ["--target", "loihi2", "--test-samples", str(SAMPLES), "--calibrate", "32"]
    accuracy, printed = exported_accuracy(capsys, [str(imported), *common, "--data", "digits",
                                                   "-o", str(tmp_path / "given")])
    original, _ = exported_accuracy(capsys, [str(digits_checkpoint), *common, "-o", str(tmp_path / "original")])
    assert accuracy["available"] and accuracy["dataset"] == "digits" and accuracy["samples"] == SAMPLES
    assert f"accuracy on digits test ({SAMPLES} samples)" in printed
    assert json.loads((tmp_path / "given" / "export.json").read_text())["calibration_samples"] == 32
    # The imported model is the trained one: the same float and integer accuracy as its own checkpoint's export
    # (calibrated on the same training samples).
    assert accuracy["float"] == original["float"] > 0.5 and accuracy["integer"] == original["integer"]


def last_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return err.splitlines()[-1]


def test_export_data_options_bad_input(imported, digits_checkpoint, tmp_path, capsys):
    out = tmp_path / "out"
    assert export_main([str(imported), "--data", "sdigits", "--test-samples", "5", "-o", str(out)]) == 2
    err = last_error_line(capsys)
    assert err.startswith("s5rf-export: error: ") and "takes inputs of shape (samples, any, 32)" in err
    assert not out.exists()
    with pytest.raises(SystemExit) as exc:
        export_main([str(imported), "--data", "shd", "-o", str(out)])
    assert exc.value.code == 2 and last_error_line(capsys) == \
        "s5rf-export: error: argument --data-dir: required for --data shd (see s5rf-export --help)"
    with pytest.raises(SystemExit):
        export_main([str(digits_checkpoint), "--data-dir", str(tmp_path), "-o", str(out)])
    assert last_error_line(capsys) == \
        "s5rf-export: error: argument --data-dir: the recorded data set (digits) has no data directory (see s5rf-export --help)"
    assert not out.exists()


def test_report_of_an_imported_model_with_data(imported, tmp_path, capsys):
    assert report_main([str(imported), "-o", str(tmp_path / "none"), "--samples", "10", "--no-progress"]) == 2
    assert "no data set is recorded in the file; give one with --data" in last_error_line(capsys)
    assert report_main([str(imported), "-o", str(tmp_path / "report"), "--data", "digits", "--samples", "20",
                        "--no-progress"]) == 0
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["dataset"] == "digits"
    assert {run["samples"] for run in report["runs"]} == {20}
    assert all(run["accuracy"] > 0.5 for run in report["runs"])
