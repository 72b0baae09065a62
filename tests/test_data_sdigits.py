"""sdigits/psdigits (the digits read pixel by pixel as real values) and the smnist preset built on them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from s5rf_neuro import training
from s5rf_neuro.checkpoint import load_checkpoint
from s5rf_neuro.commands.evaluate import main as eval_main
from s5rf_neuro.commands.train import build_parser, main as train_main, settings
from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.data import dataset_info, load_split, resolve_source
from s5rf_neuro.data.digits import split_indices
from s5rf_neuro.data.sdigits import default_permutation
from s5rf_neuro.errors import DataError
from s5rf_neuro.model import S5RFClassifier


def test_sdigits_is_each_image_pixel_by_pixel_as_intensity_over_16():
    raw = load_digits()
    train_idx, test_idx = split_indices(raw.target)
    for split, idx in (("train", train_idx), ("test", test_idx)):
        data = load_split({"kind": "sdigits"}, split)
        assert data.inputs.shape == (len(idx), 64, 1) and data.inputs.dtype == np.float32
        np.testing.assert_array_equal(data.labels, raw.target[idx])
        np.testing.assert_array_equal(data.inputs[:, :, 0], raw.images[idx].reshape(-1, 64) / 16)
    assert data.inputs.min() == 0.0 and data.inputs.max() == 1.0
    assert data.name == "sdigits" and "intensity / 16" in data.encoding and "T = 64" in data.encoding
    assert len(load_split({"kind": "sdigits"}, "train")) == 1438


def test_psdigits_reads_the_pixels_in_one_recorded_order():
    source = resolve_source({"kind": "psdigits"})
    permutation = source["permutation"]
    assert sorted(permutation) == list(range(64)) and permutation != list(range(64))
    assert permutation == default_permutation()
    plain = load_split({"kind": "sdigits"}, "test")
    permuted = load_split(source, "test")
    np.testing.assert_array_equal(permuted.inputs, plain.inputs[:, permutation])
    np.testing.assert_array_equal(permuted.labels, plain.labels)
    info = dataset_info(source, permuted)
    assert info.name == "psdigits" and info.time_steps == 64 and info.input_dim == 1 and info.source == source
    assert "permutation" in info.encoding

    other = list(reversed(range(64)))
    reversed_data = load_split({"kind": "psdigits", "permutation": other}, "test")
    np.testing.assert_array_equal(reversed_data.inputs, plain.inputs[:, ::-1])


@pytest.mark.parametrize("permutation", [list(range(63)), [0] * 64, "abc", [float(i) for i in range(64)]])
def test_a_bad_recorded_permutation_is_named(permutation):
    with pytest.raises(DataError, match="data source psdigits: field 'permutation' must list each pixel index 0..63"):
        load_split({"kind": "psdigits", "permutation": permutation}, "test")


def test_smnist_preset_is_the_published_recipe_with_eigenvector_mixing():
    parser = build_parser()
    source, recipe, config, _ = settings(parser, parser.parse_args(["--preset", "smnist"]))
    assert source == {"kind": "sdigits"}
    assert config == {"num_layers": 2, "num_neurons": 128, "num_blocks": 8, "discretization": "zoh",
                      "eta_min": 0.001, "eta_max": 0.1, "keep_imag": True, "dropout": 0.15}
    assert (recipe.lr, recipe.lr_ssm, recipe.weight_decay, recipe.batch_size) == (0.008, 0.002, 1e-4, 64)
    assert recipe.epochs == training.PRESETS["smnist"]["recipe"]["epochs"]
    model = S5RFClassifier(S5RFConfig(input_dim=1, output_dim=10, **config))
    mixing = model.layers[0].mixing
    assert mixing is not None and model.layers[1].mixing is None
    assert not torch.allclose(mixing, torch.eye(128, dtype=mixing.dtype), atol=1e-3)
    block = 128 // 8  # block-diagonal: no mixing across blocks
    assert torch.count_nonzero(mixing[:block, block:]) == 0 and torch.count_nonzero(mixing[:block, :block]) > 0
    source, _, _, _ = settings(parser, parser.parse_args(["--preset", "smnist", "--data", "psdigits"]))
    assert source == {"kind": "psdigits"}


def argument_error(capsys, main, argv: list[str]) -> str:
    """The last stderr line of `main(argv)`, which must stop with exit code 2."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_training_records_the_permutation_and_eval_rebuilds_the_data(tmp_path, capsys):
    out = tmp_path / "ps.ckpt"
    assert train_main(["--data", "psdigits", "--num-neurons", "8", "--num-blocks", "2", "--discretization", "zoh",
                       "--epochs", "1", "--batch-size", "128", "--no-progress", "-o", str(out)]) == 0
    dataset = load_checkpoint(out).dataset
    assert dataset.source == {"kind": "psdigits", "permutation": default_permutation()}
    assert dataset.name == "psdigits" and dataset.time_steps == 64 and dataset.input_dim == 1
    capsys.readouterr()
    assert eval_main([str(out)]) == 0
    assert "psdigits test: 359 samples" in capsys.readouterr().out
    assert argument_error(capsys, eval_main, [str(out), "--data-dir", str(tmp_path)]) == \
        "s5rf-eval: error: argument --data-dir: the recorded data set (psdigits) has no data directory (see s5rf-eval --help)"
    assert argument_error(capsys, train_main, ["--data", "sdigits", "--data-dir", str(tmp_path)]) == \
        "s5rf-train: error: argument --data-dir: not used by --data sdigits (see s5rf-train --help)"
