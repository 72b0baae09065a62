"""Import of models trained with the published JAX implementation (docs/design.md §2).

An `.npz` holds, for layers i = 0 … L−1 (complex numbers as a trailing axis [re, im]):

    dense_layers.{i}.B          (P, H, 2)  input weights B (H = input_dim for i = 0, else P)
    neuron_layers.{i}.Lambda    (P, 2)     [log(−Re λ), Im λ]
    neuron_layers.{i}.log_step  (P, 1)     log Δ
    neuron_layers.0.V           (P, P, 2)  optional, zoh first layer only: mixing after the scan
                                           (recomputed from the HiPPO-LegS initialisation when absent)
    output_dense.B              (O, P, 2)  readout weights (real part used)
    li.tau                      (O,)       readout decay logit κ
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


def _open(path: Path) -> np.lib.npyio.NpzFile:
    with open(path, "rb") as stream:
        if stream.read(4) != b"PK\x03\x04":
            raise FormatError(f"{path}: not an .npz archive")
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
    """An `S5RFClassifier` (eval mode) computing the same function as the reference parameters in `path`.

    config: the run's `S5RFConfig` or a dict of its fields (invalid → `ConfigError`).
    dtype: float32 or float64 for the model (default: torch's default dtype).
    Missing keys, unexpected keys and wrong shapes raise `FormatError` naming the key and expected shape.
    """
    path = Path(path)
    if not isinstance(config, S5RFConfig):
        config = S5RFConfig.from_dict(config)
    shapes = reference_shapes(config)
    with _open(path) as archive:
        values, mixing = _read_all(path, archive, config, shapes)
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
    hippo_v = init.block_hippo(p, config.num_blocks)[1]
    return values, np.stack([hippo_v.real, hippo_v.imag], axis=-1)
