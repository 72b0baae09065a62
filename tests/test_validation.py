"""The checks at the boundaries, one by one (the fuzz test drives them through the commands)."""

from __future__ import annotations

import pytest
import torch

from s5rf_neuro.checkpoint import check_training_state, describe_weight, parameter_shapes
from s5rf_neuro.commands._common import CommandParser
from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.data.registry import check_source
from s5rf_neuro.data.spike_files import resolve_binning
from s5rf_neuro.distributed import launch_environment, resolve_device
from s5rf_neuro.errors import CheckpointError, ConfigError, DataError
from s5rf_neuro.model import S5RFClassifier
from s5rf_neuro.resources import MemoryNeed, ResourceError, available_memory, format_bytes, model_bytes, require
from s5rf_neuro.training import Recipe


@pytest.mark.parametrize("fields", [
    {"num_layers": 1}, {"num_layers": 3, "discretization": "zoh"}, {"num_layers": 2, "discretization": "bilinear"},
])
def test_parameter_shapes_are_those_of_the_model(fields: dict) -> None:
    config = S5RFConfig(input_dim=5, output_dim=3, num_neurons=4, num_blocks=2, **fields)
    model = S5RFClassifier(config)
    assert dict(parameter_shapes(config)) == {name: tuple(value.shape) for name, value in model.state_dict().items()}
    assert all("layers." not in describe_weight(name) for name in model.state_dict())


def test_parameter_shapes_of_an_absurd_config_cost_nothing_until_read() -> None:
    shapes = parameter_shapes(S5RFConfig(input_dim=10**9, output_dim=3, num_neurons=10**9, num_layers=10**9))
    assert next(shapes) == ("readout_weight", (3, 10**9))


def test_training_state_needs_every_entry_with_its_type() -> None:
    config = S5RFConfig(input_dim=3, output_dim=2, num_neurons=4, num_layers=2, discretization="zoh")
    good = {"optimizer": {"state": {}, "param_groups": [{"params": [0, 1, 2]}, {"params": [3, 4, 5, 6, 7]}]},
            "epoch": 3, "step": 30, "recipe": Recipe().to_dict()}
    check_training_state("a.ckpt", good, config)
    for key, value in [("epoch", "four"), ("step", None), ("optimizer", "adam"), ("optimizer", {"state": {}}),
                       ("train_time_s", float("nan")), ("metrics", "good"), ("qat", {"bits": 8}),
                       ("optimizer", {"state": {}, "param_groups": [{"params": [0, 1]}]})]:
        with pytest.raises(CheckpointError, match=rf"^a\.ckpt: training state entry '{key}'"):
            check_training_state("a.ckpt", {**good, key: value}, config)
    for key in ("optimizer", "epoch", "step", "recipe"):
        with pytest.raises(CheckpointError, match=f"'{key}' is missing"):
            check_training_state("a.ckpt", {k: v for k, v in good.items() if k != key}, config)


@pytest.mark.parametrize("fields, message", [
    ({"lr": float("inf")}, "recipe field 'lr': expected a finite number"),
    ({"time_jitter": float("nan")}, "recipe field 'time_jitter': expected a finite number"),
    ({"epochs": "four"}, "recipe field 'epochs': expected a whole number"),
    ({"seed": -1}, r"recipe field 'seed': must be 0\.\.4294967295"),
    ({"cutmix": 2.0}, r"recipe field 'cutmix': must be in \[0, 1\]"),
])
def test_recipe_refuses_impossible_numbers(fields: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Recipe(**fields)


@pytest.mark.parametrize("source, message", [
    ("digits", "unknown data source 'digits'"),
    ({"kind": "shd"}, "field 'root'"),
    ({"kind": "shd", "root": "d", "channels": "four"}, "field 'channels'"),
    ({"kind": "shd", "root": "d", "channels": 3}, "must divide the 700"),
    ({"kind": "shd", "root": "d", "binning": {"mode": "fixed", "bin_ms": 1e-9}}, "bin_ms of at least 0.001"),
    ({"kind": "shd", "root": "d", "binning": {"mode": "duration", "bins": 2.5}}, "bins must be a whole number"),
    ({"kind": "digits", "levels": True}, "field 'levels'"),
])
def test_recorded_data_sources_are_checked(source, message: str) -> None:
    with pytest.raises(CheckpointError, match=rf"^m\.ckpt: dataset source: .*{message}"):
        check_source(source, "m.ckpt: dataset source", CheckpointError)


def test_binning_refuses_non_finite_bins() -> None:
    for bin_ms in (float("nan"), float("inf"), "4"):
        with pytest.raises(DataError, match="bin_ms"):
            resolve_binning({"mode": "fixed", "bin_ms": bin_ms})


@pytest.mark.parametrize("env, variable", [
    ({"WORLD_SIZE": "two"}, "WORLD_SIZE"), ({"WORLD_SIZE": "0"}, "WORLD_SIZE"),
    ({"WORLD_SIZE": "2", "RANK": "2"}, "RANK"), ({"WORLD_SIZE": "2", "RANK": "x"}, "RANK"),
    ({"WORLD_SIZE": "2", "LOCAL_RANK": "-1"}, "LOCAL_RANK"),
])
def test_torchrun_variables_are_checked(monkeypatch: pytest.MonkeyPatch, env: dict, variable: str) -> None:
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"^environment variable {variable}: "):
        launch_environment()


def test_without_torchrun_one_process() -> None:
    assert launch_environment().world_size >= 1


@pytest.mark.parametrize("name", ["bogus", "meta", "cuda:99" if torch.cuda.is_available() else "cuda"])
def test_devices_the_model_cannot_run_on_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=f"device '{name}'"):
        resolve_device(name)


def test_memory_guard_names_the_work_the_figure_and_the_machine() -> None:
    need = MemoryNeed("the rasters of x.h5", 3 * 10**12)
    with pytest.raises(ResourceError, match=r"^the rasters of x\.h5 needs 3 TB of memory, more than the 2 GB "):
        require(need, available=2 * 10**9)
    require(need, available=4 * 10**12)
    assert available_memory() > 0
    assert format_bytes(999) == "999 B" and format_bytes(2.65e15) == "2.65 PB"


def test_model_estimate_grows_with_every_size() -> None:
    base = model_bytes(32, 10, 64, 2, time_steps=100, batch=8)
    assert model_bytes(32, 10, 64, 2, time_steps=100, batch=8, training=True) > base
    for bigger in (model_bytes(64, 10, 64, 2, time_steps=100, batch=8), model_bytes(32, 10, 128, 2, time_steps=100, batch=8),
                   model_bytes(32, 10, 64, 3, time_steps=100, batch=8), model_bytes(32, 10, 64, 2, time_steps=200, batch=8)):
        assert bigger > base
    model = S5RFClassifier(S5RFConfig(input_dim=32, output_dim=10, num_neurons=64)).double()
    assert model_bytes(32, 10, 64, 2) >= sum(p.numel() * 8 for p in model.parameters())


def test_parser_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    parser = CommandParser(prog="s5rf-x")
    parser.add_argument("--n", type=int)
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["--n", "many"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines() == ["s5rf-x: error: argument --n: invalid int value: 'many' "
                                                    "(see s5rf-x --help)"]
