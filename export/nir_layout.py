"""The layout of an S5-RF network as a NIR graph of stock primitives (the file format).

`nir_writer` builds such a graph from a network, `nir_reader` rebuilds the
network from it, `nir_io` writes and reads the files.

Layout of the graph (node names are part of the format):

top level, L layers, H0 inputs, O classes:

    input                     Input (H0,)
    layer_0 … layer_{L-1}     NIRGraph, one per S5-RF layer (below)
    readout_weight            Linear (O, P)    R
    readout                   LI (O,)          τ = −dt/ln d, r = τ, v_leak = 0
    output                    Output (O,)
    edges  input → layer_0 → … → layer_{L-1} → readout_weight → readout → output

one layer, H inputs, P neurons (the nested graph):

    input                     Input (H,)
    weight_re, weight_im      Linear (P, H)    Re W, Im W
    state_re, state_im        LI (P,)          τ = −dt/ln|λ̄|, r = τ, v_leak = 0
    rotate_im_re              Scale (P,)       −ω   (state_im → state_re)
    rotate_re_im              Scale (P,)       +ω   (state_re → state_im),  ω = arg(λ̄)/dt
    spike                     Threshold (P,)   θ, reads state_re
    skip                      Scale (P,) of 1  only on a skip layer: sums spike and input
    output                    Output (P,)

a layer with a mixing stage (docs/design.md §4b) has two more nodes, and its
Threshold reads them instead of state_re:

    mixing_re                 Linear (P, P)    Re M   (state_re → spike)
    mixing_im                 Linear (P, P)    −Im M  (state_im → spike)

Continuous-time meaning. With x = state_re + i·state_im and λ = ln(λ̄)/dt the
pair of leaky integrators with the two rotation edges is dx/dt = λ·x + W·u(t).
Spikes are Dirac impulses u(t) = Σ_k u[k]·δ(t − k·dt); because r = τ each
impulse adds W·u[k] to the state. Sampled just after the impulses, at
t = k·dt, that ODE is exactly x[k] = λ̄·x[k−1] + W·u[k], the network's update;
the Threshold fires while Re x > θ (with mixing: while
Re(M)·Re x − Im(M)·Im x > θ) and nothing resets. The readout LI gives
y[k] = d·y[k−1] + R·s[k]; the class score is mean_k y[k] (sum_k for an
integer network, same argmax). `dt` (time per step) is recorded in the
metadata; the default 1.0 makes one step the time unit.

A decay modulus of 0 or ≥ 1 has no finite τ: the primitives then carry the
nearest finite value (modulus clipped to [1e-300, 1 − 2^-53]); the metadata
still holds the exact numbers.

For an integer network the primitives hold its de-quantised values in float
state units (weights W_int·2^exp/state_scale, λ̄ = (c + i·s)/2^decay_bits,
θ = θ_int/state_scale), an approximation for foreign tools; the integers
themselves are in the metadata. A mixing stage's Linears hold its mantissas
times 2^(exp − payload shift)·state_scale/mixing.state_scale and its
threshold θ_int/mixing.state_scale.

Metadata, all under the key "s5rf_neuro" (`META_KEY`):

- top-level graph: format, format_version (`NETWORK_FORMAT_VERSION`), kind
  ("float" | "int"), dt, num_layers, target (`TargetSpec.to_dict`), score,
  writer, network_metadata (the network's free-form metadata as JSON),
  input_format (`InputFormat.to_dict`: kind, bits, scale, clip; a file
  without it takes spike inputs);
- each layer graph: role "layer", index and the exact parameters, one entry
  per field of the network type (`FloatLayer`: decay_re, decay_im, weight_re,
  weight_im, threshold, skip; `IntLayer`: decay_re, decay_im, weight_re,
  weight_im, weight_exp_re, weight_exp_im, threshold, state_scale, skip),
  and for a layer with a mixing stage a group `mixing` holding the stage's
  record the same way (`FloatMixing`: weight_re, weight_im; `IntMixing`:
  weight_re, weight_im, weight_exp_re, weight_exp_im, state_scale); a layer
  without one has no `mixing` entry;
- the `readout` LI node: role "readout" and the exact readout parameters
  (`FloatReadout`: weight, decay; `IntReadout`: weight, weight_exp, decay,
  state_scale).

`record_to_metadata` and `record_from_metadata` derive those entries from the
dataclass fields, so the format follows the types; a field holding an
optional nested record is a group, absent when the field is None. A complex array field
`name` is stored as two float64 arrays `name_re` and `name_im`, so both parts
round trip bit for bit. Integer arrays are stored in the smallest signed
dtype that holds their values (int8 for 8-bit mantissas) and read back as
int64 with the same values.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from types import UnionType
from typing import Any, Callable, Union, get_args, get_origin, get_type_hints

import numpy as np

from s5rf_neuro.errors import FormatError

FORMAT_NAME = "s5rf-neuro-network"
META_KEY = "s5rf_neuro"
MAPPABLE_TYPES = frozenset({"NIRGraph", "Input", "Output", "Linear", "LI", "Scale", "Threshold"})
"""The NIR node types a graph written here consists of; any other type cannot be mapped back."""


def record_to_metadata(record: Any) -> dict[str, Any]:
    """The metadata entries of one network record (layer or readout), one per field.

    Complex arrays split into `_re`/`_im` float64 arrays; integer arrays are
    stored in the smallest signed dtype that holds their values (int8 for
    8-bit mantissas); scalars as they are.
    """
    entries: dict[str, Any] = {}
    for spec in fields(record):
        value = getattr(record, spec.name)
        if is_dataclass(value):
            entries[spec.name] = record_to_metadata(value)
        elif value is None:
            continue
        elif "array" not in spec.metadata:
            entries[spec.name] = value
        elif spec.metadata["array"][0] == "complex":
            entries[f"{spec.name}_re"] = np.ascontiguousarray(value.real, dtype=np.float64)
            entries[f"{spec.name}_im"] = np.ascontiguousarray(value.imag, dtype=np.float64)
        elif spec.metadata["array"][0] == "int":
            entries[spec.name] = _narrow(value)
        else:
            entries[spec.name] = np.array(value, dtype=np.float64)
    return entries


def record_from_metadata(kind: type, meta: dict[str, Any], where: str) -> Any:
    """The record of type `kind` that `record_to_metadata` described; `where` prefixes errors.

    A missing or ill-typed entry raises FormatError naming it (the record's own
    checks then refuse impossible values).
    """
    entries = MetadataEntries(meta, where)
    values: dict[str, Any] = {}
    hints = get_type_hints(kind)
    for spec in fields(kind):
        nested = _optional_record(hints[spec.name])
        if nested is not None:
            if spec.name in meta:
                inner = f"{where} {spec.name}"
                values[spec.name] = record_from_metadata(nested, entries.scalar(spec.name, "dict"), inner)
            continue
        if "array" in spec.metadata:
            array_kind = spec.metadata["array"][0]
            if array_kind == "complex":
                values[spec.name] = _complex(entries.floats(f"{spec.name}_re"), entries.floats(f"{spec.name}_im"), spec.name, where)
            elif array_kind == "int":
                values[spec.name] = entries.ints(spec.name)
            else:
                values[spec.name] = entries.floats(spec.name)
        else:
            values[spec.name] = entries.scalar(spec.name, spec.type)
    return kind(**values)


def _optional_record(hint: Any) -> type | None:
    """The record type of a field annotated `Record | None`, else None."""
    if get_origin(hint) not in (Union, UnionType):
        return None
    records = [arg for arg in get_args(hint) if is_dataclass(arg)]
    return records[0] if len(records) == 1 else None


def _narrow(values: np.ndarray) -> np.ndarray:
    """An int64 array in the smallest signed dtype that holds its values (what the file stores)."""
    low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return values.astype(dtype)
    return values


def _complex(real: np.ndarray, imag: np.ndarray, name: str, where: str) -> np.ndarray:
    if real.shape != imag.shape:
        raise FormatError(f"{where}: {name}_re has shape {real.shape} but {name}_im has shape {imag.shape}")
    values = np.empty(real.shape, dtype=np.complex128)
    values.real = real
    values.imag = imag
    return values


class MetadataEntries:
    """Typed access to one metadata dict; a missing or ill-typed entry raises FormatError naming it."""

    def __init__(self, meta: dict[str, Any], where: str) -> None:
        self._meta = meta
        self._where = where

    def get(self, key: str, accept: Callable[[Any], bool], what: str) -> Any:
        if key not in self._meta:
            raise FormatError(f"{self._where}: metadata entry '{key}' is missing")
        value = self._meta[key]
        if not accept(value):
            raise FormatError(f"{self._where}: metadata entry '{key}' is not {what}")
        return value

    def floats(self, key: str) -> np.ndarray:
        value = self.get(key, lambda v: isinstance(v, np.ndarray) and v.dtype == np.float64, "a float64 array")
        return np.array(value, dtype=np.float64)

    def ints(self, key: str) -> np.ndarray:
        value = self.get(key, lambda v: isinstance(v, np.ndarray) and v.dtype.kind == "i", "an array of signed integers")
        return np.array(value, dtype=np.int64)

    def scalar(self, key: str, annotation: str) -> Any:
        if annotation == "int":
            value = self.get(key, lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)), "an integer")
            return int(value)
        if annotation == "float":
            return float(self.get(key, lambda v: isinstance(v, (float, np.floating)), "a float"))
        if annotation == "bool":
            return bool(self.get(key, lambda v: isinstance(v, (bool, np.bool_)), "a boolean"))
        if annotation == "str":
            return self.get(key, lambda v: isinstance(v, str), "a string")
        if annotation == "dict":
            return self.get(key, lambda v: isinstance(v, dict), "a group")
        raise TypeError(f"no metadata encoding for a field annotated {annotation!r}")
