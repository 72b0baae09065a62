"""Import of `.eqx` files (equinox.tree_serialise_leaves of the published classifier): the same function as
the equivalent `.npz`, and one-line errors naming the record for files that do not match the configuration."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from s5rf_neuro.checkpoint import load_checkpoint
from s5rf_neuro.commands.import_reference import main as import_main
from s5rf_neuro.errors import FormatError
from s5rf_neuro.reference import load_reference
from test_reference import H, L, O, P, hand_built

def reference_params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Parameters in the `.npz` layout (`hand_built`), float32 as JAX keeps them."""
    return {key: value.astype(np.float32) for key, value in hand_built(rng).items()}


def eqx_leaves(params: dict[str, np.ndarray], step_rescale: float = 1.0, apply_skip: bool = True) -> list:
    """The leaves of the published classifier in its pytree order: arrays, and Python scalars
    (which the serialiser saves as 0-d arrays)."""
    leaves: list = []
    for i in range(L):
        leaves += [params[f"dense_layers.{i}.B"], True]
    for i in range(L):
        leaves += [params[f"neuron_layers.{i}.Lambda"], params[f"neuron_layers.{i}.log_step"], True, step_rescale]
    return leaves + [0.1, False, params["output_dense.B"], False, params["li.tau"], O, apply_skip, False]


def write_eqx(path: Path, leaves: list) -> Path:
    """An `.eqx` file by the format's definition: one `.npy` record per leaf, back to back."""
    with open(path, "wb") as stream:
        for leaf in leaves:
            np.save(stream, leaf)
    return path


def config(discretization: str) -> dict:
    return dict(input_dim=H, output_dim=O, num_neurons=P, num_blocks=2, num_layers=L, discretization=discretization)


@pytest.mark.parametrize("discretization", ["zoh", "dirac"])
def test_eqx_and_npz_import_compute_the_same_function(tmp_path: Path, discretization: str) -> None:
    rng = np.random.default_rng(3)
    params = reference_params(rng)
    npz = tmp_path / "params.npz"
    np.savez(npz, **params)
    # The published forward pass ignores step_rescale (Δ = exp(log_step)), so a rescale of 2 changes nothing.
    eqx = write_eqx(tmp_path / "model.eqx", eqx_leaves(params, step_rescale=2.0))
    from_npz = load_reference(npz, config(discretization), dtype=torch.float64)
    from_eqx = load_reference(eqx, config(discretization), dtype=torch.float64)
    assert not from_eqx.training
    if discretization == "zoh":  # V is not saved in either file: both take the HiPPO-LegS eigenvectors
        assert torch.equal(from_eqx.layers[0].mixing_ri, from_npz.layers[0].mixing_ri)
    x = torch.from_numpy((rng.random((4, 30, H)) < 0.4).astype(np.float64))
    log_probs_npz, spikes_npz = from_npz.forward_with_spikes(x)
    log_probs_eqx, spikes_eqx = from_eqx.forward_with_spikes(x)
    assert torch.allclose(log_probs_eqx, log_probs_npz, atol=1e-12)
    for got, want in zip(spikes_eqx, spikes_npz):
        assert torch.equal(got, want)
    assert all(0.02 < float(s.mean()) < 0.98 for s in spikes_npz)  # real spiking in every layer


