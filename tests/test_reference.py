"""Import of reference (JAX) parameters: same function as an independent NumPy implementation; bad files; s5rf-import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from s5rf_neuro.checkpoint import load_checkpoint
from s5rf_neuro.commands.evaluate import main as eval_main
from s5rf_neuro.commands.import_reference import main as import_main
from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.errors import ConfigError, FormatError
from s5rf_neuro.reference import load_reference

H, P, O, L = 5, 8, 3, 3


def hand_built(rng: np.random.Generator, with_v: bool = False) -> dict[str, np.ndarray]:
    """Reference-layout parameters: (P, H, 2) B, (P, 2) [log(-Re λ), Im λ], (P, 1) log Δ, (O, P, 2) readout, (O,) tau."""
    params = {}
    for i in range(L):
        params[f"dense_layers.{i}.B"] = rng.normal(scale=3.0, size=(P, H if i == 0 else P, 2))
        params[f"neuron_layers.{i}.Lambda"] = np.stack([np.log(rng.uniform(0.05, 1.0, P)), rng.normal(scale=2, size=P)], -1)
        params[f"neuron_layers.{i}.log_step"] = np.log(rng.uniform(0.05, 0.8, (P, 1)))
    params["output_dense.B"] = rng.normal(size=(O, P, 2))
    params["li.tau"] = rng.normal(size=O)
    if with_v:
        params["neuron_layers.0.V"] = rng.normal(scale=0.5, size=(P, P, 2))
    return params


def numpy_forward(params: dict[str, np.ndarray], x: np.ndarray, discretization: str, keep_imag: bool,
                  v: np.ndarray | None) -> tuple[np.ndarray, list[np.ndarray]]:
    """docs/design.md §2 written out with NumPy loops in complex128: log-probs (N, O) and spikes per layer."""
    hidden = x.astype(np.float64)
    spikes = []
    for i in range(L):
        b = params[f"dense_layers.{i}.B"][..., 0] + 1j * params[f"dense_layers.{i}.B"][..., 1]
        lam = -np.exp(params[f"neuron_layers.{i}.Lambda"][:, 0]) + 1j * params[f"neuron_layers.{i}.Lambda"][:, 1]
        step = np.exp(params[f"neuron_layers.{i}.log_step"][:, 0])
        rule = discretization if i == 0 else "dirac"
        if rule == "bilinear":
            lam_bar = (1 + step * lam / 2) / (1 - step * lam / 2)
            b_bar = step / (1 - step * lam / 2)
        else:
            lam_bar = np.exp(lam * step)
            b_bar = (lam_bar - 1) / lam if rule == "zoh" else step
        out = np.zeros(hidden.shape[:2] + (P,))
        for n in range(hidden.shape[0]):
            z = np.zeros(P, dtype=np.complex128)
            for t in range(hidden.shape[1]):
                current = b @ hidden[n, t]
                if not keep_imag:
                    current = current.real
                z = lam_bar * z + b_bar * current
                state = v @ z if (i == 0 and rule == "zoh") else z
                out[n, t] = state.real > 1.0
        spikes.append(out)
        hidden = out + hidden if 0 < i < L - 1 else out
    weight = params["output_dense.B"][..., 0]
    decay = 1.0 / (1.0 + np.exp(-params["li.tau"]))
    scores = np.zeros((hidden.shape[0], O))
    for n in range(hidden.shape[0]):
        y = np.zeros(O)
        for t in range(hidden.shape[1]):
            y = decay * y + weight @ hidden[n, t]
            scores[n] += y
    scores /= hidden.shape[1]
    log_probs = scores - np.log(np.exp(scores - scores.max(1, keepdims=True)).sum(1, keepdims=True)) - scores.max(1, keepdims=True)
    return log_probs, spikes


def config_for(discretization: str, keep_imag: bool = True) -> dict:
    return dict(input_dim=H, output_dim=O, num_neurons=P, num_blocks=2, num_layers=L,
                discretization=discretization, keep_imag=keep_imag)


def hippo_v(size: int, blocks: int) -> np.ndarray:
    """Block-diagonal eigenvectors of the HiPPO-LegS normal part, as the reference initialisation computes them."""
    n = size // blocks
    p = np.sqrt(1 + 2 * np.arange(n))
    a = -(np.tril(p[:, None] * p[None, :]) - np.diag(np.arange(n)))
    low = np.sqrt(np.arange(n) + 0.5)
    s = a + low[:, None] * low[None, :]
    _, v = np.linalg.eigh(s * -1j)
    out = np.zeros((size, size), dtype=np.complex128)
    for k in range(blocks):
        out[k * n:(k + 1) * n, k * n:(k + 1) * n] = v
    return out


@pytest.mark.parametrize("discretization, keep_imag, with_v", [
    ("dirac", True, False), ("dirac", False, False), ("bilinear", True, False),
    ("zoh", True, True), ("zoh", False, False),
])
def test_load_reference_computes_the_same_function(tmp_path: Path, discretization: str, keep_imag: bool,
                                                   with_v: bool) -> None:
    rng = np.random.default_rng(11)
    params = hand_built(rng, with_v=with_v)
    path = tmp_path / "params.npz"
    np.savez(path, **params)
    x = (rng.random((3, 30, H)) < 0.4).astype(np.float64)
    v = None
    if discretization == "zoh":
        v = (params["neuron_layers.0.V"][..., 0] + 1j * params["neuron_layers.0.V"][..., 1]) if with_v else hippo_v(P, 2)
    expected_log_probs, expected_spikes = numpy_forward(params, x, discretization, keep_imag, v)

    cfg = config_for(discretization, keep_imag)
    model = load_reference(path, cfg if with_v else S5RFConfig(**cfg), dtype=torch.float64)
    assert not model.training
    log_probs, spikes = model.forward_with_spikes(torch.from_numpy(x))
    assert np.allclose(log_probs.detach().numpy(), expected_log_probs, atol=1e-10)
    for got, want in zip(spikes, expected_spikes):
        assert np.array_equal(got.detach().numpy(), want)
    rates = [s.mean() for s in expected_spikes]
    assert all(0.02 < r < 0.98 for r in rates), rates  # the comparison exercises real spiking

    single = load_reference(path, cfg)
    assert single.readout_weight.dtype == torch.float32
    assert np.allclose(single(torch.from_numpy(x)).detach().numpy(), expected_log_probs, atol=1e-3)


def write(tmp_path: Path, params: dict[str, np.ndarray]) -> Path:
    path = tmp_path / "p.npz"
    np.savez(path, **params)
    return path


def format_error(path: Path, cfg: dict | None = None) -> str:
    with pytest.raises(FormatError) as info:
        load_reference(path, cfg or config_for("dirac"))
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_missing_keys_and_wrong_shapes_name_key_and_expected_shape(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    params = hand_built(rng)
    del params["neuron_layers.1.log_step"]
    message = format_error(write(tmp_path, params))
    assert "missing key 'neuron_layers.1.log_step'" in message and "(8, 1)" in message

    params = hand_built(rng)
    params["dense_layers.1.B"] = params["dense_layers.1.B"][:, :5]
    message = format_error(write(tmp_path, params))
    assert "'dense_layers.1.B'" in message and "(8, 5, 2)" in message and "expected shape (8, 8, 2)" in message

    params = hand_built(rng)
    params["li.tau"] = params["li.tau"][:, None]
    assert "'li.tau'" in format_error(write(tmp_path, params)) and "expected shape (3,)" in format_error(write(tmp_path, params))


def test_other_bad_inputs(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    params = hand_built(rng)
    params["dense_layers.3.B"] = np.zeros((P, P, 2))
    assert "unexpected key 'dense_layers.3.B'" in format_error(write(tmp_path, params))

    params = hand_built(rng)
    params["output_dense.B"][0, 0, 0] = np.nan
    assert "'output_dense.B' holds NaN" in format_error(write(tmp_path, params))

    params = hand_built(rng)
    params["neuron_layers.0.V"] = rng.normal(size=(P, P, 2))
    assert "not the identity" in format_error(write(tmp_path, params))
    params["neuron_layers.0.V"] = np.zeros((P, P, 2))
    params["neuron_layers.0.V"][..., 0] = np.eye(P)
    load_reference(write(tmp_path, params), config_for("dirac"))
    params["neuron_layers.0.V"] = np.zeros((P, 4, 2))
    assert "expected shape (8, 8, 2)" in format_error(write(tmp_path, params), config_for("zoh"))

    text = tmp_path / "notes.npz"
    text.write_text("hello")
    assert "not an .npz archive" in format_error(text)
    truncated = tmp_path / "cut.npz"
    truncated.write_bytes(write(tmp_path, hand_built(rng)).read_bytes()[:300])
    assert "not a readable .npz" in format_error(truncated)
    with pytest.raises(ConfigError, match="'num_neurons'"):
        load_reference(write(tmp_path, hand_built(rng)), {**config_for("dirac"), "num_blocks": 3})


def test_import_command_writes_a_checkpoint_of_the_same_model(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(5)
    params_path = write(tmp_path, hand_built(rng))
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config_for("bilinear")))
    dataset_path = tmp_path / "dataset.json"
    dataset_path.write_text(json.dumps({"name": "toy", "class_names": ["x", "y", "z"]}))
    out = tmp_path / "model.ckpt"
    assert import_main([str(params_path), "--config", str(config_path), "-o", str(out),
                        "--dataset", str(dataset_path)]) == 0
    assert "wrote" in capsys.readouterr().out
    ckpt = load_checkpoint(out)
    assert ckpt.config == S5RFConfig(**config_for("bilinear"))
    assert ckpt.dataset.name == "toy" and ckpt.dataset.input_dim == H and ckpt.dataset.recorded_source is None
    assert eval_main([str(out)]) == 2
    assert "model.ckpt: the file records no data set; give --data" in capsys.readouterr().err
    x = torch.from_numpy((rng.random((2, 20, H)) < 0.4).astype(np.float32))
    reference = load_reference(params_path, config_for("bilinear"))
    assert torch.equal(ckpt.build_model()(x), reference(x))


@pytest.mark.parametrize("args, needle", [
    (["{params}", "--config", "{missing}", "-o", "{out}"], "No such file"),
    (["{params}", "--config", "{badjson}", "-o", "{out}"], "not valid JSON"),
    (["{params}", "--config", "{badfield}", "-o", "{out}"], "config field 'num_neurons'"),
    (["{config}", "--config", "{config}", "-o", "{out}"], "not an .npz archive"),
    (["{params}", "--config", "{config}", "-o", "{nodir}"], "directory does not exist"),
    (["{params}", "--config", "{config}", "-o", "{out}", "--dataset", "{baddataset}"],
     "baddataset.json: field 'time_steps': expected an integer >= 0, got -3"),
    (["{params}", "--config", "{config}", "-o", "{out}", "--dataset", "{config}"], "config.json: unknown field"),
])
def test_import_command_bad_input_is_one_line_exit_2(tmp_path: Path, capsys, args: list[str], needle: str) -> None:
    names = {
        "params": write(tmp_path, hand_built(np.random.default_rng(6))),
        "config": tmp_path / "config.json", "missing": tmp_path / "missing.json",
        "badjson": tmp_path / "bad.json", "badfield": tmp_path / "badfield.json",
        "baddataset": tmp_path / "baddataset.json",
        "out": tmp_path / "model.ckpt", "nodir": tmp_path / "nowhere" / "model.ckpt",
    }
    names["config"].write_text(json.dumps(config_for("dirac")))
    names["badjson"].write_text("{input_dim: 3")
    names["baddataset"].write_text(json.dumps({"name": "toy", "time_steps": -3}))
    names["badfield"].write_text(json.dumps({**config_for("dirac"), "num_blocks": 3}))
    assert import_main([a.format(**{k: str(v) for k, v in names.items()}) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("s5rf-import: error: ") and needle in err and err.count("\n") == 1
    assert not names["out"].exists()


def test_import_console_script_subprocess(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    params_path = write(tmp_path, hand_built(rng, with_v=True))
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config_for("zoh")))
    out = tmp_path / "model.ckpt"
    script = Path(sys.executable).with_name("s5rf-import")
    done = subprocess.run([str(script), str(params_path), "--config", str(config_path), "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert load_checkpoint(out).config.discretization == "zoh"
    bad = subprocess.run([str(script), str(config_path), "--config", str(config_path), "-o", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().count("\n") == 0 and "not an .npz archive" in bad.stderr
