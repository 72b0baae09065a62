"""s5rf-export end to end on the trained digits default checkpoint, plus bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from s5rf_neuro.commands.export import main
from s5rf_neuro.data.registry import load_split
from s5rf_neuro.export.nir_io import read_nir
from s5rf_neuro.hardware.golden import simulate
from s5rf_neuro.hardware.network import FloatNetwork, IntNetwork

SOFTWARE = {"s5rf-neuro", "torch", "nir", "lava-nc", "numpy"}
LAYER_QUANTISATION_KEYS = {
    "state_scale", "state_exponent", "peak_source", "state_peak", "state_headroom_bits", "input_max", "row_gain_min",
    "row_gain_max", "weight_exp_re", "weight_exp_im", "weight_mantissa_max_re", "weight_mantissa_max_im",
    "weight_clip_fraction", "weight_error_max", "decay_error_max", "decay_zero", "decay_guarded", "decay_magnitude_max",
    "threshold_min", "threshold_max", "threshold_lsb_min", "threshold_lsb_max", "threshold_error_max", "mixing",
}
"""The keys of each layer's entry in export.json's quantisation report (readers rely on them)."""
READOUT_QUANTISATION_KEYS = {
    "state_scale", "state_exponent", "peak_source", "state_peak", "state_headroom_bits", "input_max", "weight_exp",
    "weight_mantissa_max", "weight_clip_fraction", "weight_error_max", "decay_error_max", "decay_zero",
}


@pytest.fixture(scope="module")
def checkpoint(digits_checkpoint) -> Path:
    """The session's trained digits default checkpoint (tests/conftest.py); never modified here."""
    return digits_checkpoint


@pytest.fixture(scope="module")
def loihi_export(checkpoint, tmp_path_factory):
    """One loihi2 export shared by the tests that only read it: (exit code, out dir, stdout)."""
    out = tmp_path_factory.mktemp("export") / "loihi2"
    capture = _Capture()
    with capture:
        code = main([str(checkpoint), "--target", "loihi2", "-o", str(out), "--calibrate", "64"])
    return code, out, capture.stdout


class _Capture:
    """Collect stdout of an in-process call (module-scoped fixtures cannot use capsys)."""

    def __enter__(self):
        import io

        self._saved, sys.stdout = sys.stdout, io.StringIO()
        return self

    def __exit__(self, *exc):
        self.stdout = sys.stdout.getvalue()
        sys.stdout = self._saved


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("s5rf-export: error:") and "\n" not in err and "Traceback" not in err, err
    return err


def test_loihi2_export_writes_valid_nir_and_report(loihi_export):
    code, out, stdout = loihi_export
    assert code == 0, stdout
    assert sorted(p.name for p in out.iterdir()) == ["export.json", "model.nir"]
    network = read_nir(out / "model.nir")
    assert isinstance(network, IntNetwork) and network.target.name == "loihi2"
    report = json.loads((out / "export.json").read_text())
    assert report["valid"] is True and report["model_nir"]["round_trip"] == "exact"
    assert report["target"]["name"] == "loihi2" and report["calibration_samples"] == 64
    assert SOFTWARE <= set(report["software"]) and report["software"]["nir"]
    assert len(report["quantisation"]["layers"]) == len(network.layers)
    assert set(report["quantisation"]["layers"][0]) == LAYER_QUANTISATION_KEYS
    assert report["quantisation"]["layers"][0]["mixing"] is None  # a dirac model has no mixing stage
    assert set(report["quantisation"]["readout"]) == READOUT_QUANTISATION_KEYS
    assert set(report["layers"][0]) == {"name", "inputs", "neurons", "synapses", "skip", "weight_exponents",
                                        "state_headroom_bits"}
    assert [row["neurons"] for row in report["layers"][:-1]] == [layer.num_neurons for layer in network.layers]
    accuracy = report["accuracy"]
    assert accuracy["available"] and accuracy["dataset"] == "digits"
    assert abs(accuracy["float"] - accuracy["checkpoint"]) < 0.02
    assert accuracy["float"] > 0.8, "the session's trained digits model should classify"
    assert abs(accuracy["integer"] - accuracy["float"]) < 0.02 and accuracy["float_integer_agreement"] > 0.95
    for text in ("layer 0", "readout", "synapses", "headroom", "integer (golden)", "wrote"):
        assert text in stdout, text


def test_exported_files_get_the_permissions_of_a_plain_write(loihi_export, tmp_path):
    _, out, _ = loihi_export
    plain = tmp_path / "plain"
    plain.write_text("")
    expected = plain.stat().st_mode & 0o777
    for name in ("model.nir", "export.json"):
        assert (out / name).stat().st_mode & 0o777 == expected, name


