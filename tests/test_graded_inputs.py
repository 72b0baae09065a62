"""Graded (real-valued) inputs: the input format, the quantisation rule and its errors, export of a model
taking real values, the NIR round trip, Lava = golden on graded payloads, and the commands."""

from __future__ import annotations

import contextlib
import dataclasses
import json

import h5py
import numpy as np
import pytest
from bit_exact import assert_bit_exact
import torch

from s5rf_neuro.commands.export import main as export_main
from s5rf_neuro.commands.run import main as run_main
from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.errors import DataError, FormatError, NetworkError, S5RFError, TargetError
from s5rf_neuro.export.discretise import discretise
from s5rf_neuro.export.nir_io import read_nir, write_nir
from s5rf_neuro.export.quantise import quantise
from s5rf_neuro.hardware.golden import simulate
from s5rf_neuro.hardware.inputs import InputOptions, graded_format, network_inputs, quantise_inputs
from s5rf_neuro.hardware.lava_run import run_lava
from s5rf_neuro.hardware.network import SPIKE_INPUTS, InputFormat, check_inputs, networks_identical
from s5rf_neuro.hardware.target import LOIHI2
from s5rf_neuro.model import S5RFClassifier

ACTIVE_THRESHOLD_SCALE = 0.05
"""An untrained network hardly spikes beyond its first layer; lower thresholds make every layer active."""


def one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert message and "\n" not in message
    return message


