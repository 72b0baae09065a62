"""Import of models trained with the published JAX implementation (docs/design.md §2).

An `.npz` holds, for layers i = 0 … L−1 (complex numbers as a trailing axis [re, im]):

    dense_layers.{i}.B          (P, H, 2)  input weights B (H = input_dim for i = 0, else P)
    neuron_layers.{i}.Lambda    (P, 2)     [log(−Re λ), Im λ]
    neuron_layers.{i}.log_step  (P, 1)     log Δ
    neuron_layers.0.V           (P, P, 2)  optional, zoh first layer only: mixing after the scan
                                           (recomputed from the HiPPO-LegS initialisation when absent)
    output_dense.B              (O, P, 2)  readout weights (real part used)
    li.tau                      (O,)       readout decay logit κ

An `.eqx` file (written by `equinox.tree_serialise_leaves` of the published `Classifier`) holds
the same arrays as `.npy` records in the classifier's leaf order, with its scalar leaves
between them (`eqx_leaf_specs`); V is a static field there, never saved, so a zoh first layer
takes V from the HiPPO-LegS initialisation. The format is recognised by the file's first bytes,
not its name.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from s5rf_neuro import init
from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.eqx_leaves import MAGIC, LeafSpec, read_leaves
from s5rf_neuro.errors import FormatError
from s5rf_neuro.model import S5RFClassifier

_IDENTITY_TOLERANCE = 1e-6


def reference_shapes(config: S5RFConfig) -> dict[str, tuple[int, ...]]:
    """Every key a reference `.npz` for `config` must hold, with its shape (V excluded: it is optional)."""
    p, o = config.num_neurons, config.output_dim
    shapes: dict[str, tuple[int, ...]] = {}
    for i in range(config.num_layers):
        shapes[f"dense_layers.{i}.B"] = (p, config.input_dim if i == 0 else p, 2)
        shapes[f"neuron_layers.{i}.Lambda"] = (p, 2)
        shapes[f"neuron_layers.{i}.log_step"] = (p, 1)
    shapes["output_dense.B"] = (o, p, 2)
    shapes["li.tau"] = (o,)
    return shapes


def eqx_leaf_specs(config: S5RFConfig) -> list[LeafSpec]:
    """The records of an `.eqx` file of the published `Classifier` for `config`, in file order.

    Arrays are named by their `.npz` key (`reference_shapes`); scalar leaves by their field path.
    """
    shapes = reference_shapes(config)
    layers = range(config.num_layers)
    specs = []
    for i in layers:
        specs += [LeafSpec(f"dense_layers.{i}.B", shapes[f"dense_layers.{i}.B"], "f"),
                  LeafSpec(f"dense_layers.{i}.keep_imag", (), "b")]
    for i in layers:
        specs += [LeafSpec(f"neuron_layers.{i}.Lambda", shapes[f"neuron_layers.{i}.Lambda"], "f"),
                  LeafSpec(f"neuron_layers.{i}.log_step", shapes[f"neuron_layers.{i}.log_step"], "f"),
                  LeafSpec(f"neuron_layers.{i}.keep_imag", (), "b"),
                  LeafSpec(f"neuron_layers.{i}.step_rescale", (), "f")]
    return specs + [LeafSpec("drop.p", (), "f"), LeafSpec("drop.inference", (), "b"),
                    LeafSpec("output_dense.B", shapes["output_dense.B"], "f"),
                    LeafSpec("output_dense.keep_imag", (), "b"),
                    LeafSpec("li.tau", shapes["li.tau"], "f"), LeafSpec("li.dim", (), "i"),
                    LeafSpec("apply_skip", (), "b"), LeafSpec("dense_dropout", (), "b")]


def _read_eqx(path: Path, config: S5RFConfig) -> dict[str, np.ndarray]:
    """The `.npz`-layout arrays of an `.eqx` file.

    The scalar leaves the configuration also states (keep_imag of every layer, apply_skip, the readout
    width li.dim) must agree with it; the others are checked for their type only (the published forward
    pass does not use step_rescale, and dropout is off in an imported model).
    """
    specs = eqx_leaf_specs(config)
    records = dict(zip((spec.name for spec in specs), read_leaves(path, specs)))
    index = {spec.name: i for i, spec in enumerate(specs)}
    stated: dict[str, tuple[str, Any]] = {"apply_skip": ("apply_skip", config.apply_skip),
                                          "li.dim": ("output_dim", config.output_dim)}
    for i in range(config.num_layers):
        for leaf in (f"dense_layers.{i}.keep_imag", f"neuron_layers.{i}.keep_imag"):
            stated[leaf] = ("keep_imag", config.keep_imag)
    for leaf, (field, expected) in stated.items():
        value = records[leaf].item()
        if value != expected:
            raise FormatError(f"{path}: record {index[leaf]} ({leaf}) is {value}, "
                              f"but the configuration says {field}={expected}")
    values = {}
    for key in reference_shapes(config):
        value = records[key].astype(np.float64)
        if not np.all(np.isfinite(value)):
            raise FormatError(f"{path}: record {index[key]} ({key}) holds NaN or infinite values")
        values[key] = value
    return values


def _hippo_mixing(config: S5RFConfig) -> np.ndarray:
    """The HiPPO-LegS block eigenvectors V as (P, P, 2) [re, im]: the reference's V, which it does not save."""
    hippo_v = init.block_hippo(config.num_neurons, config.num_blocks)[1]
    return np.stack([hippo_v.real, hippo_v.imag], axis=-1)


