"""One entry point from a recorded data source (`DatasetInfo.source`) to a split of spikes.

A source is a plain dict (stored in the checkpoint) saying how to rebuild the data:

- ``{"kind": "digits"}`` (optional ``steps_per_row``, ``levels``): the embedded default;
- ``{"kind": "sdigits"}`` and ``{"kind": "psdigits", "permutation": [64 pixel indices]}``: the
  same digits read pixel by pixel as real values (`s5rf_neuro.data.sdigits`; without
  ``permutation``, psdigits uses the default order, which `resolve_source` records);
- ``{"kind": "shd" | "ssc" | "spoken-digits", "root": DIR, "binning": {...}, "channels": 140}``:
  files in the official SHD layout in DIR; see `s5rf_neuro.data.spike_files` for binnings.
"""

from __future__ import annotations

from typing import Any

from s5rf_neuro.data import digits, sdigits, spike_files
from s5rf_neuro.data.base import SpikeData
from s5rf_neuro.data.info import DatasetInfo
from s5rf_neuro.errors import DataError, S5RFError

EMBEDDED = ("digits", "sdigits", "psdigits")
"""Kinds built from data shipped with scikit-learn: no data directory."""
KINDS = EMBEDDED + tuple(spike_files.FILE_SETS)
REAL_VALUED = ("sdigits", "psdigits")
"""Kinds whose inputs are real values (graded inputs); every other kind gives spike counts."""


def holds_spikes(source: dict) -> bool:
    """Whether the data set `source` describes gives spike counts, known without loading it."""
    return source.get("kind") not in REAL_VALUED


def resolve_source(source: dict, train: SpikeData | None = None) -> dict:
    """`source` with every default made explicit, so that it rebuilds the same data later.

    For a fixed-step binning without `time_steps`, T is fixed here from the train
    split's longest sample (`train` when already loaded), so train and test
    rasters share one length.
    """
    kind = source.get("kind")
    if kind == "digits":
        return {"kind": "digits", "steps_per_row": int(source.get("steps_per_row", digits.STEPS_PER_ROW)),
                "levels": int(source.get("levels", digits.LEVELS))}
    if kind == "sdigits":
        return {"kind": "sdigits"}
    if kind == "psdigits":
        permutation = source.get("permutation")
        if permutation is None:
            return {"kind": "psdigits", "permutation": sdigits.default_permutation()}
        return {"kind": "psdigits", "permutation": sdigits.check_permutation(permutation, "data source psdigits")}
    if kind in spike_files.FILE_SETS:
        if not source.get("root"):
            raise DataError(f"data source {kind}: no data directory given")
        out = {"kind": kind, "root": str(source["root"]), "binning": spike_files.resolve_binning(source.get("binning")),
               "channels": int(source.get("channels", spike_files.DEFAULT_CHANNELS))}
        if out["binning"]["mode"] == "fixed" and not out["binning"]["time_steps"]:
            train = train if train is not None else load_split(out, "train")
            out["binning"]["time_steps"] = train.time_steps
        return out
    raise DataError(f"data source: unknown kind {kind!r} (choose {', '.join(KINDS)})")


def check_source(source: Any, where: str, error: type[S5RFError] = DataError) -> None:
    """Refuse a recorded data source with a missing or ill-typed field: `error` names `where` and the field.

    digits: optional steps_per_row, levels (whole numbers >= 1); sdigits: nothing; psdigits: an
    optional permutation of the 64 pixels; spike files: root (text), binning (see
    `spike_files.resolve_binning`), channels (a divisor of the 700 input channels).
    """
    if not isinstance(source, dict) or source.get("kind") not in KINDS:
        kind = source.get("kind") if isinstance(source, dict) else source
        raise error(f"{where}: unknown data source {kind!r} (kinds: {', '.join(KINDS)})")
    if source["kind"] in ("sdigits", "psdigits"):
        if "permutation" in source:
            try:
                sdigits.check_permutation(source["permutation"], where)
            except DataError as err:
                raise error(str(err)) from None
        return
    counts = ("steps_per_row", "levels") if source["kind"] == "digits" else ("channels",)
    for key in counts:
        value = source.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= spike_files.INPUT_CHANNELS:
            raise error(f"{where}: field {key!r} must be a whole number in 1..{spike_files.INPUT_CHANNELS}, "
                        f"got {value!r}")
    if source["kind"] == "digits":
        return
    if not isinstance(source.get("root"), str) or not source["root"]:
        raise error(f"{where}: field 'root' must name the data directory, got {source.get('root')!r}")
    if spike_files.INPUT_CHANNELS % source.get("channels", spike_files.DEFAULT_CHANNELS):
        raise error(f"{where}: field 'channels' must divide the {spike_files.INPUT_CHANNELS} input channels, "
                    f"got {source['channels']}")
    try:
        spike_files.resolve_binning(source.get("binning"))
    except DataError as err:
        raise error(f"{where}: {err}") from None


def load_split(source: dict, split: str) -> SpikeData:
    """The `split` ("train", "test", or "valid" for SSC) of the data set described by `source`."""
    kind = source.get("kind")
    if kind == "digits":
        return digits.load_digits_split(split, int(source.get("steps_per_row", digits.STEPS_PER_ROW)),
                                        int(source.get("levels", digits.LEVELS)))
    if kind == "sdigits":
        return sdigits.load_sdigits_split(split)
    if kind == "psdigits":
        return sdigits.load_sdigits_split(split, resolve_source(source)["permutation"])
    if kind in spike_files.FILE_SETS:
        if not source.get("root"):
            raise DataError(f"data source {kind}: no data directory given")
        return spike_files.load_spike_file_split(kind, source["root"], split, source.get("binning"),
                                         int(source.get("channels", spike_files.DEFAULT_CHANNELS)))
    raise DataError(f"data source: unknown kind {kind!r} (choose {', '.join(KINDS)})")


def dataset_info(source: dict, data: SpikeData) -> DatasetInfo:
    """The recorded description (a checkpoint's `dataset`) of `data`, loaded from `source`."""
    return DatasetInfo(name=data.name, encoding=data.encoding, time_steps=data.time_steps,
                       input_dim=data.input_dim, class_names=tuple(data.class_names), source=source)
