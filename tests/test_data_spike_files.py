"""SHD/SSC loaders on small files in exactly the official layout: binnings, splits, bad input."""

from __future__ import annotations

import gzip
import shutil

import h5py
import numpy as np
import pytest
from spike_files import SHD_CLASSES, write_official, write_shd_dir

from s5rf_neuro.data import load_split, resolve_source
from s5rf_neuro.data.spike_files import FILE_SETS, RawSpikes, bin_spikes, read_raw, write_spike_file
from s5rf_neuro.errors import DataError


def one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert message and "\n" not in message
    return message


def raw(times, units, labels=None) -> RawSpikes:
    labels = np.zeros(len(times), dtype=np.int64) if labels is None else np.asarray(labels)
    return RawSpikes([np.asarray(t, float) for t in times], [np.asarray(u) for u in units], labels, ["a"], None)


def test_official_layout_loads_with_paper_binning(tmp_path):
    root = write_shd_dir(tmp_path / "shd", train_per_class=2, test_per_class=1)
    train = load_split({"kind": "shd", "root": str(root)}, "train")
    test = load_split({"kind": "shd", "root": str(root)}, "test")
    assert train.inputs.shape == (40, 250, 140) and test.inputs.shape == (20, 250, 140)
    assert train.inputs.dtype == np.uint8 and set(np.unique(train.inputs)) <= {0, 1}
    assert train.labels.dtype == np.int64 and list(np.bincount(train.labels)) == [2] * 20
    assert train.class_names == SHD_CLASSES
    # each sample spans its own duration: its last spike lands in the last bin
    assert np.all(train.inputs[:, -1, :].max(axis=1) == 1)
    # class-specific band of units survives the 700 -> 140 summation
    band = (train.labels * 35 % 700) // 5
    active = train.inputs.max(axis=1)
    assert all(active[i, band[i]] == 1 for i in range(len(train)))


def test_duration_binning_exact():
    r = raw([[0.0, 0.5, 1.0, 0.26]], [[0, 5, 699, 4]])
    x = bin_spikes(r, {"mode": "duration", "bins": 4}, channels=140)
    expected = np.zeros((1, 4, 140), dtype=np.uint8)
    expected[0, 0, 0] = 1   # t=0, unit 0
    expected[0, 2, 1] = 1   # t=0.5, unit 5 -> channel 1
    expected[0, 3, 139] = 1  # t=1.0 (the sample's end) -> last bin, unit 699 -> channel 139
    expected[0, 1, 0] = 1   # t=0.26 -> bin 1, unit 4 -> channel 0
    np.testing.assert_array_equal(x, expected)
    full = bin_spikes(r, {"mode": "duration", "bins": 4}, channels=700)
    assert full.shape == (1, 4, 700) and full[0, 3, 699] == 1 and full.sum() == 4


def test_fixed_binning_pads_and_cuts():
    r = raw([[0.05, 0.25], [0.01]], [[10, 20], [30]])
    x = bin_spikes(r, {"mode": "fixed", "bin_ms": 100.0, "time_steps": None}, channels=140)
    assert x.shape == (2, 3, 140)  # longest sample 0.25 s -> 3 bins of 100 ms
    assert x[0, 0, 2] == 1 and x[0, 2, 4] == 1 and x[1, 0, 6] == 1 and x.sum() == 3
    cut = bin_spikes(r, {"mode": "fixed", "bin_ms": 100.0, "time_steps": 2}, channels=140)
    assert cut.shape == (2, 2, 140) and cut.sum() == 2
    padded = bin_spikes(r, {"mode": "fixed", "bin_ms": 100.0, "time_steps": 10}, channels=140)
    assert padded.shape == (2, 10, 140) and padded[:, 3:].sum() == 0


def test_fixed_binning_length_pinned_by_train_split(tmp_path):
    root = write_shd_dir(tmp_path / "shd", 1, 1)
    source = resolve_source({"kind": "shd", "root": str(root), "binning": {"mode": "fixed", "bin_ms": 10}})
    steps = source["binning"]["time_steps"]
    assert steps == load_split(source, "train").time_steps == load_split(source, "test").time_steps
    assert 60 <= steps <= 121  # samples last 0.6-1.2 s


def test_ssc_has_three_splits(tmp_path):
    root = write_shd_dir(tmp_path / "ssc", 1, 1, kind="ssc", num_classes=35)
    for split, n in (("train", 35), ("valid", 35), ("test", 35)):
        data = load_split({"kind": "ssc", "root": str(root)}, split)
        assert len(data) == n and data.num_classes == 35
    with pytest.raises(DataError, match="no 'valid' split"):
        load_split({"kind": "shd", "root": str(root)}, "valid")


