"""From a NIR graph written by `nir_writer` back to the exact network (layout in `nir_layout`).

The network is rebuilt from the node metadata alone; the network types check
themselves on construction, so a graph that describes impossible numbers
(mantissas beyond the target's width, |λ̄_int| ≥ 1, negative thresholds,
non-finite values, inconsistent shapes) is refused here, when it is read.
"""

from __future__ import annotations

import math
from typing import Any, Iterator

import h5py
import nir
import numpy as np

from s5rf_neuro.errors import FormatError, NetworkError, TargetError
from s5rf_neuro.export.nir_layout import FORMAT_NAME, MAPPABLE_TYPES, META_KEY, MetadataEntries, record_from_metadata
from s5rf_neuro.hardware.network import (
    NETWORK_FORMAT_VERSION,
    FloatLayer,
    FloatNetwork,
    FloatReadout,
    InputFormat,
    IntLayer,
    IntNetwork,
    IntReadout,
    Network,
    SPIKE_INPUTS,
)
from s5rf_neuro.hardware.target import TargetSpec
from s5rf_neuro.records import parse_json_object
from s5rf_neuro.resources import MemoryNeed, require


def iter_nodes(graph: nir.NIRGraph, prefix: str = "") -> Iterator[tuple[str, nir.NIRNode]]:
    """Every node of `graph` and its nested graphs as ("parent/child" path, node), depth first."""
    for name, node in graph.nodes.items():
        path = f"{prefix}{name}"
        yield path, node
        if isinstance(node, nir.NIRGraph):
            yield from iter_nodes(node, f"{path}/")


def check_node_types(graph: nir.NIRGraph, source: str) -> None:
    """Raise FormatError naming the first node whose type this reader cannot map."""
    for path, node in iter_nodes(graph):
        kind = type(node).__name__
        if kind not in MAPPABLE_TYPES:
            raise FormatError(unmappable_message(source, path, kind))


def unmappable_message(source: str, path: str, kind: str) -> str:
    """The one-line error for a node of a type the reader cannot map."""
    return (
        f"{source}: node '{path}' has type {kind}, which s5rf-neuro cannot map to an S5-RF network "
        f"(it reads {', '.join(sorted(MAPPABLE_TYPES))})"
    )