def _open(path: Path) -> np.lib.npyio.NpzFile:
    with open(path, "rb") as stream:
        if stream.read(4) != b"PK\x03\x04":
            raise FormatError(f"{path}: not an .npz archive or an equinox (.eqx) file")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, zipfile.BadZipFile, EOFError) as err:
        raise FormatError(f"{path}: not a readable .npz archive ({str(err).splitlines()[0]})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise FormatError(f"{path}: a single .npy array, not an .npz archive of named parameters")
    return archive


def _array(path: Path, archive: np.lib.npyio.NpzFile, key: str, shape: tuple[int, ...]) -> np.ndarray:
    if key not in archive:
        raise FormatError(f"{path}: missing key {key!r} (expected shape {shape})")
    try:
        value = archive[key]
    except (ValueError, zipfile.BadZipFile, EOFError, OSError) as err:
        raise FormatError(f"{path}: key {key!r} cannot be read ({str(err).splitlines()[0]})") from None
    if not isinstance(value, np.ndarray):
        raise FormatError(f"{path}: key {key!r} is not a NumPy array (.npy member), expected shape {shape}")
    if value.shape != shape:
        raise FormatError(f"{path}: key {key!r} has shape {value.shape}, expected shape {shape}")
    if not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
        raise FormatError(f"{path}: key {key!r} has dtype {value.dtype}, expected real numbers")
    if not np.all(np.isfinite(value)):
        raise FormatError(f"{path}: key {key!r} holds NaN or infinite values")
    return value.astype(np.float64)


def load_reference(path: str | os.PathLike[str], config: S5RFConfig | Mapping[str, Any],
                   dtype: torch.dtype | None = None) -> S5RFClassifier:
    """An `S5RFClassifier` (eval mode) computing the same function as the reference parameters in `path`,
    an `.npz` of the reference layout or an `.eqx` file of the published classifier.

    config: the run's `S5RFConfig` or a dict of its fields (invalid → `ConfigError`).
    dtype: float32 or float64 for the model (default: torch's default dtype).
    Missing keys, unexpected keys and wrong shapes raise `FormatError` naming the key and expected shape
    (for `.eqx`: the record index, its leaf and what was expected).
    """
    path = Path(path)
    if not isinstance(config, S5RFConfig):
        config = S5RFConfig.from_dict(config)
    if _is_eqx(path):
        values = _read_eqx(path, config)
        mixing = _hippo_mixing(config) if config.discretization == "zoh" else None
    else:
        with _open(path) as archive:
            values, mixing = _read_all(path, archive, config, reference_shapes(config))
    model = S5RFClassifier(config, generator=torch.Generator()).to(dtype or torch.get_default_dtype())
    with torch.no_grad():
        for i, layer in enumerate(model.layers):
            layer.input_weight_ri.copy_(torch.from_numpy(values[f"dense_layers.{i}.B"]))
            layer.lambda_param.copy_(torch.from_numpy(values[f"neuron_layers.{i}.Lambda"]))
            layer.log_step.copy_(torch.from_numpy(values[f"neuron_layers.{i}.log_step"][:, 0]))
        if mixing is not None:
            model.layers[0].mixing_ri.copy_(torch.from_numpy(mixing))
        model.readout_weight.copy_(torch.from_numpy(values["output_dense.B"][..., 0]))
        model.readout_logit.copy_(torch.from_numpy(values["li.tau"]))
    return model.eval()


def _read_all(path: Path, archive: np.lib.npyio.NpzFile, config: S5RFConfig,
              shapes: dict[str, tuple[int, ...]]) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """The checked arrays of every key, and the mixing matrix V (P, P, 2) for a zoh first layer (else None)."""
    mixing_key = "neuron_layers.0.V"
    p = config.num_neurons
    for key in archive.keys():
        if key not in shapes and key != mixing_key:
            raise FormatError(f"{path}: unexpected key {key!r} for a config with num_layers={config.num_layers}")
    values = {key: _array(path, archive, key, shape) for key, shape in shapes.items()}
    if config.discretization != "zoh":
        if mixing_key in archive:
            v = _array(path, archive, mixing_key, (p, p, 2))
            if np.abs(v[..., 0] - np.eye(p)).max() > _IDENTITY_TOLERANCE or np.abs(v[..., 1]).max() > _IDENTITY_TOLERANCE:
                raise FormatError(f"{path}: key {mixing_key!r} is not the identity, but a "
                                  f"{config.discretization} first layer does not mix its states (only zoh does)")
        return values, None
    if mixing_key in archive:
        return values, _array(path, archive, mixing_key, (p, p, 2))
    return values, _hippo_mixing(config)


def _is_eqx(path: Path) -> bool:
    """Whether `path` starts like an `.eqx` file (an `.npy` record); an unreadable file is left to `_open`."""
    try:
        with open(path, "rb") as stream:
            return stream.read(len(MAGIC)) == MAGIC
    except OSError:
        return False
