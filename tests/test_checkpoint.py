"""Checkpoint save/load round trip and the one-line refusals of bad files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from s5rf_neuro.checkpoint import FORMAT, VERSION, load_checkpoint, save_checkpoint
from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.data import DatasetInfo
from s5rf_neuro.errors import CheckpointError
from s5rf_neuro.model import S5RFClassifier

DATASET = DatasetInfo(name="toy", encoding="binary", time_steps=20, input_dim=5, class_names=("a", "b", "c"),
                      source={"kind": "digits"})
METRICS = {"test_accuracy": 0.75, "spikes_per_sample": [3.5, 1.25]}


def make_model(**fields) -> S5RFClassifier:
    cfg = dict(input_dim=5, output_dim=3, num_neurons=8, num_blocks=2, num_layers=3, discretization="zoh")
    cfg.update(fields)
    torch.manual_seed(0)
    model = S5RFClassifier(S5RFConfig(**cfg))
    with torch.no_grad():
        for layer in model.layers:
            layer.input_weight_ri.mul_(20)
    return model


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, S5RFClassifier]:
    model = make_model()
    path = save_checkpoint(tmp_path / "model.ckpt", model, DATASET, METRICS, extra={"epoch": 4})
    return path, model


@pytest.mark.parametrize("double", [False, True])
def test_round_trip_gives_identical_outputs(tmp_path: Path, double: bool) -> None:
    model = make_model(discretization="bilinear", keep_imag=False, dropout=0.2)
    if double:
        model = model.double()
    extra = {"epoch": 7, "rng": np.arange(4), "lr": np.float32(0.5), "optimizer": {"state": {0: torch.ones(2)}}}
    path = save_checkpoint(tmp_path / "m.ckpt", model, DATASET, METRICS, extra)
    ckpt = load_checkpoint(path)
    assert (ckpt.format, ckpt.version) == (FORMAT, VERSION)
    assert ckpt.config == model.config
    assert ckpt.dataset == DATASET and ckpt.metrics == METRICS
    assert ckpt.extra["epoch"] == 7 and ckpt.extra["lr"] == 0.5
    assert torch.equal(ckpt.extra["rng"], torch.arange(4)) and torch.equal(ckpt.extra["optimizer"]["state"][0], torch.ones(2))
    rebuilt = ckpt.build_model()
    assert not rebuilt.training
    x = (torch.rand(4, 20, 5) < 0.5).float()
    model.eval()
    log_probs, spikes = model.forward_with_spikes(x)
    log_probs2, spikes2 = rebuilt.forward_with_spikes(x)
    assert torch.equal(log_probs, log_probs2) and log_probs2.dtype == log_probs.dtype
    assert all(torch.equal(a, b) for a, b in zip(spikes, spikes2))
    assert any(s.sum() > 0 for s in spikes)
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"format", "version", "config", "state_dict", "dataset", "metrics", "extra"}
    assert raw["dataset"] == {"name": "toy", "encoding": "binary", "time_steps": 20, "input_dim": 5,
                              "class_names": ["a", "b", "c"], "source": {"kind": "digits"}}


def test_loading_leaves_the_global_random_state_alone(saved) -> None:
    path, _ = saved
    state = torch.get_rng_state()
    load_checkpoint(path).build_model()
    assert torch.equal(state, torch.get_rng_state())


def test_failed_save_keeps_the_old_file_and_leaves_no_temporary(saved) -> None:
    path, model = saved
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"extra\['bad'\]"):
        save_checkpoint(path, model, DATASET, METRICS, extra={"bad": object()})
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]
    with pytest.raises(FileNotFoundError, match="directory does not exist"):
        save_checkpoint(path.parent / "missing" / "x.ckpt", model, DATASET, METRICS)


def one_line_error(path: Path) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_refuses_files_that_are_not_checkpoints(tmp_path: Path) -> None:
    text = tmp_path / "notes.ckpt"
    text.write_text("not a model")
    assert "not a checkpoint" in one_line_error(text)
    empty = tmp_path / "empty.ckpt"
    empty.write_bytes(b"")
    assert "empty file" in one_line_error(empty)
    other = tmp_path / "other.ckpt"
    torch.save({"weights": torch.ones(2)}, other)
    assert "not an s5rf checkpoint" in one_line_error(other)


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_refuses_pickled_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evil.ckpt"
    torch.save({"format": FORMAT, "version": 1, "payload": Payload()}, path)
    assert "weights_only" in one_line_error(path)
    assert "never run" not in capsys.readouterr().out


def test_refuses_truncated_and_corrupted_files(saved) -> None:
    path, _ = saved
    raw = path.read_bytes()
    for cut in (len(raw) // 2, len(raw) - 10, 30):
        path.write_bytes(raw[:cut])
        assert "truncated" in one_line_error(path)
    corrupted = bytearray(raw)
    middle = len(raw) // 2
    corrupted[middle:middle + 64] = bytes(64)
    path.write_bytes(bytes(corrupted))
    assert "corrupted checkpoint" in one_line_error(path)


def rewrite(path: Path, change) -> Path:
    data = torch.load(path, weights_only=True)
    change(data)
    torch.save(data, path)
    return path


def test_refuses_a_newer_format_version(saved) -> None:
    path, _ = saved
    rewrite(path, lambda d: d.update(version=VERSION + 1))
    assert f"format version {VERSION + 1} is newer" in one_line_error(path)
    rewrite(path, lambda d: d.update(version="1"))
    assert "invalid format version" in one_line_error(path)


def test_refuses_a_config_that_does_not_match_the_weights(saved) -> None:
    path, _ = saved
    rewrite(path, lambda d: d["config"].update(num_neurons=16, num_blocks=2))
    assert "config does not match weights" in one_line_error(path)
    rewrite(path, lambda d: d["config"].update(num_neurons=8, discretization="dirac"))
    message = one_line_error(path)
    assert "config does not match weights" in message and "layer 0 eigenvector mixing V" in message
    rewrite(path, lambda d: d["config"].update(discretization="zoh", num_layers=2))
    assert "unexpected layer 2 " in one_line_error(path)


def test_refuses_broken_entries(saved) -> None:
    path, _ = saved
    rewrite(path, lambda d: d["config"].update(hidden=3))
    assert ": config: unknown field 'hidden' (fields: input_dim" in one_line_error(path)
    rewrite(path, lambda d: d["config"].pop("hidden"))
    rewrite(path, lambda d: d.pop("metrics"))
    assert "'metrics'" in one_line_error(path)


def test_refuses_a_broken_dataset_description_naming_the_field(saved) -> None:
    path, _ = saved
    rewrite(path, lambda d: d["dataset"].pop("source"))
    message = one_line_error(path)
    assert message.startswith(f"{path}: dataset: field 'source' is missing"), message
    rewrite(path, lambda d: d["dataset"].update(source={"kind": "digits"}, time_steps="20"))
    assert f"{path}: dataset: field 'time_steps': expected an integer >= 0, got '20'" in one_line_error(path)
    rewrite(path, lambda d: d["dataset"].update(time_steps=20, class_names="abc"))
    assert "field 'class_names': expected a list of text" in one_line_error(path)
    rewrite(path, lambda d: d["dataset"].update(class_names=["a"], labels=3))
    assert "dataset: unknown field 'labels'" in one_line_error(path)


def test_no_data_source_is_stored_as_kind_none(tmp_path: Path) -> None:
    imported = DatasetInfo(name="imported", encoding="unknown", time_steps=0, input_dim=5,
                           class_names=("a", "b", "c"), source=None)
    path = save_checkpoint(tmp_path / "imported.ckpt", make_model(), imported, {})
    assert torch.load(path, weights_only=True)["dataset"]["source"] == {"kind": "none"}
    loaded = load_checkpoint(path).dataset
    assert loaded == imported and loaded.recorded_source is None
    assert load_checkpoint(save_checkpoint(tmp_path / "digits.ckpt", make_model(), DATASET, {})).dataset \
        .recorded_source == {"kind": "digits"}
    with pytest.raises(TypeError, match="DatasetInfo"):
        save_checkpoint(tmp_path / "dict.ckpt", make_model(), DATASET.to_dict(), {})