def test_import_command_reads_an_eqx_file(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(4)
    params = reference_params(rng)
    eqx = write_eqx(tmp_path / "model.eqx", eqx_leaves(params))
    (tmp_path / "config.json").write_text(json.dumps(config("zoh")))
    out = tmp_path / "model.ckpt"
    assert import_main([str(eqx), "--config", str(tmp_path / "config.json"), "-o", str(out)]) == 0
    assert "zoh first layer" in capsys.readouterr().out
    x = torch.from_numpy(rng.random((2, 20, H)).astype(np.float32))
    assert torch.equal(load_checkpoint(out).build_model()(x), load_reference(eqx, config("zoh"))(x))


def eqx_error(path: Path, discretization: str = "dirac") -> str:
    with pytest.raises(FormatError) as info:
        load_reference(path, config(discretization))
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


def test_records_that_do_not_match_the_configuration_are_named(tmp_path: Path) -> None:
    params = reference_params(np.random.default_rng(5))
    leaves = eqx_leaves(params)
    path = tmp_path / "bad.eqx"

    message = eqx_error(write_eqx(path, leaves[:10]))
    assert "record 10 (neuron_layers.1.Lambda): missing, the file ends after 10 records; expected 26" in message
    assert "floating point array of shape (8, 2)" in message

    message = eqx_error(write_eqx(path, leaves + [np.zeros(3)]))
    assert "more than the 26 records" in message and "record 25, dense_dropout" in message

    wrong_shape = list(leaves)
    wrong_shape[2] = params["dense_layers.1.B"][:, :5]
    message = eqx_error(write_eqx(path, wrong_shape))
    assert "record 2 (dense_layers.1.B): shape (8, 5, 2), expected a floating point array of shape (8, 8, 2)" in message

    wrong_dtype = list(leaves)
    wrong_dtype[0] = params["dense_layers.0.B"].astype(np.complex64)
    message = eqx_error(write_eqx(path, wrong_dtype))
    assert "record 0 (dense_layers.0.B): dtype complex64, expected a floating point array" in message

    scalar = list(leaves)
    scalar[1] = 1.5
    assert "record 1 (dense_layers.0.keep_imag): dtype float64, expected a bool scalar" in eqx_error(write_eqx(path, scalar))

    full = write_eqx(path, leaves).read_bytes()
    buffer = io.BytesIO()
    np.save(buffer, leaves[0])
    cut = tmp_path / "cut.eqx"
    cut.write_bytes(full[:len(buffer.getvalue()) - 17])
    message = eqx_error(cut)
    assert f"record 0 (dense_layers.0.B): truncated, {P * H * 2 * 4 - 17} of its {P * H * 2 * 4} data bytes" in message

    garbage = tmp_path / "garbage.eqx"
    garbage.write_bytes(full[:len(buffer.getvalue())] + b"not a record")
    assert "record 1 (dense_layers.0.keep_imag): not an .npy record" in eqx_error(garbage)

    message = eqx_error(write_eqx(path, eqx_leaves(params, apply_skip=False)))
    assert "record 24 (apply_skip) is False, but the configuration says apply_skip=True" in message
    imag = list(leaves)
    imag[12] = False
    message = eqx_error(write_eqx(path, imag))
    assert "record 12 (neuron_layers.1.keep_imag) is False, but the configuration says keep_imag=True" in message
    width = list(leaves)
    width[23] = O + 1
    assert "record 23 (li.dim) is 4, but the configuration says output_dim=3" in eqx_error(write_eqx(path, width))

    nan = dict(params)
    nan["li.tau"] = np.full(O, np.nan, dtype=np.float32)
    assert "record 22 (li.tau) holds NaN" in eqx_error(write_eqx(path, eqx_leaves(nan)))

    pickled = list(leaves)
    pickled[0] = np.array([{"code": 1}], dtype=object)
    assert "record 0 (dense_layers.0.B): dtype object" in eqx_error(write_eqx(path, pickled))


def test_import_command_bad_eqx_is_one_line_exit_2(tmp_path: Path, capsys) -> None:
    leaves = eqx_leaves(reference_params(np.random.default_rng(6)))
    eqx = write_eqx(tmp_path / "model.eqx", leaves[:-3])
    (tmp_path / "config.json").write_text(json.dumps(config("zoh")))
    out = tmp_path / "model.ckpt"
    assert import_main([str(eqx), "--config", str(tmp_path / "config.json"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("s5rf-import: error: ") and err.count("\n") == 1
    assert f"{eqx}: record 23 (li.dim): missing" in err
    assert not out.exists()