def graded_train_inputs(seed: int = 0, samples: int = 24, steps: int = 20, channels: int = 6) -> np.ndarray:
    """Synthetic graded training inputs: float32 (samples, steps, channels) in [0, 40)."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.0, 40.0, (samples, steps, channels)) * (rng.random((samples, steps, channels)) < 0.6)
            ).astype(np.float32)


@pytest.fixture(scope="module")
def graded_model():
    """A 3-layer model (skip on the middle layer) built directly, its graded inputs and format."""
    torch.manual_seed(0)
    model = S5RFClassifier(S5RFConfig(input_dim=6, output_dim=4, num_neurons=16, num_layers=3)).eval()
    inputs = graded_train_inputs()
    return model, inputs, graded_format(inputs, "synthetic train split")


# --- the format and the quantisation rule -----------------------------------------------------------------


def test_quantisation_rounds_to_nearest_with_halves_up():
    input_format = InputFormat(kind="graded", bits=4, scale=2.0)
    values = np.array([0.0, 0.24, 0.25, 0.74, 0.75, 1.3, 7.5], dtype=np.float32).reshape(1, -1, 1)
    prepared = quantise_inputs(values, input_format, "values")
    assert prepared.values.dtype == np.uint8 and prepared.clipped == 0
    assert prepared.values.ravel().tolist() == [0, 0, 1, 1, 2, 3, 15]
    wide = quantise_inputs(values, InputFormat(kind="graded", bits=12, scale=2.0), "values")
    assert wide.values.dtype == np.uint16


def test_scale_from_training_data_fills_the_payload():
    inputs = graded_train_inputs()
    for bits in (4, 8, 12):
        input_format = graded_format(inputs, "train", bits)
        assert input_format.graded and input_format.bits == bits
        assert input_format.scale * inputs.max() == pytest.approx((1 << bits) - 1)
        payloads = quantise_inputs(inputs, input_format, "train").values
        assert int(payloads.max()) == (1 << bits) - 1
        np.testing.assert_allclose(payloads / input_format.scale, inputs, atol=0.5 / input_format.scale)
    assert graded_format(None, "--input-scale", 8, scale=3.0).scale == 3.0


def test_negative_input_is_refused_naming_data_position_and_value():
    inputs = graded_train_inputs()
    inputs[3, 7, 2] = -0.001  # would round to payload 0: refused all the same
    with pytest.raises(DataError) as err:
        quantise_inputs(inputs, InputFormat(kind="graded", bits=8, scale=1.0), "sdigits test split")
    message = one_line(err)
    assert "sdigits test split" in message and "sample 3, step 7, channel 2" in message
    assert "-0.001" in message and "unsigned" in message and "--input-clip" in message
    with pytest.raises(DataError, match="sample 3, step 7, channel 2"):
        graded_format(inputs, "sdigits train split")


def test_value_beyond_the_payload_is_refused_or_clipped_and_counted():
    inputs = np.zeros((2, 3, 2), dtype=np.float32)
    inputs[1, 2, 1], inputs[0, 1, 0], inputs[1, 0, 0] = 2.0, -1.0, 0.9
    refusing = InputFormat(kind="graded", bits=4, scale=10.0)
    with pytest.raises(DataError) as err:
        quantise_inputs(np.abs(inputs), refusing, "data X")
    message = one_line(err)
    assert "data X" in message and "sample 1, step 2, channel 1" in message and "holds 2" in message
    assert "0..15" in message and "4-bit" in message
    clipping = dataclasses.replace(refusing, clip=True)
    prepared = quantise_inputs(inputs, clipping, "data X")
    assert prepared.clipped == 2
    assert prepared.values[1, 2, 1] == 15 and prepared.values[0, 1, 0] == 0 and prepared.values[1, 0, 0] == 9


def test_non_finite_input_is_refused():
    inputs = np.zeros((1, 2, 2))
    inputs[0, 1, 1] = np.nan
    with pytest.raises(DataError, match="sample 0, step 1, channel 1 holds nan"):
        quantise_inputs(inputs, InputFormat(kind="graded", bits=8, scale=1.0), "data")


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"kind": "analog"}, "kind must be one of spikes, graded"),
        ({"kind": "graded", "bits": 0, "scale": 1.0}, "bits must lie in 1..24"),
        ({"kind": "graded", "bits": 25, "scale": 1.0}, "bits must lie in 1..24"),
        ({"kind": "graded", "bits": 8, "scale": -2.0}, "scale must be a positive finite number"),
        ({"kind": "graded", "bits": 8, "scale": float("inf")}, "scale must be a positive finite number"),
        ({"kind": "spikes", "bits": 8}, "spike inputs take bits 0"),
        ({"kind": "graded", "bits": 8, "clip": "yes"}, "clip must be true or false"),
    ],
)
def test_input_format_checks_itself(fields, message):
    with pytest.raises(NetworkError, match=message):
        InputFormat(**fields)


@pytest.mark.parametrize(
    "fields, message",
    [({"bits": 0}, "--input-bits must be an integer in 1..24"), ({"scale": 0.0}, "--input-scale must be"),
     ({"scale": float("nan")}, "--input-scale must be")],
)
def test_input_options_check_themselves(fields, message):
    with pytest.raises(S5RFError, match=message):
        InputOptions(**fields)


def test_check_inputs_tells_real_values_from_payloads(graded_model):
    model, inputs, input_format = graded_model
    float_network = discretise(model, input_format=input_format)
    int_network, _ = quantise(float_network, LOIHI2)
    assert check_inputs(float_network, inputs) is not None  # a float network takes the real values
    with pytest.raises(S5RFError, match="integer graded input payloads"):
        check_inputs(int_network, inputs)
    payloads = network_inputs(int_network, inputs, "train").values
    too_large = payloads.astype(np.int64)
    too_large[0, 0, 0] = 256
    with pytest.raises(S5RFError, match=r"payloads in \[0, 255\], got 256"):
        check_inputs(int_network, too_large)
    spiking = discretise(model)
    assert spiking.input_format == SPIKE_INPUTS
    with pytest.raises(S5RFError, match="integer spike counts"):
        check_inputs(spiking, inputs)
    assert network_inputs(spiking, payloads, "x").values is payloads  # spike counts pass unchanged


def test_payload_wider_than_the_target_carries_is_refused(graded_model):
    model, inputs, _ = graded_model
    wide = discretise(model, input_format=graded_format(inputs, "train", 12))
    with pytest.raises(TargetError) as err:
        quantise(wide, LOIHI2)
    assert "4095" in one_line(err) and "8-bit spike payload" in str(err.value)


# --- discretisation, quantisation, NIR -------------------------------------------------------------------


def test_float_network_reproduces_the_model_on_real_inputs(graded_model):
    model, inputs, input_format = graded_model
    network = discretise(model, input_format=input_format)
    assert network.input_format == input_format
    with torch.no_grad():
        log_probs, spikes = model.double().forward_with_spikes(torch.from_numpy(inputs).double())
    result = simulate(network, inputs)
    assert result.spikes[0].mean() > 0.05, "the first layer should spike on these inputs"
    for got, want in zip(result.spikes, spikes):
        np.testing.assert_array_equal(got, want.numpy() > 0)
    np.testing.assert_array_equal(result.predictions, log_probs.argmax(dim=1).numpy())


@pytest.mark.parametrize("calibrate", [False, True], ids=["weight-bound", "calibrated"])
def test_integer_network_takes_payloads_with_the_scale_folded_in(graded_model, calibrate):
    model, inputs, input_format = graded_model
    float_network = discretise(model, input_format=input_format)
    payloads = quantise_inputs(inputs, input_format, "train").values
    int_network, report = quantise(float_network, LOIHI2, payloads if calibrate else None)
    assert int_network.input_format == input_format
    assert report.layers[0].input_max == (int(payloads.max()) if calibrate else input_format.payload_max)
    # the first layer's integer weights, de-quantised, are the float weights over the scale (up to the row gauge)
    first, original = int_network.layers[0], float_network.layers[0]
    weights = first.weight_re * 2.0 ** first.weight_exp_re / first.state_scale
    gain = np.abs(weights).max(axis=1) / np.abs(original.weight.real / input_format.scale).max(axis=1)
    np.testing.assert_allclose(weights / gain[:, None], original.weight.real / input_format.scale,
                               atol=2 ** -(LOIHI2.weight_bits - 1) * np.abs(original.weight.real).max() / input_format.scale)
    floating = simulate(float_network, inputs)
    integer = simulate(int_network, payloads)
    assert sum(integer.saturation) == 0
    assert np.mean(floating.spikes[0] == integer.spikes[0]) > 0.99
    assert np.mean(floating.predictions == integer.predictions) >= 0.9


@pytest.mark.parametrize("kind", ["float", "int"])
def test_nir_round_trip_keeps_the_input_format(tmp_path, graded_model, kind):
    model, inputs, input_format = graded_model
    network = discretise(model, {"note": "graded"}, dataclasses.replace(input_format, clip=True))
    if kind == "int":
        network, _ = quantise(network, LOIHI2)
    back = read_nir(write_nir(network, tmp_path / "model.nir"))
    assert networks_identical(network, back)
    assert back.input_format == network.input_format and back.input_format.clip
    assert not networks_identical(network, dataclasses.replace(back, input_format=SPIKE_INPUTS))
    prepared = network_inputs(back, inputs, "train")
    np.testing.assert_array_equal(simulate(back, prepared.values).scores,
                                  simulate(network, network_inputs(network, inputs, "train").values).scores)


def test_nir_without_an_input_format_takes_spikes_and_a_bad_one_is_named(tmp_path, graded_model):
    model, _, input_format = graded_model
    network, _ = quantise(discretise(model, input_format=input_format), LOIHI2)
    path = write_nir(network, tmp_path / "model.nir")
    with h5py.File(path, "r+") as handle:
        group = handle["node/metadata/s5rf_neuro/input_format"]
        del group["bits"]
        group["bits"] = 30
    with pytest.raises(FormatError) as err:
        read_nir(path)
    assert "input_format" in one_line(err) and "bits must lie in 1..24" in str(err.value)
    with h5py.File(path, "r+") as handle:
        del handle["node/metadata/s5rf_neuro/input_format"]
    assert read_nir(path).input_format == SPIKE_INPUTS


# --- Lava --------------------------------------------------------------------------------------------------


def test_lava_equals_golden_on_graded_inputs(graded_model):
    """Every layer, every step: Lava fixed_pt spikes, scores and saturation equal the golden simulator's."""
    model, inputs, input_format = graded_model
    discrete = discretise(model, input_format=input_format)
    active = dataclasses.replace(discrete, layers=tuple(
        dataclasses.replace(layer, threshold=layer.threshold * ACTIVE_THRESHOLD_SCALE) for layer in discrete.layers))
    rng = np.random.default_rng(5)
    graded = rng.uniform(0.0, float(inputs.max()), (6, 14, inputs.shape[2])).astype(np.float32)
    graded[0, 0, 0] = inputs.max()  # the largest payload
    int_network, _ = quantise(active, LOIHI2, quantise_inputs(inputs, input_format, "train").values)
    payloads = network_inputs(int_network, graded, "random graded inputs").values
    assert int(payloads.max()) == input_format.payload_max and len(np.unique(payloads)) > 100
    golden = simulate(int_network, payloads)
    assert [layer.skip for layer in int_network.layers] == [False, True, False]
    assert all(spikes.mean() > 0.02 for spikes in golden.spikes), "every layer should be active"
    lava = run_lava(int_network, payloads)
    assert_bit_exact(lava, golden)


