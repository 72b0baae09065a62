"""Write S5-RF networks to `.nir` files and read them back.

    write_nir(network, path)   FloatNetwork | IntNetwork -> .nir (HDF5, via nir.write; atomic)
    read_nir(path)             .nir (via nir.read) -> the same FloatNetwork | IntNetwork

The file holds only stock NIR node types (Input, Output, Linear, LI, Scale,
Threshold, nested NIRGraph); `s5rf_neuro.export.nir_layout` documents the
layout and its continuous-time meaning.

What a foreign NIR tool sees: `nir.read` (and tools built on it, such as
nirtorch) loads the file with no custom types and passes NIR's type checks. It
finds, per S5-RF layer, a nested graph in which two Linear nodes (Re W, Im W)
drive two leaky integrators (the real and imaginary state) coupled by two
Scale nodes (±ω, the rotation), a Threshold on the real state and, on skip
layers, a Scale of ones that adds the layer input to the spikes; then a Linear
and an LI readout. A tool that implements LI, Scale and Threshold can run it;
integrating each LI exactly for impulse inputs reproduces the network exactly
when no neuron rotates (ω = 0), while a tool that updates the coupled pair one
step apart, or with forward Euler, only approximates a rotating neuron. Only
this reader restores the exact network: the discrete decays λ̄ bit for bit
(not just τ and ω), the integer mantissas, weight exponents, thresholds and
state scales of a fixed-point export, its `TargetSpec`, the skip flags and
the network's free-form metadata, all kept in the nodes' "s5rf_neuro"
metadata.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import nir
import numpy as np

from s5rf_neuro.atomic import atomic_path
from s5rf_neuro.errors import FormatError
from s5rf_neuro.export.nir_layout import MAPPABLE_TYPES, META_KEY
from s5rf_neuro.export.nir_reader import check_declared_size, check_version, graph_to_network, unmappable_message
from s5rf_neuro.export.nir_writer import network_to_graph
from s5rf_neuro.hardware.network import Network


def write_nir(network: Network, path: str | os.PathLike[str], dt: float = 1.0) -> Path:
    """Write `network` as a NIR graph to `path` (HDF5), atomically; `dt` is the time per step.

    The file appears complete or not at all: it is written to a temporary file in
    the same directory and renamed. Returns the path written.
    """
    target = Path(path)
    graph = network_to_graph(network, dt=dt)
    with atomic_path(target) as temporary:
        nir.write(temporary, graph)
    return target


def read_nir(path: str | os.PathLike[str]) -> Network:
    """Read a `.nir` file written by `write_nir` back into the exact network.

    Raises FormatError (one line naming the file) for a missing, truncated or
    non-HDF5 file, a file from a newer s5rf-neuro format version, a graph with
    node types this reader cannot map, or a graph without s5rf-neuro metadata.
    """
    source = str(path)
    if Path(source).is_dir():
        raise FormatError(f"{source}: is a directory, not a .nir file")
    if not Path(source).is_file():
        raise FormatError(f"{source}: no such file")
    _precheck(source)
    try:
        graph = nir.read(source)
    except FormatError:
        raise
    except Exception as err:  # nir.read raises assertion, key, value and type errors for malformed graphs
        raise FormatError(f"{source}: not a valid NIR graph ({type(err).__name__}: {_first_line(err)})") from None
    return graph_to_network(graph, source)


def _precheck(source: str) -> None:
    """Checks on the raw HDF5 that nir.read would not answer with a clear message."""
    try:
        handle = h5py.File(source, "r")
    except OSError as err:
        raise FormatError(f"{source}: not a readable NIR file (not HDF5, or truncated): {_first_line(err)}") from None
    with handle:
        root = handle.get("node")
        if not isinstance(root, h5py.Group) or "type" not in root:
            raise FormatError(f"{source}: HDF5 file without a NIR graph (no 'node' group)")
        check_declared_size(handle, source)
        version = _dataset_value(root, f"metadata/{META_KEY}/format_version")
        if version is not None:
            check_version(version, source)
        _check_raw_types(root, "", source)


def _check_raw_types(group: h5py.Group, prefix: str, source: str) -> None:
    """Raise FormatError naming the first node (depth first) whose type the reader cannot map."""
    nodes = group.get("nodes")
    if not isinstance(nodes, h5py.Group):
        return
    for name, child in nodes.items():
        path = f"{prefix}{name}"
        kind = _dataset_value(child, "type") if isinstance(child, h5py.Group) else None
        if kind not in MAPPABLE_TYPES:
            raise FormatError(unmappable_message(source, path, str(kind)))
        if kind == "NIRGraph":
            _check_raw_types(child, f"{path}/", source)


def _dataset_value(group: h5py.Group, key: str) -> Any:
    """The scalar stored at `key` below `group` (bytes decoded), or None when absent."""
    item = group.get(key)
    if not isinstance(item, h5py.Dataset):
        return None
    value = item[()]
    if isinstance(value, bytes):
        return value.decode("utf8", errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else "no details"
