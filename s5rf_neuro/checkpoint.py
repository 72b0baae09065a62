"""Checkpoint files (`.ckpt`), docs/design.md §3.

A checkpoint is a `torch.save` dictionary that loads with
`torch.load(..., weights_only=True)`:

    {"format": "s5rf-ckpt", "version": 1, "config": {S5RFConfig fields},
     "state_dict": {name: tensor}, "dataset": {DatasetInfo fields}, "metrics": {...}, "extra": {...}}

Only tensors, str, int, float, bool, None, lists, tuples and dicts are stored
(NumPy arrays become tensors, NumPy scalars Python numbers). Files are written
to a temporary file next to the target and renamed, so an interrupted save
never leaves a broken checkpoint behind.

Loading checks everything before anything is built from it: the config, the
weights' names and shapes against the config (from `parameter_shapes`, without
building a model, so a config of absurd size costs nothing), finite weights,
the data source, and the training state that `--resume` continues (see
`TRAINING_STATE`); each problem is one `CheckpointError` naming the file and
the field.
"""

from __future__ import annotations

import errno
import itertools
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch
from torch import Tensor

from s5rf_neuro.atomic import atomic_path
from s5rf_neuro.config import S5RFConfig
from s5rf_neuro.data.info import DatasetInfo
from s5rf_neuro.data.registry import check_source
from s5rf_neuro.errors import CheckpointError, ConfigError
from s5rf_neuro.model import S5RFClassifier
from s5rf_neuro.qat import QATFormat

FORMAT = "s5rf-ckpt"
VERSION = 1
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class Checkpoint:
    """The contents of a checkpoint file (see module doc); `build_model()` rebuilds the network."""

    format: str
    version: int
    config: S5RFConfig
    state_dict: dict[str, Tensor]
    dataset: DatasetInfo
    metrics: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    def build_model(self) -> S5RFClassifier:
        """A fresh `S5RFClassifier` in eval mode with the stored weights (their dtype, on the CPU)."""
        model = S5RFClassifier(self.config, generator=torch.Generator())
        dtype = _float_dtype(self.state_dict)
        if dtype is not None:
            model.to(dtype)
        model.load_state_dict(self.state_dict, strict=True)
        return model.eval()


def _float_dtype(state_dict: Mapping[str, Tensor]) -> torch.dtype | None:
    for value in state_dict.values():
        if value.is_floating_point():
            return value.dtype
    return None


def _storable(value: Any, where: str) -> Any:
    """`value` with NumPy objects converted, so that `weights_only` loading accepts it."""
    if isinstance(value, Tensor):
        return value.detach().cpu()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value))
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        return {key: _storable(item, f"{where}[{key!r}]") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_storable(item, f"{where}[{index}]") for index, item in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise TypeError(f"{where}: {type(value).__name__} cannot be stored in a checkpoint "
                    "(use tensors, numbers, strings, lists and dicts)")


def save_checkpoint(path: str | os.PathLike[str], model: S5RFClassifier, dataset: DatasetInfo,
                    metrics: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> Path:
    """Write `model` with its config and the given descriptions to `path` atomically; returns the path."""
    if not isinstance(dataset, DatasetInfo):
        raise TypeError(f"save_checkpoint: dataset must be a DatasetInfo, got {type(dataset).__name__}")
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "directory does not exist", str(path.parent))
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": model.config.to_dict(),
        "state_dict": _storable(dict(model.state_dict()), "state_dict"),
        "dataset": _storable(dataset.to_dict(), "dataset"),
        "metrics": _storable(dict(metrics), "metrics"),
        "extra": _storable(dict(extra or {}), "extra"),
    }
    with atomic_path(path) as temporary, open(temporary, "wb") as stream:
        torch.save(payload, stream)
        stream.flush()
        os.fsync(stream.fileno())
    return path


