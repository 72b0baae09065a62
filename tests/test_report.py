"""s5rf-report: the report, its figures, bad output directories, the console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from PIL import Image as PILImage

from s5rf_neuro.commands.report import main
from s5rf_neuro.export.nir_io import write_nir
from s5rf_neuro.export.quantise import quantise
from s5rf_neuro.export.report_render import Bullets, Heading, Image, Paragraph, Table, render_html, render_markdown
from s5rf_neuro.hardware.network import FloatLayer, FloatNetwork, FloatReadout
from s5rf_neuro.hardware.target import LOIHI2

FIGURES = ("spike_raster.png", "eigenvalues.png", "firing_rate.png", "accuracy_vs_bits.png")


DIGITS_RECORD = {"name": "digits", "encoding": "thermometer", "time_steps": 32, "input_dim": 32,
                 "class_names": [str(k) for k in range(10)], "source": {"kind": "digits"}}


def digits_network() -> FloatNetwork:
    """A random 3-layer network (middle skip layer) for the 32-channel digits data, recording its data source."""
    rng = np.random.default_rng(1)

    def layer(p: int, h: int, skip: bool = False) -> FloatLayer:
        weight = (rng.normal(size=(p, h)) + 1j * rng.normal(size=(p, h))) * 0.5
        return FloatLayer(decay=0.9 * np.exp(1j * rng.uniform(0.1, 1, p)), weight=weight, threshold=np.ones(p), skip=skip)

    return FloatNetwork(
        layers=(layer(12, 32), layer(12, 12, skip=True), layer(12, 12)),
        readout=FloatReadout(rng.normal(size=(10, 12)), np.full(10, 0.8)),
        metadata={"dataset": DIGITS_RECORD},
    )


@pytest.fixture(scope="module")
def float_nir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("nir") / "float.nir"
    write_nir(digits_network(), path)
    return path


def assert_valid_png(path: Path) -> None:
    with PILImage.open(path) as image:
        assert image.format == "PNG"
        image.verify()
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 50 and pixels.shape[1] > 50
    assert float(pixels[..., :3].std()) > 0.01  # something was drawn


def test_report_of_a_float_nir(float_nir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "deep" / "report"
    assert main([str(float_nir), "-o", str(out), "--samples", "24", "--no-progress"]) == 0
    assert "report.md" in capsys.readouterr().out
    markdown = (out / "report.md").read_text()
    for section in ("## Accuracy", "## Activity per layer", "## Energy per inference", "## Mapping to loihi2",
                    "## Quantisation", "## Accuracy against weight bits", "## Figures"):
        assert section in markdown
    assert "No per-operation energy for Loihi 2 has been published" in markdown
    assert "float discrete (golden, float64) | 24 |" in markdown
    assert "integer (golden, loihi2) | 24 |" in markdown
    assert "Lava was not run" in markdown
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<table>" in html and 'src="figures/spike_raster.png"' in html
    for name in FIGURES:
        assert f"figures/{name}" in markdown
        assert_valid_png(out / "figures" / name)
    data = json.loads((out / "report.json").read_text())
    assert [row["bits"] for row in data["weight_bit_sweep"]] == [4, 5, 6, 7, 8]
    assert data["energy"]["neuromorphic_pj"] > 0 and data["energy"]["float_pj"] > 0
    assert set(data["energy_by_profile"]) == {"loihi1", "sanafe_loihi"}
    assert data["energy"]["float_pj"] > data["energy"]["float_arithmetic_pj"] > 0  # memory traffic included
    assert set(data["neurobench"]) == {"activation_sparsity", "Effective_MACs", "Effective_ACs", "Dense"}
    assert "## NeuroBench workload metrics" in markdown and "no rule for a complex recurrence" in markdown
    assert "neuromorphic (sanafe_loihi)" in markdown and "arch/loihi.yaml" in markdown
    assert data["mapping"]["cores_used"] == 4
    golden = next(run for run in data["runs"] if run["kind"] == "integer_golden")
    assert [layer["name"] for layer in golden["counts"]["layers"]] == ["layer 0", "layer 1", "layer 2", "readout"]
    assert not [name for name in os.listdir(out) if name.endswith(".tmp") or name.startswith(".write-test")]


def test_report_of_an_integer_nir_has_no_float_parts(tmp_path: Path) -> None:
    int_network, _ = quantise(digits_network(), LOIHI2)
    path = tmp_path / "int.nir"
    write_nir(int_network, path)
    out = tmp_path / "report"
    assert main([str(path), "-o", str(out), "--samples", "8", "--no-progress"]) == 0
    markdown = (out / "report.md").read_text()
    assert "float discrete" not in markdown and "Accuracy against weight bits" not in markdown
    for name in FIGURES[:3]:
        assert_valid_png(out / "figures" / name)
    assert not (out / "figures" / "accuracy_vs_bits.png").exists()


def test_report_of_a_checkpoint_with_lava(digits_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main([str(digits_checkpoint), "-o", str(out), "--samples", "24", "--lava", "3", "--no-progress"]) == 0
    markdown = (out / "report.md").read_text()
    assert "float model (PyTorch, float32) | 24 |" in markdown
    assert "integer (Lava CPU, loihi2) | 3 |" in markdown
    assert "spikes of every layer identical, step for step" in markdown
    data = json.loads((out / "report.json").read_text())
    runs = {run["kind"]: run for run in data["runs"]}
    assert list(runs) == ["float_model", "float_discrete", "integer_golden", "integer_lava"]
    float_accuracy = runs["float_discrete"]["accuracy"]
    assert abs(runs["float_model"]["accuracy"] - float_accuracy) <= 0.05
    assert float_accuracy > 0.8, "the session's trained digits model should classify"
    assert abs(runs["integer_golden"]["accuracy"] - float_accuracy) <= 0.05  # one sample of 24
    assert runs["integer_lava"]["label"] == "integer (Lava CPU, loihi2)" and runs["integer_lava"]["samples"] == 3
    assert data["lava_agreement"] == {"samples": 3, "spikes_equal": True, "prediction_agreement": 1.0}


def test_unwritable_report_directory_is_a_one_line_error(
    float_nir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert main([str(float_nir), "-o", str(blocker / "report"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("s5rf-report: error: report directory") and "cannot be written" in err
    assert "\n" not in err
    assert main([str(float_nir), "-o", str(blocker), "--no-progress"]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert blocker.read_text() == "not a directory"


def test_bad_arguments(float_nir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "absent.ckpt"), "-o", str(tmp_path / "r")]) == 2
    assert "absent.ckpt: no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main([str(float_nir), "-o", str(tmp_path / "r"), "--samples", "0"])
    assert info.value.code == 2
    assert "--samples" in capsys.readouterr().err
    bad_profile = tmp_path / "bad.json"
    bad_profile.write_text(json.dumps({"kind": "neuromorphic", "figures": {}}))
    assert main([str(float_nir), "-o", str(tmp_path / "r"), "--profile", str(bad_profile)]) == 2
    assert "figure 'synaptic_op_pj' is missing" in capsys.readouterr().err


def test_console_script(float_nir: Path, tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "s5rf-report"
    out = tmp_path / "report"
    done = subprocess.run(
        [str(script), str(float_nir), "-o", str(out), "--samples", "6", "--no-progress"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    failed = subprocess.run([str(script), str(float_nir)], capture_output=True, text=True, timeout=120, check=False)
    assert failed.returncode == 2 and "-o/--output" in failed.stderr


def test_rendering_escapes_text() -> None:
    blocks = [
        Heading("T <1>", 1),
        Paragraph("a & b"),
        Bullets(("x < y",)),
        Table(("a|b", "c"), (("1|2", "<3>"),)),
        Image("figures/x.png", "cap & tion"),
    ]
    markdown = render_markdown(blocks)
    assert "| a\\|b | c |" in markdown and "| 1\\|2 | <3> |" in markdown
    assert "![cap & tion](figures/x.png)" in markdown
    html = render_html(blocks, "t")
    assert "<h1>T &lt;1&gt;</h1>" in html and "<td>&lt;3&gt;</td>" in html and "a &amp; b" in html


def test_comparison_of_several_models_writes_its_table_and_figure(float_nir: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    quiet = tmp_path / "quiet.nir"
    network = digits_network()
    # The same network with weaker first-layer weights: fewer spikes, fewer synaptic operations.
    layers = (FloatLayer(network.layers[0].decay, network.layers[0].weight * 0.3, network.layers[0].threshold),
              *network.layers[1:])
    write_nir(FloatNetwork(layers=layers, readout=network.readout, metadata=network.metadata), quiet)
    out = tmp_path / "compare"
    assert main([str(float_nir), str(quiet), "-o", str(out), "--samples", "40", "--no-progress"]) == 0
    assert "tradeoff.png" in capsys.readouterr().out
    assert_valid_png(out / "figures" / "tradeoff.png")
    data = json.loads((out / "report.json").read_text())
    assert [m["model"] for m in data["models"]] == ["float.nir", "quiet.nir"]
    loud, calm = data["models"]
    assert calm["synops"]["hidden"] < loud["synops"]["hidden"]
    assert calm["synops"]["input"] == loud["synops"]["input"]  # set by the data
    for model in data["models"]:
        assert set(model["energy"]) == {"loihi1", "sanafe_loihi"}
        assert model["synops"]["total"] == pytest.approx(
            model["synops"]["input"] + model["synops"]["hidden"] + model["synops"]["readout"])
        assert 0 <= model["integer_accuracy"] <= 1
    text = (out / "report.md").read_text()
    assert "energy (loihi1)" in text and "energy (sanafe_loihi)" in text and "Loihi 2" in text
    assert "figures/tradeoff.png" in text


def test_comparison_of_models_of_different_data_sets_names_both(float_nir: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    network = digits_network()
    other = tmp_path / "shd.nir"
    write_nir(FloatNetwork(layers=network.layers, readout=network.readout,
                           metadata={"dataset": dict(DIGITS_RECORD, name="shd", source={"kind": "shd", "root": "/data/shd"})}),
              other)
    assert main([str(float_nir), str(other), "-o", str(tmp_path / "r"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "float.nir (digits)" in err and "shd.nir (shd)" in err, err