def test_writer_round_trip(tmp_path):
    times = [np.array([0.0, 0.1, 0.2]), np.array([], dtype=float)]
    units = [np.array([1, 2, 699]), np.array([], dtype=int)]
    path = tmp_path / "shd_train.h5"
    write_spike_file(path, times, units, np.array([3, 19]), SHD_CLASSES, speakers=np.array([0, 1]))
    back = read_raw(path, 20)
    np.testing.assert_allclose(back.times[0], times[0], atol=1e-7)
    np.testing.assert_array_equal(back.units[0], units[0])
    assert len(back.times[1]) == 0 and list(back.labels) == [3, 19] and back.class_names == SHD_CLASSES
    with h5py.File(path) as f:
        assert {"spikes/times", "spikes/units", "labels", "extra/keys", "extra/speaker",
                "extra/meta_info/gender", "extra/meta_info/age", "extra/meta_info/body_height"} <= set(_names(f))
    assert not list(tmp_path.glob("*.tmp"))


def _names(f: h5py.File) -> list[str]:
    out: list[str] = []
    f.visit(out.append)
    return out


def test_missing_directory_and_files(tmp_path):
    with pytest.raises(DataError) as err:
        load_split({"kind": "shd", "root": str(tmp_path / "nope")}, "train")
    assert "nope" in one_line(err) and "no such data directory" in one_line(err)
    with pytest.raises(DataError) as err:
        load_split({"kind": "shd", "root": str(tmp_path)}, "train")
    assert str(tmp_path) in one_line(err) and "missing shd_train.h5" in one_line(err)
    assert "shd_test.h5" in one_line(err)
    write_shd_dir(tmp_path / "zipped", 1, 1)
    src = tmp_path / "zipped" / "shd_train.h5"
    with open(src, "rb") as fin, gzip.open(src.with_suffix(".h5.gz"), "wb") as fout:
        shutil.copyfileobj(fin, fout)
    src.unlink()
    with pytest.raises(DataError, match="gunzip") as err:
        load_split({"kind": "shd", "root": str(tmp_path / "zipped")}, "train")
    one_line(err)


@pytest.mark.parametrize("dataset", ["spikes/times", "spikes/units", "labels"])
def test_missing_dataset(tmp_path, dataset):
    root = tmp_path / "shd"
    write_shd_dir(root, 1, 1)
    write_official(root / "shd_train.h5", np.arange(20), SHD_CLASSES, drop=dataset)
    with pytest.raises(DataError) as err:
        load_split({"kind": "shd", "root": str(root)}, "train")
    assert f"missing dataset '{dataset}'" in one_line(err) and "shd_train.h5" in one_line(err)


def test_labels_out_of_range_and_empty(tmp_path):
    root = write_shd_dir(tmp_path / "shd", 1, 1)
    write_official(root / "shd_test.h5", np.array([0, 5, 20]), SHD_CLASSES)
    with pytest.raises(DataError) as err:
        load_split({"kind": "shd", "root": str(root)}, "test")
    assert "shd_test.h5" in one_line(err) and "label 20 of sample 2 is out of range 0..19" in one_line(err)
    write_official(root / "shd_test.h5", np.array([], dtype=int), SHD_CLASSES)
    with pytest.raises(DataError) as err:
        load_split({"kind": "shd", "root": str(root)}, "test")
    assert "shd_test.h5" in one_line(err) and "empty" in one_line(err)


def test_bad_units_and_not_hdf5(tmp_path):
    root = write_shd_dir(tmp_path / "shd", 1, 1)
    write_spike_file(root / "shd_test.h5", [np.array([0.1])], [np.array([700])], np.array([1]), SHD_CLASSES)
    with pytest.raises(DataError, match="unit outside 0..699") as err:
        load_split({"kind": "shd", "root": str(root)}, "test")
    one_line(err)
    (root / "shd_test.h5").write_text("not hdf5")
    with pytest.raises(DataError, match="not a readable HDF5 file") as err:
        load_split({"kind": "shd", "root": str(root)}, "test")
    one_line(err)


def test_unknown_source_and_file_sets():
    with pytest.raises(DataError, match="unknown kind 'mnist'"):
        load_split({"kind": "mnist"}, "test")
    with pytest.raises(DataError, match="no data directory"):
        load_split({"kind": "ssc"}, "test")
    assert FILE_SETS["ssc"].splits == ("train", "valid", "test")


@pytest.mark.parametrize("binning", [{"mode": "duration", "bins": 50},
                                     {"mode": "fixed", "bin_ms": 20.0, "time_steps": None},
                                     {"mode": "fixed", "bin_ms": 20.0, "time_steps": 30}])
def test_chunked_loading_equals_whole_file_binning(tmp_path, monkeypatch, binning):
    """The loader reads and bins a few samples at a time; the rasters equal binning the whole file at once."""
    import s5rf_neuro.data.spike_files as spike_files

    root = write_shd_dir(tmp_path / "ssc", train_per_class=1, test_per_class=1, kind="ssc", num_classes=35)
    whole = bin_spikes(read_raw(root / "ssc_train.h5", 35), spike_files.resolve_binning(binning), channels=140)
    monkeypatch.setattr(spike_files, "CHUNK", 4)  # 35 samples: 9 chunks, the last one short
    data = load_split({"kind": "ssc", "root": str(root), "binning": binning}, "train")
    np.testing.assert_array_equal(data.inputs, whole)
    assert data.inputs.sum() > 0 and list(data.labels) == list(range(35))