def _read(path: Path) -> Any:
    with open(path, "rb") as stream:
        head = stream.read(4)
    if not head:
        raise CheckpointError(f"{path}: empty file, not a checkpoint")
    if head != _ZIP_MAGIC:
        raise CheckpointError(f"{path}: not a checkpoint (not a PyTorch zip file)")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: truncated checkpoint (the zip archive has no end record)")
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise CheckpointError(f"{path}: corrupted checkpoint ({err})") from None
    if damaged is not None:
        raise CheckpointError(f"{path}: corrupted checkpoint (checksum mismatch in {damaged!r})")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        reason = str(err).split("WeightsUnpickler error:")[-1].strip().splitlines()[0] if str(err) else ""
        raise CheckpointError(f"{path}: not a checkpoint (holds objects that weights_only loading refuses: "
                              f"{reason})") from None
    except (RuntimeError, OSError, EOFError, zipfile.BadZipFile, ValueError, KeyError) as err:
        raise CheckpointError(f"{path}: corrupted checkpoint "
                              f"({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None


def layer_shapes(config: S5RFConfig, index: int) -> dict[str, tuple[int, ...]]:
    """The state_dict entries of layer `index` of `S5RFClassifier(config)` (names below "layers.{index}.")
    with their shapes (P neurons, H inputs; complex values as a trailing axis of 2)."""
    p = config.num_neurons
    shapes = {"lambda_param": (p, 2), "log_step": (p,), "input_weight_ri": (p, config.input_dim if index == 0 else p, 2)}
    if index == 0 and config.discretization == "zoh":
        shapes["mixing_ri"] = (p, p, 2)
    return shapes


def parameter_shapes(config: S5RFConfig) -> Iterator[tuple[str, tuple[int, ...]]]:
    """Every (name, shape) of the state_dict of `S5RFClassifier(config)`, computed from the config alone
    and one at a time, so that a config of absurd size costs nothing until its entries are compared."""
    yield "readout_weight", (config.output_dim, config.num_neurons)
    yield "readout_logit", (config.output_dim,)
    for index in range(config.num_layers):
        for name, shape in layer_shapes(config, index).items():
            yield f"layers.{index}.{name}", shape


def _expected_shape(config: S5RFConfig, name: str) -> tuple[int, ...] | None:
    """The shape `config` gives state_dict entry `name`, or None when it has no such entry."""
    if name in ("readout_weight", "readout_logit"):
        return dict(itertools.islice(parameter_shapes(config), 2))[name]
    parts = name.split(".")
    if len(parts) != 3 or parts[0] != "layers" or not parts[1].isdigit() or int(parts[1]) >= config.num_layers:
        return None
    return layer_shapes(config, int(parts[1])).get(parts[2])


_WEIGHT_NAMES = {"lambda_param": "λ (continuous eigenvalues)", "log_step": "log Δ (step sizes)",
                 "input_weight_ri": "input weights B", "mixing_ri": "eigenvector mixing V"}


def describe_weight(name: str) -> str:
    """The user-facing name of state_dict entry `name` ("layer 0 input weights B", "readout decay logit")."""
    if name == "readout_weight":
        return "readout weights"
    if name == "readout_logit":
        return "readout decay logit"
    parts = name.split(".")
    if len(parts) == 3 and parts[0] == "layers" and parts[2] in _WEIGHT_NAMES:
        return f"layer {parts[1]} {_WEIGHT_NAMES[parts[2]]}"
    return f"weight {name!r}"


def _check_weights(path: Path, config: S5RFConfig, state_dict: Mapping[str, Any]) -> None:
    """Refuse a state_dict whose names or shapes differ from what `config` builds, or with non-finite values."""
    if not isinstance(state_dict, Mapping) or not all(isinstance(v, Tensor) for v in state_dict.values()):
        raise CheckpointError(f"{path}: state_dict is not a mapping of names to tensors")
    for name, value in state_dict.items():
        shape = _expected_shape(config, name)
        if shape is None:
            raise CheckpointError(f"{path}: config does not match weights: unexpected {describe_weight(name)} "
                                  f"for a config of {config.num_layers} layers ({config.discretization} first layer)")
        if tuple(value.shape) != shape:
            raise CheckpointError(f"{path}: config does not match weights: the {describe_weight(name)} have shape "
                                  f"{tuple(value.shape)}, the config needs {shape}")
    for name, shape in parameter_shapes(config):
        if name not in state_dict:
            raise CheckpointError(f"{path}: config does not match weights: the {describe_weight(name)} "
                                  f"(shape {shape}) are missing")
    dtypes = {value.dtype for value in state_dict.values()}
    if not dtypes <= {torch.float32, torch.float64} or len(dtypes) > 1:
        raise CheckpointError(f"{path}: weights must all be float32 or all float64, found "
                              f"{sorted(str(d) for d in dtypes)}")
    for name, value in state_dict.items():
        if not bool(torch.isfinite(value).all()):
            raise CheckpointError(f"{path}: NaN or infinite values in the {describe_weight(name)} "
                                  "(every weight must be a finite number)")


def _check_magnitudes(path: Path, config: S5RFConfig, state_dict: Mapping[str, Tensor]) -> None:
    """Refuse finite weights whose model overflows in the weights' own dtype: a step Δ = exp(log Δ), a rate
    exp(a) of λ = −exp(a) + iω, their product, or the largest drive |B|·H·Δ of a layer (and |R|·P of the
    readout) beyond the dtype's range."""
    with torch.no_grad():
        for index in range(config.num_layers):
            prefix = f"layers.{index}."
            step = torch.exp(state_dict[prefix + "log_step"])
            rate = torch.exp(state_dict[prefix + "lambda_param"][:, 0])
            weight = state_dict[prefix + "input_weight_ri"]
            drive = weight.abs().amax() * weight.shape[1] * step.amax()
            for what, value in (("log Δ (step sizes)", step), ("λ (continuous eigenvalues)", rate * step),
                                ("input weights B", drive)):
                if not bool(torch.isfinite(value).all()):
                    raise CheckpointError(f"{path}: the layer {index} {what} are too large: the model overflows "
                                          f"{str(weight.dtype).replace('torch.', '')} (every value it computes must "
                                          "be finite)")
        readout = state_dict["readout_weight"]
        if not bool(torch.isfinite(readout.abs().amax() * config.num_neurons)):
            raise CheckpointError(f"{path}: the readout weights are too large: the readout overflows "
                                  f"{str(readout.dtype).replace('torch.', '')}")


def _check_metrics(path: Path, metrics: Mapping[str, Any]) -> None:
    """Refuse recorded metrics that are not numbers (or lists of numbers), or a test accuracy outside [0, 1]."""
    for key, value in metrics.items():
        items = value if isinstance(value, (list, tuple)) else [value]
        if not all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in items):
            raise CheckpointError(f"{path}: metrics entry {key!r} must be a number or a list of numbers, "
                                  f"got {value!r:.60}")
    accuracy = metrics.get("test_accuracy", 0.0)
    if not (isinstance(accuracy, (int, float)) and 0.0 <= accuracy <= 1.0):
        raise CheckpointError(f"{path}: metrics entry 'test_accuracy' must be a fraction in [0, 1], got {accuracy!r}")


