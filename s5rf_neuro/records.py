"""Plain records in and out of files: dataclasses from dicts, JSON objects from text.

Standard library only, like `s5rf_neuro.errors` and `s5rf_neuro.atomic`, so
every room may use it. Every failure raises the caller's error type (a
subclass of `S5RFError`) with one line that names where the data came from,
the field, and what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Mapping, TypeVar

from s5rf_neuro.errors import S5RFError

Record = TypeVar("Record")


def record_from_dict(cls: type[Record], data: Any, where: str, error: type[S5RFError]) -> Record:
    """`cls(**data)` for a dataclass `cls`, after checking that `data` is a mapping whose keys are
    `cls`'s fields and that every required field is there.

    where: names the data in messages ("config.json", "checkpoint a.ckpt: recipe").
    The class's own `__post_init__` checks the values.
    """
    if not isinstance(data, Mapping):
        raise error(f"{where}: expected a mapping of field names to values, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [key for key in data if key not in fields]
    if unknown:
        raise error(f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(fields)})")
    for name, spec in fields.items():
        required = spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
        if required and name not in data:
            raise error(f"{where}: field {name!r} is missing (required)")
    return cls(**data)


def read_json_object(path: str | os.PathLike[str], error: type[S5RFError]) -> dict[str, Any]:
    """The JSON object in the UTF-8 file at `path`; `error` names the file for bad encoding,
    invalid JSON or a value that is not an object (a missing file stays an OSError)."""
    with open(path, "rb") as stream:
        raw = stream.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text (byte {err.start})") from None
    return parse_json_object(text, str(path), error)


def parse_json_object(text: str, where: str, error: type[S5RFError]) -> dict[str, Any]:
    """The JSON object in `text`; `error` names `where` for invalid JSON or a non-object."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise error(f"{where}: not valid JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(value, dict):
        raise error(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def plain_json(value: Any) -> Any:
    """`json.dumps` default for NumPy scalars and arrays and paths; anything else is a TypeError."""
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"a {type(value).__name__} cannot be written as JSON")