def project_metadata(graph: nir.NIRGraph, source: str) -> dict[str, Any]:
    """The top-level s5rf-neuro metadata of `graph`, its format and version checked."""
    meta = graph.metadata.get(META_KEY) if isinstance(graph.metadata, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise FormatError(
            f"{source}: no s5rf-neuro metadata in the graph (a NIR file from another tool?); "
            "only files written by s5rf-export can be read back into a network"
        )
    check_version(meta.get("format_version"), source)
    return meta


def check_version(version: Any, source: str) -> None:
    """Raise FormatError unless `version` is a network format version this reader understands."""
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise FormatError(f"{source}: s5rf-neuro metadata has no valid format_version ({version!r})") from None
    if number > NETWORK_FORMAT_VERSION:
        raise FormatError(
            f"{source}: written with s5rf-neuro network format version {number}, but this reader "
            f"understands up to version {NETWORK_FORMAT_VERSION}; upgrade s5rf-neuro"
        )
    if number < 1:
        raise FormatError(f"{source}: invalid s5rf-neuro network format version {number}")


def check_declared_size(handle: h5py.File, source: str) -> None:
    """Refuse, before anything is read, a file whose arrays cannot fit in memory once read.

    Every array becomes 8-byte numbers when the network is built (int8 mantissas included),
    so the need is each dataset's element count times max(its item size, 8) bytes: a lower
    bound, since `nir.read` and the network hold copies.
    """
    sizes: list[tuple[int, str, tuple[int, ...]]] = []

    def visit(name: str, item: Any) -> None:
        if isinstance(item, h5py.Dataset):
            sizes.append((math.prod(item.shape) * max(item.dtype.itemsize, 8), name, item.shape))

    handle.visititems(visit)
    if sizes:
        _, name, shape = max(sizes)
        require(MemoryNeed(f"{source}: reading the arrays it declares (the largest: '{name}', shape {shape})",
                           sum(size for size, _, _ in sizes)), FormatError)


def graph_to_network(graph: nir.NIRGraph, source: str = "NIR graph") -> Network:
    """The network a graph from `network_to_graph` describes, rebuilt exactly from its metadata.

    `source` names the graph in error messages (e.g. the file path).
    """
    check_node_types(graph, source)
    meta = project_metadata(graph, source)
    entries = MetadataEntries(meta, f"{source}: graph metadata")
    kind = entries.scalar("kind", "str")
    if kind not in ("float", "int"):
        raise FormatError(f"{source}: unknown network kind {kind!r} in graph metadata (expected float or int)")
    num_layers = entries.scalar("num_layers", "int")
    if not 1 <= num_layers <= len(graph.nodes):
        raise FormatError(f"{source}: graph metadata declares {num_layers} layers, but the graph has {len(graph.nodes)} nodes")
    network_metadata = parse_json_object(
        entries.scalar("network_metadata", "str"), f"{source}: network_metadata", FormatError
    )
    layer_type, readout_type = (IntLayer, IntReadout) if kind == "int" else (FloatLayer, FloatReadout)
    layers = tuple(
        _record(graph, f"layer_{index}", "layer", layer_type, nir.NIRGraph, source) for index in range(num_layers)
    )
    readout = _record(graph, "readout", "readout", readout_type, nir.LI, source)
    input_format = _input_format(meta, source)
    try:
        if kind == "float":
            return FloatNetwork(layers=layers, readout=readout, metadata=network_metadata, input_format=input_format)
        target = _target(entries.scalar("target", "dict"), source)
        return IntNetwork(layers=layers, readout=readout, target=target, metadata=network_metadata,
                          input_format=input_format)
    except (NetworkError, TargetError) as err:
        raise FormatError(f"{source}: {err}") from None


def graph_dt(graph: nir.NIRGraph, source: str = "NIR graph") -> float:
    """The time per step recorded in a graph written by `network_to_graph`."""
    dt = MetadataEntries(project_metadata(graph, source), f"{source}: graph metadata").scalar("dt", "float")
    if not (np.isfinite(dt) and dt > 0):
        raise FormatError(f"{source}: graph metadata entry 'dt' is {dt}, expected a positive number")
    return dt


def _record(graph: nir.NIRGraph, name: str, role: str, record_type: type, node_type: type, source: str) -> Any:
    """The layer or readout record stored in node `name`'s metadata."""
    node = graph.nodes.get(name)
    if not isinstance(node, node_type):
        found = "missing" if node is None else f"a {type(node).__name__}"
        raise FormatError(f"{source}: node '{name}' should be a {node_type.__name__} but is {found}")
    meta = node.metadata.get(META_KEY) if isinstance(node.metadata, dict) else None
    if not isinstance(meta, dict) or meta.get("role") != role:
        raise FormatError(f"{source}: node '{name}' has no s5rf-neuro {role} metadata")
    where = f"{source}: node '{name}'"
    try:
        return record_from_metadata(record_type, meta, where)
    except NetworkError as err:
        raise FormatError(f"{where}: {err}") from None


def _target(fields: dict[str, Any], source: str) -> TargetSpec:
    plain = {key: value.item() if isinstance(value, np.generic) else value for key, value in fields.items()}
    try:
        return TargetSpec.from_dict(plain, "target spec in graph metadata")
    except TargetError as err:
        raise FormatError(f"{source}: {err}") from None


def _input_format(meta: dict[str, Any], source: str) -> InputFormat:
    """The graph's input format (spikes when the file records none); FormatError naming the bad entry."""
    if "input_format" not in meta:
        return SPIKE_INPUTS
    where = f"{source}: graph metadata entry 'input_format'"
    entries = MetadataEntries(meta, f"{source}: graph metadata")
    stored = entries.scalar("input_format", "dict")
    types = {"kind": "str", "bits": "int", "scale": "float", "clip": "bool"}
    unknown = sorted(set(stored) - set(types))
    if unknown:
        raise FormatError(f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(types)})")
    fields = MetadataEntries(stored, where)
    try:
        return InputFormat(**{name: fields.scalar(name, annotation) for name, annotation in types.items()})
    except NetworkError as err:
        raise FormatError(f"{where}: {err}") from None