TRAINING_STATE = {"optimizer": dict, "epoch": int, "step": int, "recipe": dict, "train_time_s": (int, float),
                  "metrics": dict}
"""The `extra` entries a training run writes, with their types: `--resume` needs the first four; the last
two may be absent."""


def check_training_state(path: str | os.PathLike[str], extra: Mapping[str, Any], config: S5RFConfig) -> None:
    """Refuse, naming `path` and the entry, a training state (`TRAINING_STATE`, in a checkpoint's `extra`)
    that `--resume` cannot continue: a missing entry, a value of the wrong type or range, or an optimiser
    state for another number of parameters than the model of `config` trains."""
    extra = {"train_time_s": 0.0, "metrics": {}, **extra}
    for key, kind in TRAINING_STATE.items():
        if key not in extra:
            raise CheckpointError(f"{path}: training state entry {key!r} is missing (--resume needs it)")
        value = extra[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            expected = {dict: "a mapping", int: "a whole number", (int, float): "a number"}[kind]
            raise CheckpointError(f"{path}: training state entry {key!r} must be {expected}, got {value!r:.60}")
    for key in ("epoch", "step", "train_time_s"):
        if not (np.isfinite(extra[key]) and extra[key] >= 0):
            raise CheckpointError(f"{path}: training state entry {key!r} must be >= 0, got {extra[key]!r}")
    optimizer = extra["optimizer"]
    groups = optimizer.get("param_groups")
    if not isinstance(optimizer.get("state"), dict) or not isinstance(groups, list) or not all(
            isinstance(group, dict) and isinstance(group.get("params"), list) for group in groups):
        raise CheckpointError(f"{path}: training state entry 'optimizer' is not an optimiser state "
                              "(needs 'state' and 'param_groups' with their 'params')")
    trained = sum(1 for name, _ in parameter_shapes(config) if not name.endswith("mixing_ri"))
    if sum(len(group["params"]) for group in groups) != trained:
        raise CheckpointError(f"{path}: training state entry 'optimizer' holds the state of "
                              f"{sum(len(group['params']) for group in groups)} parameters, the model has {trained}")
    if "qat" in extra:
        try:
            QATFormat.from_dict(extra["qat"], f"{path}: training state entry 'qat'")
        except ConfigError as err:
            raise CheckpointError(str(err)) from None


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read and check a checkpoint; every problem is a one-line `CheckpointError` naming the file.

    Missing or unreadable files raise `OSError` (FileNotFoundError, PermissionError, …).
    """
    path = Path(path)
    data = _read(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an s5rf checkpoint (no format {FORMAT!r} marker)")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{path}: invalid format version {version!r}")
    if version > VERSION:
        raise CheckpointError(f"{path}: format version {version} is newer than this s5rf-neuro reads "
                              f"(up to {VERSION}); upgrade s5rf-neuro")
    for key in ("config", "state_dict", "dataset", "metrics"):
        if not isinstance(data.get(key), dict):
            raise CheckpointError(f"{path}: missing or invalid {key!r} entry")
    extra = data.get("extra", {})
    if not isinstance(extra, dict):
        raise CheckpointError(f"{path}: invalid 'extra' entry")
    try:
        config = S5RFConfig.from_dict(data["config"], "config")
    except ConfigError as err:
        raise CheckpointError(f"{path}: {err}") from None
    _check_weights(path, config, data["state_dict"])
    _check_magnitudes(path, config, data["state_dict"])
    _check_metrics(path, data["metrics"])
    dataset = DatasetInfo.from_dict(data["dataset"], f"{path}: dataset", CheckpointError)
    if dataset.source is not None:
        check_source(dataset.recorded_source, f"{path}: dataset source", CheckpointError)
    return Checkpoint(format=FORMAT, version=version, config=config, state_dict=dict(data["state_dict"]),
                      dataset=dataset, metrics=data["metrics"], extra=extra)
