"""Reader of files written by `equinox.tree_serialise_leaves`: `.npy` records back to back.

Such a file holds one `.npy` record (magic, header, raw data) per saved pytree leaf, in the
tree's leaf order: arrays as they are, Python bools, ints and floats as 0-d arrays; leaves that
are not saved (strings, static fields) leave no record, so the reader must be told the leaves
to expect. Records are read one at a time with numpy's `.npy` format functions and never
unpickled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Sequence

import numpy as np
from numpy.lib import format as npy_format

from s5rf_neuro.errors import FormatError

MAGIC = b"\x93NUMPY"
"""The first bytes of every `.npy` record."""

_KIND_NAMES = {"f": "floating point", "b": "bool", "i": "integer"}
_ACCEPTED_KINDS = {"f": "fiu", "b": "b", "i": "iu"}
"""dtype kinds a leaf of each expected kind may be stored as (a float leaf may hold an integral value)."""


@dataclass(frozen=True)
class LeafSpec:
    """One expected record: `name` (for messages), `shape` (() for a scalar leaf) and `kind`:
    "f" floating point (any width), "b" bool, "i" integer."""

    name: str
    shape: tuple[int, ...]
    kind: str

    def __post_init__(self) -> None:
        if self.kind not in _KIND_NAMES:
            raise ValueError(f"leaf {self.name}: kind must be one of {', '.join(_KIND_NAMES)}, got {self.kind!r}")
        if any(not isinstance(n, int) or n < 0 for n in self.shape):
            raise ValueError(f"leaf {self.name}: shape must be non-negative integers, got {self.shape!r}")

    def describe(self) -> str:
        """e.g. "floating point array of shape (8, 5, 2)" or "bool scalar"."""
        what = _KIND_NAMES[self.kind]
        return f"{what} scalar" if not self.shape else f"{what} array of shape {self.shape}"


def read_leaves(path: str | Path, leaves: Sequence[LeafSpec]) -> list[np.ndarray]:
    """The arrays of the records in `path`, one per entry of `leaves`, in order.

    Raises `FormatError` naming the file, the record index, the leaf name and what was
    expected when a record is missing, truncated, not an `.npy` record, of another shape or
    dtype, or when the file holds more records than `leaves`.
    """
    path = Path(path)
    try:
        stream = open(path, "rb")
    except OSError as err:
        raise FormatError(f"{path}: cannot be read ({err.strerror})") from None
    with stream:
        values = [_read_record(path, stream, index, leaf, len(leaves)) for index, leaf in enumerate(leaves)]
        if stream.read(1):
            raise FormatError(f"{path}: holds more than the {len(leaves)} records expected for this configuration "
                              f"(the last expected is record {len(leaves) - 1}, {leaves[-1].name})")
    return values


def _read_record(path: Path, stream: BinaryIO, index: int, leaf: LeafSpec, count: int) -> np.ndarray:
    where = f"{path}: record {index} ({leaf.name})"
    start = stream.read(len(MAGIC))
    if not start:
        raise FormatError(f"{where}: missing, the file ends after {index} records; expected {count} records, "
                          f"this one a {leaf.describe()}")
    if start != MAGIC:
        raise FormatError(f"{where}: not an .npy record (expected a {leaf.describe()})")
    stream.seek(-len(MAGIC), 1)
    try:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
    except (ValueError, SyntaxError, EOFError) as err:
        raise FormatError(f"{where}: unreadable .npy header ({str(err).splitlines()[0]}); "
                          f"expected a {leaf.describe()}") from None
    if dtype.hasobject or dtype.kind not in _ACCEPTED_KINDS[leaf.kind] or dtype.fields is not None:
        raise FormatError(f"{where}: dtype {dtype}, expected a {leaf.describe()}")
    if tuple(shape) != leaf.shape:
        raise FormatError(f"{where}: shape {tuple(shape)}, expected a {leaf.describe()}")
    size = math.prod(shape) * dtype.itemsize
    data = stream.read(size)
    if len(data) != size:
        raise FormatError(f"{where}: truncated, {len(data)} of its {size} data bytes present "
                          f"(expected a {leaf.describe()})")
    array = np.frombuffer(data, dtype=dtype)
    return array.reshape(shape, order="F" if fortran_order else "C").copy()
