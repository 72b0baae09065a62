"""Structured bad input for every command: valid containers (a real checkpoint, `.nir`, HDF5, `.npz`,
JSON) holding wrong content, impossible options and a broken environment.

Every case must end with a non-zero exit, exactly one line on stderr that names the file or option
given, no traceback, no hang, and every file already in the working directory unchanged. The cases
run in one Python process (`fuzz_driver.py`, through each command's `main(argv)`), started once as a
subprocess with a time limit; the mutations are drawn from a seeded generator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import h5py
import nir
import numpy as np
import pytest
import torch
from spike_files import write_shd_dir

SEED = 20261202
CASE_TIMEOUT_S = 60
DRIVER = Path(__file__).with_name("fuzz_driver.py")
ONE_CONFIG = {"input_dim": 32, "output_dim": 10, "num_neurons": 8, "num_blocks": 2, "num_layers": 2}


@dataclass(frozen=True)
class Case:
    """One command line over the workspace; `names` is what its one-line error must mention."""

    name: str
    command: str
    argv: tuple[str, ...]
    names: tuple[str, ...]
    env: tuple[tuple[str, str | None], ...] = ()


# ---------------------------------------------------------------------------------------------
# The workspace: valid files first, then one damaged copy per mutation.


def _checkpoint_payload(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


def _write_checkpoint(root: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    payload = _checkpoint_payload(root / "good.ckpt")
    change(payload)
    torch.save(payload, root / name)


_DELETE = object()
"""The value that removes an entry (`_edit`)."""


def _set_path(data: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    for key in keys[:-1]:
        data = data[key]
    if value is _DELETE:
        del data[keys[-1]]
    else:
        data[keys[-1]] = value


def _poison_weight(name: str, value: float, rng: np.random.Generator) -> Callable[[dict[str, Any]], None]:
    def change(payload: dict[str, Any]) -> None:
        tensor = payload["state_dict"][name].clone()
        flat = tensor.view(-1)
        flat[int(rng.integers(0, flat.numel()))] = value
        payload["state_dict"][name] = tensor

    return change


def _edit(keys: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda payload: _set_path(payload, keys, value)


CHECKPOINT_MUTATIONS: dict[str, Callable[[np.random.Generator], Callable[[dict[str, Any]], None]]] = {
    "nan_input_weight": lambda rng: _poison_weight("layers.0.input_weight_ri", float("nan"), rng),
    "inf_lambda": lambda rng: _poison_weight("layers.1.lambda_param", float("inf"), rng),
    "nan_log_step": lambda rng: _poison_weight("layers.0.log_step", float("nan"), rng),
    "inf_readout_logit": lambda rng: _poison_weight("readout_logit", float("-inf"), rng),
    "nan_readout_weight": lambda rng: _poison_weight("readout_weight", float("nan"), rng),
    "huge_log_step": lambda rng: _poison_weight("layers.1.log_step", 1e30, rng),
    "huge_readout_weight": lambda rng: _poison_weight("readout_weight", 3e38, rng),
    "huge_layers": lambda rng: _edit(("config", "num_layers"), 10**7),
    "huge_neurons": lambda rng: _edit(("config", "num_neurons"), 2 * 10**9),
    "huge_inputs": lambda rng: _edit(("config", "input_dim"), 10**10),
    "dataset_no_source": lambda rng: _edit(("dataset", "source"), _DELETE),
    "dataset_source_text": lambda rng: _edit(("dataset", "source"), "digits"),
    "dataset_source_kind_bogus": lambda rng: _edit(("dataset", "source"), {"kind": "bogus"}),
    "dataset_source_shd_no_root": lambda rng: _edit(("dataset", "source"), {"kind": "shd"}),
    "dataset_binning_text": lambda rng: _edit(("dataset", "source"),
                                               {"kind": "shd", "root": "shd", "binning": "four", "channels": 140}),
    "dataset_channels_text": lambda rng: _edit(("dataset", "source"),
                                                {"kind": "shd", "root": "shd", "channels": "four"}),
    "dataset_steps_text": lambda rng: _edit(("dataset", "time_steps"), "four"),
    "metrics_text": lambda rng: _edit(("metrics",), "accuracy"),
    "metrics_accuracy_text": lambda rng: _edit(("metrics", "test_accuracy"), "high"),
    "metrics_accuracy_nan": lambda rng: _edit(("metrics", "test_accuracy"), float("nan")),
}
"""Damaged model or data description: every command that reads the checkpoint refuses it."""

RESUME_MUTATIONS: dict[str, Callable[[np.random.Generator], Callable[[dict[str, Any]], None]]] = {
    "recipe_text": lambda rng: _edit(("extra", "recipe"), "fast"),
    "recipe_epochs_text": lambda rng: _edit(("extra", "recipe", "epochs"), "four"),
    "recipe_unknown_field": lambda rng: _edit(("extra", "recipe", "momentum"), 0.9),
    "recipe_lr_inf": lambda rng: _edit(("extra", "recipe", "lr"), float("inf")),
    "resume_no_optimizer": lambda rng: _edit(("extra", "optimizer"), _DELETE),
    "resume_optimizer_text": lambda rng: _edit(("extra", "optimizer"), "adam"),
    "resume_optimizer_other_model": lambda rng: _edit(("extra", "optimizer", "param_groups"),
                                                      [{"params": [0], "lr": 0.1}]),
    "resume_epoch_text": lambda rng: _edit(("extra", "epoch"), "four"),
    "resume_no_step": lambda rng: _edit(("extra", "step"), _DELETE),
    "resume_metrics_text": lambda rng: _edit(("extra", "metrics"), "good"),
    "qat_unknown_field": lambda rng: _edit(("extra", "qat"), {"bits": 8}),
}
"""Damaged training state: only `s5rf-train --resume` reads it."""


def _nir_edit(root: Path, name: str, change: Callable[[nir.NIRGraph], None]) -> None:
    graph = nir.read(root / "export" / "model.nir")
    change(graph)
    nir.write(root / name, graph)


def _layer_meta(graph: nir.NIRGraph, layer: str = "layer_0") -> dict[str, Any]:
    node = graph.nodes[layer] if layer in graph.nodes else graph.nodes["readout"]
    return node.metadata["s5rf_neuro"]


def _target_meta(graph: nir.NIRGraph) -> dict[str, Any]:
    return graph.metadata["s5rf_neuro"]["target"]


def _nir_set(where: Callable[[nir.NIRGraph], dict[str, Any]], key: str,
             value: Callable[[np.ndarray, np.random.Generator], Any], rng: np.random.Generator) -> Callable:
    def change(graph: nir.NIRGraph) -> None:
        meta = where(graph)
        meta[key] = value(meta.get(key), rng)

    return change


def _one_entry(array: np.ndarray, value: Any, rng: np.random.Generator, dtype: Any = None) -> np.ndarray:
    out = np.array(array, dtype=dtype or array.dtype)
    out.reshape(-1)[int(rng.integers(0, out.size))] = value
    return out


NIR_MUTATIONS: dict[str, Callable[[np.random.Generator], Callable[[nir.NIRGraph], None]]] = {
    "wide_mantissa": lambda rng: _nir_set(_layer_meta, "weight_re", lambda a, r: _one_entry(a, 300, r, np.int16), rng),
    "growing_decay": lambda rng: _nir_set(_layer_meta, "decay_re", lambda a, r: _one_entry(a, 5000, r, np.int16), rng),
    "negative_threshold": lambda rng: _nir_set(_layer_meta, "threshold", lambda a, r: _one_entry(a, -5, r, np.int32), rng),
    "huge_exponent": lambda rng: _nir_set(_layer_meta, "weight_exp_re", lambda a, r: np.int64(4000), rng),
    "nan_state_scale": lambda rng: _nir_set(_layer_meta, "state_scale", lambda a, r: np.float64("nan"), rng),
    "readout_nan_scale": lambda rng: _nir_set(lambda g: _layer_meta(g, "readout"), "state_scale",
                                              lambda a, r: np.float64("inf"), rng),
    "state_bits_200": lambda rng: _nir_set(_target_meta, "state_bits", lambda a, r: np.int64(200), rng),
    "state_bits_0": lambda rng: _nir_set(_target_meta, "state_bits", lambda a, r: np.int64(0), rng),
    "decay_bits_0": lambda rng: _nir_set(_target_meta, "decay_bits", lambda a, r: np.int64(0), rng),
    "decay_bits_70": lambda rng: _nir_set(_target_meta, "decay_bits", lambda a, r: np.int64(70), rng),
    "rounding_banana": lambda rng: _nir_set(_target_meta, "decay_rounding", lambda a, r: "banana", rng),
    "cores_0": lambda rng: _nir_set(_target_meta, "cores_per_chip", lambda a, r: np.int64(0), rng),
    "huge_declared_layers": lambda rng: _nir_set(lambda g: g.metadata["s5rf_neuro"], "num_layers",
                                                 lambda a, r: np.int64(10**9), rng),
    "network_metadata_not_json": lambda rng: _nir_set(lambda g: g.metadata["s5rf_neuro"], "network_metadata",
                                                      lambda a, r: "{broken", rng),
    "dataset_source_text": lambda rng: _nir_set(
        lambda g: g.metadata["s5rf_neuro"], "network_metadata",
        lambda a, r: json.dumps({**json.loads(a), "dataset": {**json.loads(a)["dataset"], "source": "digits"}}), rng),
}


def _huge_matrix_nir(root: Path) -> None:
    """model.nir with layer 0's weight mantissas declared as a 10^6 x 10^6 matrix (a few kB on disk:
    chunked and never written, so HDF5 stores only the fill value)."""
    import shutil

    shutil.copy(root / "export" / "model.nir", root / "huge_matrix.nir")
    with h5py.File(root / "huge_matrix.nir", "a") as f:
        group = f["node/nodes/layer_0/metadata/s5rf_neuro"]
        del group["weight_re"]
        group.create_dataset("weight_re", shape=(10**6, 10**6), dtype=np.int8, chunks=(1000, 1000),
                             compression="gzip")


def _float_nir(root: Path) -> None:
    from s5rf_neuro.commands.export import main as export

    assert export([str(root / "good.ckpt"), "--target", "float", "-o", str(root / "export-float"),
                   "--test-samples", "0"]) == 0


FLOAT_NIR_MUTATIONS: dict[str, Callable[[np.random.Generator], Callable[[nir.NIRGraph], None]]] = {
    "float_nan_threshold": lambda rng: _nir_set(_layer_meta, "threshold", lambda a, r: _one_entry(a, np.nan, r), rng),
    "float_decay_one": lambda rng: _nir_set(_layer_meta, "decay_re", lambda a, r: _one_entry(a, 1.5, r), rng),
    "float_nan_weight": lambda rng: _nir_set(_layer_meta, "weight_im", lambda a, r: _one_entry(a, np.nan, r), rng),
}


def _spike_file(path: Path, times: list[Any], units: list[Any], labels: Any,
                times_dtype: Any = np.float32, units_dtype: Any = np.float64) -> None:
    with h5py.File(path, "w") as f:
        if times_dtype is str:
            f.create_dataset("spikes/times", data=np.array([b"0.1 0.2"] * len(units)))
        else:
            t = f.create_dataset("spikes/times", (len(times),), dtype=h5py.vlen_dtype(times_dtype))
            for i, value in enumerate(times):
                t[i] = np.asarray(value, dtype=times_dtype)
        u = f.create_dataset("spikes/units", (len(units),), dtype=h5py.vlen_dtype(units_dtype))
        for i, value in enumerate(units):
            u[i] = np.asarray(value, dtype=units_dtype)
        f.create_dataset("labels", data=labels)
        f.create_dataset("extra/keys", data=np.array([f"c{i}".encode() for i in range(20)]))


def _spike_dir(root: Path, name: str, rng: np.random.Generator, bad: str) -> None:
    """A directory `name` with shd_train.h5 and shd_test.h5, the test file damaged as `bad` says."""
    directory = root / name
    directory.mkdir()
    n = 6
    times = [np.sort(rng.uniform(0.0, 0.5, 10)) for _ in range(n)]
    units = [rng.integers(0, 700, 10).astype(np.float64) for _ in range(n)]
    labels = np.arange(n, dtype=np.uint16)
    _spike_file(directory / "shd_train.h5", times, units, labels)
    sample = int(rng.integers(0, n))
    if bad == "nan_times":
        times[sample][3] = np.nan
    elif bad == "inf_times":
        times[sample][-1] = np.inf
    elif bad == "negative_times":
        times[sample][0] = -0.25
    elif bad == "fractional_units":
        units[sample][2] = 3.5
    elif bad == "fractional_labels":
        labels = labels.astype(np.float64)
        labels[sample] = 1.5
    elif bad == "all_empty":
        times, units = [np.zeros(0)] * n, [np.zeros(0)] * n
    elif bad == "scalar_labels":
        labels = np.uint16(3)
    if bad == "string_times":
        _spike_file(directory / "shd_test.h5", times, units, labels, times_dtype=str)
    else:
        _spike_file(directory / "shd_test.h5", times, units, labels)


SPIKE_MUTATIONS = ("nan_times", "inf_times", "negative_times", "fractional_units", "fractional_labels",
                   "all_empty", "scalar_labels", "string_times")


def _reference(rng: np.random.Generator) -> dict[str, np.ndarray]:
    p, h, o = ONE_CONFIG["num_neurons"], ONE_CONFIG["input_dim"], ONE_CONFIG["output_dim"]
    params = {}
    for i in range(ONE_CONFIG["num_layers"]):
        params[f"dense_layers.{i}.B"] = rng.normal(0, 0.3, (p, h if i == 0 else p, 2))
        params[f"neuron_layers.{i}.Lambda"] = np.stack([np.log(rng.uniform(0.1, 1, p)), rng.normal(0, 1, p)], -1)
        params[f"neuron_layers.{i}.log_step"] = np.log(rng.uniform(0.01, 0.1, (p, 1)))
    params["output_dense.B"] = rng.normal(0, 0.3, (o, p, 2))
    params["li.tau"] = rng.normal(0, 1, o)
    return params


def _npz_with_raw_member(path: Path, params: dict[str, np.ndarray], member: str, payload: bytes) -> None:
    import zipfile

    np.savez(path, **{k: v for k, v in params.items() if k != member})
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(member, payload)


def build_workspace(root: Path) -> None:
    """The valid files every case starts from, and the damaged ones the cases read."""
    from s5rf_neuro.commands.export import main as export
    from s5rf_neuro.training import Recipe, run

    rng = np.random.default_rng(SEED)
    config = {k: v for k, v in ONE_CONFIG.items() if k not in ("input_dim", "output_dim")}
    run({"kind": "digits"}, Recipe(epochs=0, eval_batch_size=512), root / "good.ckpt", config=config, progress=False)
    assert export([str(root / "good.ckpt"), "-o", str(root / "export"), "--test-samples", "0"]) == 0
    _float_nir(root)
    _huge_matrix_nir(root)
    write_shd_dir(root / "shd", train_per_class=1, test_per_class=1)
    for name, mutation in (CHECKPOINT_MUTATIONS | RESUME_MUTATIONS).items():
        _write_checkpoint(root, f"{name}.ckpt", mutation(rng))
    for name, mutation in NIR_MUTATIONS.items():
        _nir_edit(root, f"{name}.nir", mutation(rng))
    for name, mutation in FLOAT_NIR_MUTATIONS.items():
        graph = nir.read(root / "export-float" / "model.nir")
        mutation(rng)(graph)
        nir.write(root / f"{name}.nir", graph)
    for bad in SPIKE_MUTATIONS:
        _spike_dir(root, f"spikes_{bad}", rng, bad)
    params = _reference(rng)
    (root / "config.json").write_text(json.dumps(ONE_CONFIG))
    (root / "config_latin1.json").write_bytes(json.dumps({**ONE_CONFIG, "discretization": "zoh"}).encode()
                                              .replace(b"zoh", "zöh".encode("latin-1")))
    (root / "config_unknown.json").write_text(json.dumps({**ONE_CONFIG, "momentum": 0.9}))
    (root / "config_huge.json").write_text(json.dumps({**ONE_CONFIG, "num_layers": 10**9}))
    (root / "config_neurons_text.json").write_text(json.dumps({**ONE_CONFIG, "num_neurons": "four"}))
    nan_params = dict(params)
    nan_params["li.tau"] = _one_entry(params["li.tau"], np.nan, rng)
    np.savez(root / "ref_nan.npz", **nan_params)
    _npz_with_raw_member(root / "ref_not_array.npz", params, "li.tau", b"not an array")
    object_params = {k: v for k, v in params.items() if k != "li.tau"}
    np.savez(root / "ref_object.npz", **object_params, **{"li.tau": np.array([{"a": 1}] * 10, dtype=object)})
    np.savez(root / "ref_good.npz", **params)
    (root / "dataset_bad.json").write_text(json.dumps({"time_steps": "four"}))
    (root / "profile_latin1.json").write_bytes('{"name": "gr\xfcn"}'.encode("latin-1"))
    (root / "profile_unknown.json").write_text(json.dumps({"name": "mine", "bits": 8}))
    (root / "a_directory.ckpt").mkdir()
    (root / "report").mkdir()
    (root / "report" / "report.md").write_text("an earlier report\n")


# ---------------------------------------------------------------------------------------------
# The cases.


def _checkpoint_cases() -> list[Case]:
    cases = []
    for name in CHECKPOINT_MUTATIONS:
        ckpt = f"{name}.ckpt"
        cases.append(Case(f"eval-{name}", "s5rf-eval", (ckpt,), (ckpt,)))
        cases.append(Case(f"export-{name}", "s5rf-export", (ckpt, "-o", "export", "--force", "--test-samples", "0"),
                          (ckpt,)))
    for name in list(CHECKPOINT_MUTATIONS) + list(RESUME_MUTATIONS):
        ckpt = f"{name}.ckpt"
        cases.append(Case(f"resume-{name}", "s5rf-train", ("--resume", ckpt, "-o", "good.ckpt", "--epochs", "1",
                                                            "--no-progress"), (ckpt,)))
    for name in ("nan_input_weight", "huge_layers", "dataset_source_text", "metrics_text"):
        cases.append(Case(f"report-{name}", "s5rf-report", (f"{name}.ckpt", "-o", "report", "--samples", "5",
                                                            "--no-progress"), (f"{name}.ckpt",)))
    cases.append(Case("qat-unknown-field", "s5rf-train", ("--resume", "qat_unknown_field.ckpt", "--qat", "loihi2",
                                                          "-o", "good.ckpt", "--no-progress"),
                      ("qat_unknown_field.ckpt",)))
    cases.append(Case("eval-directory", "s5rf-eval", ("a_directory.ckpt",), ("a_directory.ckpt",)))
    cases.append(Case("export-directory", "s5rf-export", ("a_directory.ckpt", "-o", "export", "--force"),
                      ("a_directory.ckpt",)))
    cases.append(Case("resume-directory", "s5rf-train", ("--resume", "a_directory.ckpt", "-o", "good.ckpt"),
                      ("a_directory.ckpt",)))
    cases.append(Case("report-directory", "s5rf-report", ("a_directory.ckpt", "-o", "report"), ("a_directory.ckpt",)))
    cases.append(Case("run-directory", "s5rf-run", ("export",), ("export",)))
    cases.append(Case("import-directory", "s5rf-import", ("export", "--config", "config.json", "-o", "good.ckpt"),
                      ("export",)))
    return cases


def _nir_cases() -> list[Case]:
    cases = []
    for name in list(NIR_MUTATIONS) + list(FLOAT_NIR_MUTATIONS):
        model = f"{name}.nir"
        cases.append(Case(f"run-{name}", "s5rf-run", (model, "--samples", "4"), (model,)))
    cases.append(Case("run-huge_matrix", "s5rf-run", ("huge_matrix.nir", "--samples", "4"), ("huge_matrix.nir",)))
    cases.append(Case("report-huge_matrix", "s5rf-report", ("huge_matrix.nir", "-o", "report", "--no-progress"),
                      ("huge_matrix.nir",)))
    for name in ("wide_mantissa", "decay_bits_70", "float_nan_threshold"):
        cases.append(Case(f"report-{name}", "s5rf-report", (f"{name}.nir", "-o", "report", "--samples", "4",
                                                            "--no-progress"), (f"{name}.nir",)))
    return cases


def _spike_cases() -> list[Case]:
    cases = []
    for bad in SPIKE_MUTATIONS:
        directory = f"spikes_{bad}"
        cases.append(Case(f"eval-{bad}", "s5rf-eval", ("good.ckpt", "--data", "shd", "--data-dir", directory),
                          ("shd_test.h5",)))
        cases.append(Case(f"eval-fixed-{bad}", "s5rf-eval", ("good.ckpt", "--data", "shd", "--data-dir", directory,
                                                              "--binning", "fixed", "--channels", "35"),
                          ("shd_test.h5",)))
    cases.append(Case("run-fixed-nan", "s5rf-run", ("export/model.nir", "--data", "shd", "--data-dir",
                                                    "spikes_nan_times", "--binning", "fixed"), ("shd_test.h5",)))
    return cases


def _reference_cases() -> list[Case]:
    cases = []
    for npz in ("ref_nan.npz", "ref_not_array.npz", "ref_object.npz"):
        cases.append(Case(f"import-{npz}", "s5rf-import", (npz, "--config", "config.json", "-o", "good.ckpt"),
                          (npz,)))
    for config in ("config_latin1.json", "config_unknown.json", "config_huge.json", "config_neurons_text.json"):
        cases.append(Case(f"import-{config}", "s5rf-import", ("ref_good.npz", "--config", config, "-o", "good.ckpt"),
                          (config,)))
    cases.append(Case("import-dataset-bad", "s5rf-import", ("ref_good.npz", "--config", "config.json",
                                                            "--dataset", "dataset_bad.json", "-o", "good.ckpt"),
                      ("dataset_bad.json",)))
    return cases


TRAIN_QUICK = ("--epochs", "1", "--num-neurons", "8", "--num-blocks", "2", "-o", "good.ckpt", "--no-progress")


def _option_cases() -> list[Case]:
    train = [
        ("lr-inf", ("--lr", "inf"), "--lr"),
        ("lr-nan", ("--lr", "nan"), "--lr"),
        ("lr-ssm-inf", ("--lr-ssm", "inf"), "--lr-ssm"),
        ("weight-decay-nan", ("--weight-decay", "nan"), "--weight-decay"),
        ("time-jitter-inf", ("--time-jitter", "inf"), "--time-jitter"),
        ("cutmix-nan", ("--cutmix", "nan"), "--cutmix"),
        ("channel-shift-too-large", ("--channel-shift", "5000"), "--channel-shift"),
        ("seed-negative", ("--seed", "-1"), "--seed"),
        ("device-bogus", ("--device", "bogus"), "--device"),
        ("device-meta", ("--device", "meta"), "--device"),
        ("eta-max-inf", ("--eta-max", "inf"), "--eta-max"),
        ("num-neurons-huge", ("--num-neurons", "4000000000", "--num-blocks", "1"), "4000000000 neurons"),
        ("num-layers-huge", ("--num-layers", "100000000"), "100000000 layers"),
        ("channels-not-divisor", ("--data", "shd", "--data-dir", "shd", "--channels", "3"), "--channels"),
        ("bin-ms-tiny", ("--data", "shd", "--data-dir", "shd", "--binning", "fixed", "--bin-ms", "1e-9"),
         "--bin-ms"),
        ("bin-ms-nan", ("--data", "shd", "--data-dir", "shd", "--binning", "fixed", "--bin-ms", "nan"), "--bin-ms"),
        ("bins-huge", ("--data", "shd", "--data-dir", "shd", "--bins", "1000000000"), "1000000000 steps"),
        ("time-steps-huge", ("--data", "shd", "--data-dir", "shd", "--binning", "fixed", "--time-steps",
                             "100000000000"), "100000000000 steps"),
        ("synops-penalty-inf", ("--synops-penalty", "inf"), "--synops-penalty"),
    ]
    cases = []
    for name, extra, mention in train:
        argv = TRAIN_QUICK + extra
        cases.append(Case(f"train-{name}", "s5rf-train", argv, (mention,)))
    cases += [
        Case("eval-device-bogus", "s5rf-eval", ("good.ckpt", "--device", "bogus"), ("--device",)),
        Case("eval-device-meta", "s5rf-eval", ("good.ckpt", "--device", "meta"), ("--device",)),
        Case("eval-batch-size-0", "s5rf-eval", ("good.ckpt", "--batch-size", "0"), ("--batch-size",)),
        Case("eval-bin-ms-tiny", "s5rf-eval", ("good.ckpt", "--data", "shd", "--data-dir", "shd", "--binning",
                                               "fixed", "--bin-ms", "1e-9"), ("--bin-ms",)),
        Case("run-samples-0", "s5rf-run", ("export/model.nir", "--samples", "0"), ("--samples",)),
        Case("run-channels-not-divisor", "s5rf-run", ("export/model.nir", "--data", "shd", "--data-dir", "shd",
                                                      "--channels", "3"), ("--channels",)),
        Case("export-calibrate-negative", "s5rf-export", ("good.ckpt", "-o", "export", "--force",
                                                          "--calibrate", "-3"), ("--calibrate",)),
        Case("export-target-bogus", "s5rf-export", ("good.ckpt", "-o", "export", "--force", "--target", "banana"),
             ("--target",)),
        Case("report-profile-latin1", "s5rf-report", ("good.ckpt", "-o", "report", "--profile", "profile_latin1.json"),
             ("profile_latin1.json",)),
        Case("report-profile-unknown", "s5rf-report", ("good.ckpt", "-o", "report", "--profile",
                                                       "profile_unknown.json"), ("profile_unknown.json",)),
        Case("report-samples-0", "s5rf-report", ("good.ckpt", "-o", "report", "--samples", "0"), ("--samples",)),
        Case("report-bin-ms-tiny", "s5rf-report", ("good.ckpt", "-o", "report", "--data", "shd", "--data-dir", "shd",
                                                   "--binning", "fixed", "--bin-ms", "1e-9"), ("--bin-ms",)),
        Case("data-seed-negative", "s5rf-data", ("spoken-digits", "-o", "report", "--seed", "-1"), ("--seed",)),
        Case("data-per-class-0", "s5rf-data", ("spoken-commands", "-o", "report", "--per-class", "0"),
             ("--per-class",)),
        Case("import-no-such-config", "s5rf-import", ("ref_good.npz", "--config", "missing.json", "-o", "x.ckpt"),
             ("missing.json",)),
    ]
    return cases


def _environment_cases() -> list[Case]:
    variables = [
        ("world-size-text", {"WORLD_SIZE": "two", "RANK": "0", "LOCAL_RANK": "0"}, "WORLD_SIZE"),
        ("world-size-zero", {"WORLD_SIZE": "0", "RANK": "0", "LOCAL_RANK": "0"}, "WORLD_SIZE"),
        ("rank-too-large", {"WORLD_SIZE": "2", "RANK": "5", "LOCAL_RANK": "0"}, "RANK"),
        ("rank-text", {"WORLD_SIZE": "2", "RANK": "first", "LOCAL_RANK": "0"}, "RANK"),
        ("local-rank-negative", {"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "-1"}, "LOCAL_RANK"),
    ]
    return [Case(f"train-env-{name}", "s5rf-train", TRAIN_QUICK, (mention,), tuple(env.items()))
            for name, env, mention in variables]


CASES = _checkpoint_cases() + _nir_cases() + _spike_cases() + _reference_cases() + _option_cases() \
    + _environment_cases()


# ---------------------------------------------------------------------------------------------
# Running them.


@dataclass(frozen=True)
class FuzzRun:
    """The workspace the cases ran in, and each case's result (`fuzz_driver.run_case`) by name."""

    root: Path
    results: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> FuzzRun:
    root = tmp_path_factory.mktemp("fuzz")
    build_workspace(root)
    spec = {"root": str(root), "timeout_s": CASE_TIMEOUT_S,
            "cases": [{"name": c.name, "command": c.command, "argv": list(c.argv), "env": dict(c.env)}
                      for c in CASES]}
    cases_file, results_file = root.parent / "cases.json", root.parent / "results.json"
    cases_file.write_text(json.dumps(spec))
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    subprocess.run([sys.executable, str(DRIVER), str(cases_file), str(results_file)], check=True, timeout=900,
                   env=env)
    return FuzzRun(root, {result["name"]: result for result in json.loads(results_file.read_text())})


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_in_one_line(case: Case, outcomes: FuzzRun) -> None:
    result = outcomes.results[case.name]
    assert result["code"] != "hang", f"{case.name}: ran past {CASE_TIMEOUT_S} s"
    assert result["code"] != "traceback", result["trace"]
    assert result["code"] not in (0, None), f"{case.name}: accepted: {result['stderr']}"
    lines = result["stderr"].splitlines()
    assert len(lines) == 1, result["stderr"]
    assert "Traceback" not in lines[0]
    assert any(name in lines[0] for name in case.names), lines[0]
    if "directory" in case.name:
        assert "no such file" not in lines[0].lower(), lines[0]
    assert result["changed"] == [], f"{case.name} changed {result['changed']}"


@pytest.mark.parametrize("script, argv, env, mention", [
    ("s5rf-eval", ["nan_readout_weight.ckpt"], {}, "readout weights"),
    ("s5rf-train", ["--epochs", "1", "-o", "good.ckpt"], {"WORLD_SIZE": "2", "RANK": "7"}, "RANK"),
])
def test_console_scripts_refuse_in_one_line(outcomes: FuzzRun, script: str, argv: list[str], env: dict[str, str],
                                            mention: str) -> None:
    """The installed entry points behave as `main(argv)` does in the driver (a real process each)."""
    root = outcomes.root
    before = {path: path.read_bytes() for path in root.glob("good*")}
    done = subprocess.run([str(Path(sys.executable).with_name(script)), *argv], cwd=root, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and mention in done.stderr and "Traceback" not in done.stderr
    assert {path: path.read_bytes() for path in root.glob("good*")} == before
