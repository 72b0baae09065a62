"""The recorded description of a data set: a checkpoint's `dataset` entry and a network's
`metadata["dataset"]`.

Standard library only, so that `s5rf-run` on a `.nir` reads it without torch or the model.
On disk it is a plain dict with exactly the fields of `DatasetInfo`; a description with no
data source (an imported checkpoint) stores its source as ``{"kind": "none"}``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Mapping

from s5rf_neuro.errors import DataError, S5RFError
from s5rf_neuro.records import record_from_dict

NO_SOURCE_KIND = "none"
"""The stored `source["kind"]` meaning "no data source is recorded"."""


class _FieldError(DataError):
    """A field of the wrong type or range; `from_dict` adds where the description came from."""


@dataclass(frozen=True)
class DatasetInfo:
    """What a model was trained on, and how to load that data again.

    name: data set name ("digits", "shd", ...); encoding: how samples became spikes (free text);
    time_steps: bins per sample (0 when unknown); input_dim: input channels per bin;
    class_names: one name per output class; source: the `load_split` source that rebuilds
    the data (see `s5rf_neuro.data.registry`), None when there is none.
    """

    name: str
    encoding: str
    time_steps: int
    input_dim: int
    class_names: tuple[str, ...]
    source: Mapping[str, Any] | None

    def __post_init__(self) -> None:
        for field in ("name", "encoding"):
            if not isinstance(getattr(self, field), str):
                raise _FieldError(f"field {field!r}: expected text, got {type(getattr(self, field)).__name__}")
        for field, least in (("time_steps", 0), ("input_dim", 1)):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
                raise _FieldError(f"field {field!r}: expected an integer >= {least}, got {value!r}")
            object.__setattr__(self, field, int(value))
        names = self.class_names
        if isinstance(names, (str, bytes)) or not isinstance(names, (list, tuple)) \
                or not all(isinstance(name, str) for name in names):
            raise _FieldError(f"field 'class_names': expected a list of text, got {names!r}")
        object.__setattr__(self, "class_names", tuple(names))
        source = self.source
        if source is not None:
            if not isinstance(source, Mapping) or not isinstance(source.get("kind"), str):
                raise _FieldError(f"field 'source': expected a mapping with a text 'kind', got {source!r}")
            if source["kind"] == NO_SOURCE_KIND:
                raise _FieldError(f"field 'source': kind {NO_SOURCE_KIND!r} is written as source None")
            object.__setattr__(self, "source", dict(source))

    @property
    def recorded_source(self) -> dict[str, Any] | None:
        """A copy of the `load_split` source (safe to edit), or None when none is recorded."""
        return None if self.source is None else dict(self.source)

    def to_dict(self) -> dict[str, Any]:
        """The stored form (lists and dicts only)."""
        return {"name": self.name, "encoding": self.encoding, "time_steps": self.time_steps,
                "input_dim": self.input_dim, "class_names": list(self.class_names),
                "source": {"kind": NO_SOURCE_KIND} if self.source is None else dict(self.source)}

    @classmethod
    def from_dict(cls, value: Any, where: str, error: type[S5RFError] = DataError) -> DatasetInfo:
        """The description stored as `value`; `error` names `where` and the field for a missing
        or unknown field or a value of the wrong type."""
        if isinstance(value, Mapping) and "source" in value:
            source = value["source"]
            if isinstance(source, Mapping) and source.get("kind") == NO_SOURCE_KIND:
                value = {**value, "source": None}
        try:
            return record_from_dict(cls, value, where, error)
        except _FieldError as err:
            raise error(f"{where}: {err}") from None


def recorded_dataset(metadata: Any, where: str, error: type[S5RFError]) -> DatasetInfo | None:
    """The description in a network's `metadata["dataset"]`, or None when the metadata records none."""
    if not isinstance(metadata, Mapping) or "dataset" not in metadata:
        return None
    return DatasetInfo.from_dict(metadata["dataset"], f"{where}: dataset", error)