def test_reported_accuracy_is_what_the_file_computes(loihi_export, checkpoint):
    _, out, _ = loihi_export
    report = json.loads((out / "export.json").read_text())
    data = load_split({"kind": "digits"}, "test")
    result = simulate(read_nir(out / "model.nir"), data.inputs)
    assert float(np.mean(result.predictions == data.labels)) == report["accuracy"]["integer"]


def test_float_target_exports_float_network(checkpoint, tmp_path, capsys):
    out = tmp_path / "float"
    assert main([str(checkpoint), "--target", "float", "-o", str(out), "--test-samples", "100"]) == 0
    network = read_nir(out / "model.nir")
    assert isinstance(network, FloatNetwork)
    report = json.loads((out / "export.json").read_text())
    assert report["quantisation"] is None and report["accuracy"]["samples"] == 100
    assert "integer" not in report["accuracy"]
    assert "f64" in capsys.readouterr().out


def test_existing_export_needs_force(loihi_export, checkpoint, tmp_path, capsys):
    out = tmp_path / "again"
    assert main([str(checkpoint), "--target", "float", "-o", str(out), "--test-samples", "0"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main([str(checkpoint), "--target", "loihi2", "-o", str(out), "--test-samples", "0"]) == 2
    assert "--force" in one_line_error(capsys)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert main([str(checkpoint), "--target", "loihi2", "-o", str(out), "--test-samples", "0", "--force"]) == 0
    assert isinstance(read_nir(out / "model.nir"), IntNetwork)
    assert sorted(p.name for p in out.iterdir()) == ["export.json", "model.nir"]


def test_failure_after_staging_leaves_nothing(checkpoint, tmp_path, capsys):
    """Test data that cannot be loaded: accuracy is skipped, but --validate needs it and fails."""
    payload = torch.load(checkpoint, weights_only=True)
    payload["dataset"]["source"] = {"kind": "shd", "root": str(tmp_path / "no-shd-here")}
    moved = tmp_path / "moved.ckpt"
    torch.save(payload, moved)
    out = tmp_path / "never"
    assert main([str(moved), "-o", str(out), "--validate", "2"]) == 2
    one_line_error(capsys)
    assert not out.exists()
    assert main([str(moved), "-o", str(out)]) == 0
    assert "accuracy: not measured" in capsys.readouterr().out
    assert json.loads((out / "export.json").read_text())["accuracy"]["available"] is False


def test_validate_against_lava(checkpoint, tmp_path, capsys):
    pytest.importorskip("s5rf_neuro.hardware.lava_run")
    out = tmp_path / "validated"
    assert main([str(checkpoint), "-o", str(out), "--test-samples", "0", "--validate", "2"]) == 0
    validation = json.loads((out / "export.json").read_text())["validation"]
    assert validation["samples"] == 2 and validation["spikes_identical"] is True
    assert validation["prediction_agreement_golden"] == 1.0
    assert "Lava (cpu, 2 samples): spikes identical to golden" in capsys.readouterr().out


def test_unknown_target_lists_known_targets(checkpoint, tmp_path, capsys):
    assert main([str(checkpoint), "--target", "truenorth", "-o", str(tmp_path / "x")]) == 2
    err = one_line_error(capsys)
    assert "truenorth" in err and "float" in err and "loihi2" in err
    assert not (tmp_path / "x").exists()


def test_bad_checkpoints_and_outputs(checkpoint, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "absent.ckpt")])
    assert exit_info.value.code == 2 and "absent.ckpt: no such file" in capsys.readouterr().err
    text = tmp_path / "notes.ckpt"
    text.write_text("not a checkpoint")
    assert main([str(text), "-o", str(tmp_path / "out")]) == 2
    assert "notes.ckpt" in one_line_error(capsys)
    assert not (tmp_path / "out").exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main([str(checkpoint), "-o", str(blocker)]) == 2
    assert "not a directory" in one_line_error(capsys)
    with pytest.raises(SystemExit) as exit_info:
        main([str(checkpoint), "--calibrate", "-3"])
    assert exit_info.value.code == 2 and "argument --calibrate: must be >= 0" in capsys.readouterr().err


def test_console_script_in_subprocess(checkpoint, tmp_path):
    script = Path(sys.executable).with_name("s5rf-export")
    out = tmp_path / "sub"
    done = subprocess.run(
        [str(script), str(checkpoint), "-o", str(out), "--test-samples", "50"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "accuracy on digits test (50 samples)" in done.stdout
    assert isinstance(read_nir(out / "model.nir"), IntNetwork)
    again = subprocess.run([str(script), str(checkpoint), "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "--force" in again.stderr
