"""Loaders for the Heidelberg spiking data sets (SHD, SSC) and files in their layout.

Official HDF5 layout (one file per split)::

    spikes/times   vlen float, spike times in seconds, one array per sample
    spikes/units   vlen int, channel (0…699) of each spike
    labels         (N,) int class index
    extra/         keys (class names), speaker, meta_info/{gender, age, body_height}

Two binnings turn a sample into a dense (T, C) raster, C = `channels`
(700 input channels summed in groups of 700 / C, 140 by default):

- ``{"mode": "duration", "bins": 250}`` (the paper's recipe): every sample is
  cut into `bins` equal bins spanning [0, its own last spike time];
- ``{"mode": "fixed", "bin_ms": 4.0, "time_steps": T}``: bins of a fixed
  duration, which is what streaming hardware sees; samples are zero-padded
  (or cut) to T bins; without `time_steps`, T covers the longest sample.

A bin holding one or more spikes of a channel is 1, otherwise 0 (uint8).

Reading checks every value before it is binned: labels are a 1-D dataset of
whole class indices, spike times finite and >= 0 seconds, units whole channel
numbers, and a split needs at least one spike; the rasters' size is checked
against the machine's memory before they are allocated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from s5rf_neuro.atomic import atomic_path
from s5rf_neuro.data.base import SpikeData, check_labels
from s5rf_neuro.errors import DataError
from s5rf_neuro.resources import MemoryNeed, raster_bytes, require

INPUT_CHANNELS = 700
DEFAULT_CHANNELS = 140
DEFAULT_BINS = 250
"""Bins over each sample's duration (the paper's binning)."""
DEFAULT_BIN_MS = 4.0
"""Bin width of the fixed-step binning, in ms."""
MIN_BIN_MS = 0.001
"""Shortest bin of the fixed-step binning, in ms (one microsecond)."""
DEFAULT_BINNING = {"mode": "duration", "bins": DEFAULT_BINS}
REQUIRED = ("spikes/times", "spikes/units", "labels")
CHUNK = 512  # samples binned at once, bounds the memory of the flat event arrays


@dataclass(frozen=True)
class FileSet:
    """How one data set names its files and how many classes it has."""

    title: str
    prefix: str
    splits: tuple[str, ...]
    num_classes: int


FILE_SETS = {
    "shd": FileSet("SHD", "shd", ("train", "test"), 20),
    "ssc": FileSet("SSC", "ssc", ("train", "valid", "test"), 35),
    "spoken-digits": FileSet("spoken digits", "spoken_digits", ("train", "test"), 20),
}


@dataclass
class RawSpikes:
    """Spike events of one split as read from its file.

    times[i] (seconds, float64) and units[i] (int64) hold the events of sample i.
    """

    times: list[np.ndarray]
    units: list[np.ndarray]
    labels: np.ndarray
    class_names: list[str]
    path: Path


def split_path(kind: str, root: str | Path, split: str) -> Path:
    """The file of `split` in `root`, or DataError naming the directory and the missing file."""
    fs = FILE_SETS[kind]
    root = Path(root)
    if split not in fs.splits:
        raise DataError(f"{fs.title}: no {split!r} split (has {', '.join(fs.splits)})")
    if not root.is_dir():
        raise DataError(f"{root}: no such data directory")
    path = root / f"{fs.prefix}_{split}.h5"
    if not path.is_file():
        expected = ", ".join(f"{fs.prefix}_{s}.h5" for s in fs.splits)
        hint = f"; found {path.name}.gz: decompress it with gunzip" if path.with_suffix(".h5.gz").is_file() else ""
        raise DataError(f"{root}: missing {path.name} (expected the {fs.title} files {expected}){hint}")
    return path


def _decode(values: np.ndarray) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


class SpikeFile:
    """An open file of the official layout, checked on opening and read `CHUNK`-sized slices at a time.

    Opening raises DataError naming the file for: not HDF5, a missing dataset,
    mismatched sample counts, an empty set and labels outside [0, num_classes)
    (num_classes is the length of `extra/keys` when present); `read` checks
    each sample's spikes (equal counts, units in [0, channels_in)). Use as a
    context manager, or `close` it.
    """

    def __init__(self, path: str | Path, num_classes: int, channels_in: int = INPUT_CHANNELS) -> None:
        import h5py

        self.path = Path(path)
        self.channels_in = channels_in
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as err:
            raise DataError(f"{self.path}: not a readable HDF5 file ({err})") from None
        try:
            self._check(num_classes)
        except BaseException:
            self._file.close()
            raise

    def _check(self, num_classes: int) -> None:
        import h5py

        f, path = self._file, self.path
        for name in REQUIRED:
            if name not in f or not isinstance(f[name], h5py.Dataset):
                raise DataError(f"{path}: missing dataset '{name}'")
        for name in ("spikes/times", "spikes/units"):
            base = h5py.check_vlen_dtype(f[name].dtype) or f[name].dtype
            if f[name].ndim != 1 or base.kind not in "iuf":
                raise DataError(f"{path}: '{name}' must be a 1-D dataset of variable-length numeric arrays, got "
                                f"shape {f[name].shape} of {base}")
        self.labels = _labels(f["labels"], path)
        keys = _decode(f["extra/keys"][:]) if "extra/keys" in f else None
        counts = (len(f["spikes/times"]), len(f["spikes/units"]), len(self.labels))
        if len(set(counts)) != 1:
            raise DataError(f"{path}: sample counts differ (spikes/times {counts[0]}, spikes/units {counts[1]}, "
                            f"labels {counts[2]})")
        if len(self.labels) == 0:
            raise DataError(f"{path}: empty data set (0 samples)")
        self.class_names = keys if keys else [f"class {i}" for i in range(num_classes)]
        check_labels(self.labels, len(self.class_names), str(path))

    def __len__(self) -> int:
        return len(self.labels)

    def __enter__(self) -> "SpikeFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def read(self, start: int, stop: int) -> RawSpikes:
        """Samples start…stop−1, checked (errors give the sample's index in the file)."""
        times = [np.asarray(t, dtype=np.float64) for t in self._file["spikes/times"][start:stop]]
        raw_units = self._file["spikes/units"][start:stop]
        units = [np.asarray(u, dtype=np.int64) for u in raw_units]
        for i, (t, u, given) in enumerate(zip(times, units, raw_units), start=start):
            if len(t) != len(u):
                raise DataError(f"{self.path}: sample {i} has {len(t)} spike times but {len(u)} units")
            if len(t) and not (np.all(np.isfinite(t)) and t.min() >= 0):
                raise DataError(f"{self.path}: sample {i} has a spike time that is negative, NaN or infinite "
                                "(times are seconds >= 0)")
            if len(u) and not np.array_equal(u, given):
                raise DataError(f"{self.path}: sample {i} has a unit that is not a whole channel number")
            if len(u) and (u.min() < 0 or u.max() >= self.channels_in):
                raise DataError(f"{self.path}: sample {i} has a unit outside 0..{self.channels_in - 1}")
        return RawSpikes(times, units, self.labels[start:stop], self.class_names, self.path)

    def chunks(self, size: int | None = None) -> Iterator[tuple[int, RawSpikes]]:
        """(start, RawSpikes) of consecutive slices of at most `size` samples (default `CHUNK`)."""
        size = size or CHUNK
        for start in range(0, len(self), size):
            yield start, self.read(start, min(start + size, len(self)))


def _labels(dataset, path: Path) -> np.ndarray:
    """The (N,) int64 class indices of the h5py `labels` dataset, or DataError naming the file."""
    if dataset.ndim != 1 or dataset.dtype.kind not in "iuf":
        raise DataError(f"{path}: 'labels' must be a 1-D dataset of class indices, got shape {dataset.shape} "
                        f"of {dataset.dtype}")
    values = dataset[:]
    labels = np.asarray(values, dtype=np.int64) if dataset.dtype.kind in "iu" or not len(values) else None
    if labels is None:
        whole = np.isfinite(values) & (values == np.round(values))
        if not whole.all():
            index = int(np.argmin(whole))
            raise DataError(f"{path}: label of sample {index} is {values[index]}, not a whole class index")
        labels = values.astype(np.int64)
    return labels


def read_raw(path: str | Path, num_classes: int, channels_in: int = INPUT_CHANNELS) -> RawSpikes:
    """Read and check one whole file of the official layout (see `SpikeFile` for the checks)."""
    with SpikeFile(path, num_classes, channels_in) as f:
        return f.read(0, len(f))


def _flat(times: list[np.ndarray], units: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate events of several samples: (sample index, time, unit), each (E,)."""
    lengths = np.fromiter((len(t) for t in times), dtype=np.int64, count=len(times))
    sample = np.repeat(np.arange(len(times)), lengths)
    if lengths.sum() == 0:
        return sample, np.zeros(0), np.zeros(0, dtype=np.int64)
    return sample, np.concatenate(times), np.concatenate(units)


def time_steps(raw: RawSpikes, binning: dict) -> int:
    """Bins per sample of `raw` under `binning` (fixed mode without time_steps: enough for its longest sample)."""
    mode = binning.get("mode")
    if mode == "duration":
        steps = int(binning.get("bins", DEFAULT_BINS))
    elif mode == "fixed":
        if binning.get("time_steps"):
            steps = int(binning["time_steps"])
        else:
            longest = max((t.max() for t in raw.times if len(t)), default=0.0)
            steps = max(1, math.floor(longest / (float(binning["bin_ms"]) / 1000.0)) + 1)
    else:
        raise DataError(f"binning: unknown mode {mode!r} (choose duration or fixed)")
    if steps < 1:
        raise DataError(f"binning: need at least one time step, got {steps}")
    return steps


def bin_spikes(raw: RawSpikes, binning: dict, channels: int = DEFAULT_CHANNELS,
               channels_in: int = INPUT_CHANNELS, out: np.ndarray | None = None) -> np.ndarray:
    """Dense binary rasters (N, T, channels) uint8 of `raw` under `binning` (see module doc).

    out: a zeroed (N, T, channels) uint8 array to fill (T from `time_steps`), else one is allocated.
    """
    if channels < 1 or channels_in % channels:
        raise DataError(f"channels: {channels} does not divide the {channels_in} input channels")
    group = channels_in // channels
    mode = binning.get("mode")
    steps = time_steps(raw, binning) if out is None else out.shape[1]
    if out is None:
        out = np.zeros((len(raw.labels), steps, channels), dtype=np.uint8)
    for start in range(0, len(raw.labels), CHUNK):
        times, units = raw.times[start:start + CHUNK], raw.units[start:start + CHUNK]
        sample, t, u = _flat(times, units)
        if mode == "duration":
            end = np.array([tt.max() if len(tt) else 0.0 for tt in times])
            end = np.where(end > 0, end, 1.0)[sample]
            b = np.minimum(np.floor(t / end * steps).astype(np.int64), steps - 1)
        else:
            b = np.floor(t / (float(binning["bin_ms"]) / 1000.0)).astype(np.int64)
        keep = (b >= 0) & (b < steps)
        out[start + sample[keep], b[keep], u[keep] // group] = 1
    return out


def resolve_binning(binning: dict | None) -> dict:
    """A complete binning dict: the paper's default, with the defaults of its mode filled in."""
    if binning is not None and not isinstance(binning, dict):
        raise DataError(f"binning: expected a mapping of mode, bins, bin_ms, time_steps, got {binning!r}")
    b = dict(DEFAULT_BINNING if not binning else binning)
    if b.get("mode") == "duration":
        b.setdefault("bins", DEFAULT_BINS)
        _check_count(b, "bins")
    elif b.get("mode") == "fixed":
        bin_ms = b.get("bin_ms")
        if isinstance(bin_ms, bool) or not isinstance(bin_ms, (int, float)) or not (
                math.isfinite(bin_ms) and bin_ms >= MIN_BIN_MS):
            raise DataError(f"binning: fixed mode needs a bin_ms of at least {MIN_BIN_MS:g} ms, got {bin_ms!r}")
        b.setdefault("time_steps", None)
        if b["time_steps"] is not None:
            _check_count(b, "time_steps")
    else:
        raise DataError(f"binning: unknown mode {b.get('mode')!r} (choose duration or fixed)")
    return b


def _check_count(binning: dict, key: str) -> None:
    value = binning[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(f"binning: {key} must be a whole number >= 1, got {value!r}")


def describe_binning(binning: dict, channels: int) -> str:
    """One line for the checkpoint's `encoding` field."""
    if binning["mode"] == "duration":
        how = f"{binning['bins']} bins over each sample's duration"
    else:
        how = f"fixed {binning['bin_ms']} ms bins"
    return f"{INPUT_CHANNELS} channels summed to {channels}, {how}, binarised"


def load_spike_file_split(kind: str, root: str | Path, split: str, binning: dict | None = None,
                          channels: int = DEFAULT_CHANNELS) -> SpikeData:
    """Load one split of SHD / SSC / spoken-digits from directory `root` as binned spikes.

    The file is read and binned `CHUNK` samples at a time, so memory holds the
    (N, T, channels) uint8 rasters and one chunk of events, not every event of
    the split (about 16 bytes per spike as float64 times and int64 units).
    """
    fs = FILE_SETS[kind]
    path = split_path(kind, root, split)
    b = resolve_binning(binning)
    if channels < 1 or INPUT_CHANNELS % channels:
        raise DataError(f"channels: {channels} does not divide the {INPUT_CHANNELS} input channels")
    with SpikeFile(path, fs.num_classes) as f:
        if b["mode"] == "fixed" and not b["time_steps"]:
            steps = max(time_steps(raw, b) for _, raw in f.chunks())
        else:
            steps = time_steps(f.read(0, 0), b)
        require(MemoryNeed(f"{path}: the rasters of {len(f)} samples x {steps} bins x {channels} channels "
                           f"({describe_binning(b, channels)})", raster_bytes(len(f), steps, channels)), DataError)
        inputs = np.zeros((len(f), steps, channels), dtype=np.uint8)
        events = 0
        for start, raw in f.chunks():
            bin_spikes(raw, b, channels, out=inputs[start:start + len(raw.labels)])
            events += sum(len(t) for t in raw.times)
        if events == 0:
            raise DataError(f"{path}: every one of the {len(f)} samples is empty (no spikes)")
        labels, class_names = f.labels, f.class_names
    return SpikeData(inputs, labels, class_names, kind, describe_binning(b, channels))


def write_spike_file(path: str | Path, times: list[np.ndarray], units: list[np.ndarray], labels: np.ndarray,
                     class_names: list[str], speakers: np.ndarray | None = None,
                     speaker_names: list[str] | None = None, speaker_genders: list[str] | None = None) -> None:
    """Write one split in the official layout, atomically (temp file, then rename).

    times: per-sample spike times in seconds (stored as vlen float32);
    units: per-sample channels (vlen uint16); the rest as in `write_spike_stream`.
    """
    write_spike_stream(path, zip(times, units), labels, class_names, speakers, speaker_names, speaker_genders)


def write_spike_stream(path: str | Path, samples: Iterable[tuple[np.ndarray, np.ndarray]], labels: np.ndarray,
                       class_names: list[str], speakers: np.ndarray | None = None,
                       speaker_names: list[str] | None = None, speaker_genders: list[str] | None = None) -> None:
    """Write one split in the official layout, atomically, taking the samples one at a time.

    samples: (spike times in s, units) of each sample in order, len(labels) of
    them; each is written as it arrives, so only one sample is held in memory.
    labels (N,) (uint16); speakers (N,) speaker index per sample.
    `extra/meta_info` holds one entry per speaker: gender from
    `speaker_genders`, age and body_height 0 (unknown). `extra/speaker_names`
    (an addition to the official layout) names the speakers.
    """
    import h5py

    path = Path(path)
    n = len(labels)
    speakers = np.zeros(n, dtype=np.int64) if speakers is None else np.asarray(speakers)
    num_speakers = max(int(speakers.max()) + 1 if n else 0, len(speaker_names or []))
    names = speaker_names or [f"speaker {i}" for i in range(num_speakers)]
    genders = speaker_genders or ["unknown"] * num_speakers
    with atomic_path(path) as temporary, h5py.File(temporary, "w") as f:
        t_ds = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(np.float32))
        u_ds = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.uint16))
        written = 0
        for i, (times, units) in enumerate(samples):
            if i >= n:
                raise ValueError(f"{path}: more samples than the {n} labels")
            t_ds[i] = np.asarray(times, dtype=np.float32)
            u_ds[i] = np.asarray(units, dtype=np.uint16)
            written = i + 1
        if written != n:
            raise ValueError(f"{path}: {written} samples for {n} labels")
        f.create_dataset("labels", data=np.asarray(labels, dtype=np.uint16))
        f.create_dataset("extra/keys", data=np.array([c.encode() for c in class_names]))
        f.create_dataset("extra/speaker", data=speakers.astype(np.uint16))
        f.create_dataset("extra/speaker_names", data=np.array([s.encode() for s in names]))
        f.create_dataset("extra/meta_info/gender", data=np.array([g.encode() for g in genders]))
        f.create_dataset("extra/meta_info/age", data=np.zeros(num_speakers, dtype=np.uint16))
        f.create_dataset("extra/meta_info/body_height", data=np.zeros(num_speakers, dtype=np.uint16))