# --- commands ------------------------------------------------------------------------------------------------


def test_export_and_run_quantise_graded_inputs_the_same_way(digits_checkpoint, tmp_path, capsys):
    """Digits spikes read as real values at a given scale: export records the format, s5rf-run applies it."""
    out = tmp_path / "graded"
    code = export_main([str(digits_checkpoint), "-o", str(out), "--input-scale", "100", "--test-samples", "40"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "inputs: graded, 8-bit payload, q = nearest(u·100)" in printed
    record = json.loads((out / "export.json").read_text())
    assert record["inputs"] == {"format": {"kind": "graded", "bits": 8, "scale": 100.0, "clip": False},
                                "clipped_calibration": 0, "clipped_test": 0}
    network = read_nir(out / "model.nir")
    assert network.input_format == InputFormat(kind="graded", bits=8, scale=100.0)
    assert run_main([str(out / "model.nir"), "--samples", "40", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["input_format"]["scale"] == 100.0 and run["inputs_clipped"] == 0
    assert run["accuracy"] == pytest.approx(record["accuracy"]["integer"])


def test_export_refuses_unclipped_inputs_and_counts_clipped_ones(digits_checkpoint, tmp_path, capsys):
    out = tmp_path / "graded"
    code = export_main([str(digits_checkpoint), "-o", str(out), "--input-scale", "300", "--test-samples", "10"])
    assert code != 0 and not out.exists()
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and "digits test split" in message and "holds 1" in message and "0..255" in message
    code = export_main([str(digits_checkpoint), "-o", str(out), "--input-scale", "300", "--input-clip",
                        "--test-samples", "10", "--calibrate", "8"])
    assert code == 0
    record = json.loads((out / "export.json").read_text())
    assert record["inputs"]["clipped_test"] > 0 and record["inputs"]["clipped_calibration"] > 0
    assert f"{record['inputs']['clipped_test'] + record['inputs']['clipped_calibration']} value(s) clipped" in \
        capsys.readouterr().out


@pytest.mark.parametrize(
    "options, message",
    [
        (["--input-bits", "4"], "holds spikes"),
        (["--input-bits", "0"], "--input-bits must be an integer in 1..24"),
        (["--input-scale", "-1"], "--input-scale must be a positive finite number"),
        (["--input-scale", "100", "--input-bits", "12"], "8-bit spike payload"),
    ],
)
def test_export_input_options_bad_input(digits_checkpoint, tmp_path, capsys, options, message):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) if "must be" in message else contextlib.nullcontext():
        code = export_main([str(digits_checkpoint), "-o", str(out), "--test-samples", "0"] + options)
        assert code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and not out.exists()



def test_a_spike_data_set_takes_spikes_without_being_read(digits_checkpoint, tmp_path):
    """The input kind of a spike-file data set is known from its source: a directory that holds nothing
    still gives spike inputs, and graded options are refused as for spikes, not for the missing files."""
    from s5rf_neuro.checkpoint import load_checkpoint
    from s5rf_neuro.export.conversion import input_format_of

    checkpoint = load_checkpoint(digits_checkpoint)
    source = {"kind": "shd", "root": str(tmp_path / "empty")}
    assert input_format_of(checkpoint, InputOptions(), source) == (SPIKE_INPUTS, None)
    with pytest.raises(DataError, match="the shd data set holds spikes"):
        input_format_of(checkpoint, InputOptions(bits=4), source)
    fmt, train = input_format_of(checkpoint, InputOptions(), {"kind": "sdigits"})
    assert fmt.graded and train is not None


def test_report_quantises_and_counts_like_the_other_commands(tmp_path, capsys):
    """A float .nir with graded inputs on the digits data: the report refuses what the payload cannot carry,
    and with clipping in the format counts the clipped values in report.json."""
    from s5rf_neuro.commands.report import main as report_main
    from s5rf_neuro.hardware.network import FloatLayer, FloatNetwork, FloatReadout

    rng = np.random.default_rng(3)
    weight = (rng.normal(size=(8, 32)) + 1j * rng.normal(size=(8, 32))) * 0.5
    dataset = {"name": "digits", "encoding": "thermometer", "time_steps": 32, "input_dim": 32,
               "class_names": [str(k) for k in range(10)], "source": {"kind": "digits"}}
    network = FloatNetwork(
        layers=(FloatLayer(decay=0.9 * np.exp(1j * rng.uniform(0.1, 1, 8)), weight=weight, threshold=np.ones(8)),),
        readout=FloatReadout(rng.normal(size=(10, 8)), np.full(10, 0.8)),
        metadata={"dataset": dataset},
        input_format=InputFormat(kind="graded", bits=8, scale=300.0),
    )
    refusing = write_nir(network, tmp_path / "refusing.nir")
    assert report_main([str(refusing), "-o", str(tmp_path / "r1"), "--samples", "8", "--no-progress"]) == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and "digits test split" in message and "holds 1" in message
    clipping = write_nir(dataclasses.replace(network, input_format=dataclasses.replace(network.input_format, clip=True)),
                         tmp_path / "clipping.nir")
    assert report_main([str(clipping), "-o", str(tmp_path / "r2"), "--samples", "8", "--no-progress"]) == 0
    record = json.loads((tmp_path / "r2" / "report.json").read_text())
    assert record["inputs"]["format"] == {"kind": "graded", "bits": 8, "scale": 300.0, "clip": True}
    assert record["inputs"]["clipped"] > 0
