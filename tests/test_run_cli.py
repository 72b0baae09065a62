"""s5rf-run: a .nir on its data set through golden and Lava, and its one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nir
import numpy as np
import pytest

from s5rf_neuro.commands.run import main
from s5rf_neuro.export.nir_io import write_nir
from s5rf_neuro.hardware.network import IntLayer, IntNetwork, IntReadout
from s5rf_neuro.hardware.target import LOIHI2

DIGITS = {"name": "digits", "encoding": "thermometer", "time_steps": 32, "input_dim": 32,
          "class_names": [str(k) for k in range(10)], "source": {"kind": "digits"}}


def digits_network(inputs: int = 32, dataset: dict | None = DIGITS) -> IntNetwork:
    """A random but active 2-layer integer network for the digits data (16 and 12 neurons, 10 classes)."""
    rng = np.random.default_rng(1)
    layers = []
    for h, p in ((inputs, 16), (16, 12)):
        angle = rng.uniform(0.05, 0.5, p)
        layers.append(
            IntLayer(
                decay_re=np.round(0.9 * np.cos(angle) * 4096).astype(np.int64),
                decay_im=np.round(0.9 * np.sin(angle) * 4096).astype(np.int64),
                weight_re=rng.integers(-40, 90, (p, h)), weight_im=rng.integers(-60, 60, (p, h)),
                weight_exp_re=0, weight_exp_im=0, threshold=rng.integers(100, 400, p).astype(np.int64),
                state_scale=128.0,
            )
        )
    readout = IntReadout(weight=rng.integers(-100, 100, (10, 12)), weight_exp=0,
                         decay=np.full(10, 3200, dtype=np.int64), state_scale=1.0)
    return IntNetwork(layers=tuple(layers), readout=readout, target=LOIHI2,
                      metadata={} if dataset is None else {"dataset": dataset})


@pytest.fixture(scope="module")
def digits_nir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("run") / "model.nir"
    write_nir(digits_network(), path)
    return path


def run_json(capsys, argv: list[str]) -> dict:
    assert main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_lava_backend_agrees_with_golden(digits_nir, capsys):
    golden = run_json(capsys, [str(digits_nir), "--samples", "20"])
    lava = run_json(capsys, [str(digits_nir), "--samples", "20", "--backend", "lava"])
    assert golden["samples"] == lava["samples"] == 20
    assert golden["data"] == "digits" and golden["network"] == "integer"
    assert all(count > 0 for count in golden["spikes_per_sample"])
    assert lava["spikes_per_sample"] == golden["spikes_per_sample"]
    assert lava["accuracy"] == golden["accuracy"]
    assert lava["wall_time_s"] > 0


def test_plain_output_and_too_many_samples(digits_nir, capsys):
    assert main([str(digits_nir), "--samples", "100000"]) == 0
    captured = capsys.readouterr()
    assert "--samples 100000: the digits test split has only 359 samples; running 359" in captured.err
    assert "359 samples" in captured.out and "accuracy" in captured.out
    assert "layer 1:" in captured.out and "spikes per sample" in captured.out and "wall time" in captured.out


def test_data_of_another_shape_is_refused_naming_both(tmp_path, capsys):
    path = tmp_path / "narrow.nir"
    write_nir(digits_network(inputs=16, dataset=dict(DIGITS, input_dim=16)), path)
    assert main([str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "(samples, 32, 16)" in err and "(359, 32, 32)" in err
    longer = tmp_path / "longer.nir"
    write_nir(digits_network(dataset=dict(DIGITS, time_steps=40)), longer)
    assert main([str(longer)]) == 2
    err = capsys.readouterr().err
    assert "(samples, 40, 32)" in err and "(359, 32, 32)" in err


def test_network_without_data_record_needs_data_option(tmp_path, capsys):
    path = tmp_path / "bare.nir"
    write_nir(digits_network(dataset=None), path)
    assert main([str(path)]) == 2
    assert "records no data set; give --data" in capsys.readouterr().err
    assert main([str(path), "--data", "digits", "--samples", "3"]) == 0
    assert "3 samples" in capsys.readouterr().out


def test_broken_data_record_is_refused_naming_file_and_field(tmp_path, capsys):
    path = tmp_path / "edited.nir"
    write_nir(digits_network(dataset={key: value for key, value in DIGITS.items() if key != "source"}), path)
    assert main([str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"{path}: dataset: field 'source' is missing" in err, err
    write_nir(digits_network(dataset=dict(DIGITS, input_dim="32")), path)
    assert main([str(path)]) == 2
    assert "field 'input_dim': expected an integer >= 1" in capsys.readouterr().err


def test_foreign_nir_and_missing_file_are_refused(tmp_path, capsys):
    foreign = tmp_path / "foreign.nir"
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array([3])), "lin": nir.Linear(weight=np.ones((2, 3))),
               "output": nir.Output(output_type=np.array([2]))},
        edges=[("input", "lin"), ("lin", "output")],
    )
    nir.write(foreign, graph)
    assert main([str(foreign)]) == 2
    assert "no s5rf-neuro metadata" in capsys.readouterr().err
    assert main([str(tmp_path / "absent.nir")]) == 2
    assert "absent.nir: no such file" in capsys.readouterr().err


def test_loihi2_hw_without_extension_says_what_is_missing(digits_nir, capsys):
    assert main([str(digits_nir), "--backend", "loihi2-hw", "--samples", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("s5rf-run: error: backend loihi2-hw needs Intel's Lava extension for Loihi (lava-loihi")


def test_bad_arguments_exit_2(digits_nir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(digits_nir), "--samples", "0"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        main([str(digits_nir), "--bins", "10"])
    assert "--bins: give --data too" in capsys.readouterr().err


def test_console_script(digits_nir):
    script = Path(sys.executable).with_name("s5rf-run")
    done = subprocess.run([str(script), str(digits_nir), "--samples", "5"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "accuracy" in done.stdout and "5 samples" in done.stdout
    done = subprocess.run([str(script), str(digits_nir) + ".missing"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "no such file" in done.stderr


def test_running_an_export_loads_neither_torch_nor_the_model_room(digits_nir):
    code = (
        "import sys\n"
        "from s5rf_neuro.commands.run import main\n"
        f"assert main([{str(digits_nir)!r}, '--samples', '3']) == 0\n"
        "loaded = sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 's5rf_neuro.model', "
        "'s5rf_neuro.layer', 's5rf_neuro.checkpoint', 's5rf_neuro.training')))\n"
        "print('LOADED', loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout, done.stdout
