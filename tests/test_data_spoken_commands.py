"""The synthetic spoken-commands set: real espeak-ng, a tiny size, read back through the SSC loader."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from s5rf_neuro.commands.data import main as data_main
from s5rf_neuro.data import load_split
from s5rf_neuro.data import spoken_commands as sc
from s5rf_neuro.errors import DataError

TINY_VARIANTS = ["--train-variants", "m1,f1", "--valid-variants", "m3", "--test-variants", "f4"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One utterance per keyword and split (105 in all), made by the command."""
    out = tmp_path_factory.mktemp("ssc") / "data"
    assert data_main(["spoken-commands", "-o", str(out), "--per-class", "1", "--seed", "5", "--workers", "2",
                      *TINY_VARIANTS]) == 0
    return out


def test_files_in_the_ssc_layout_with_disjoint_speakers(tiny: Path) -> None:
    assert sorted(p.name for p in tiny.iterdir()) == ["ssc_test.h5", "ssc_train.h5", "ssc_valid.h5"]
    speakers = {}
    for split in ("train", "valid", "test"):
        with h5py.File(tiny / f"ssc_{split}.h5") as f:
            assert f["spikes/times"].shape == (35,) and f["spikes/units"].shape == (35,)
            assert list(f["labels"][:]) == list(range(35))
            assert [k.decode() for k in f["extra/keys"][:]] == sc.CLASS_NAMES
            names = [n.decode() for n in f["extra/speaker_names"][:]]
            speakers[split] = {names[i] for i in f["extra/speaker"][:]}
            assert len(f["extra/meta_info/gender"]) == len(names)
            for times, units in zip(f["spikes/times"][:], f["spikes/units"][:]):
                assert len(times) == len(units) > 50 and units.max() < 700 and np.all(np.diff(times) >= 0)
    assert speakers["train"] and speakers["train"] <= {"m1", "f1"}
    assert speakers["valid"] == {"m3"} and speakers["test"] == {"f4"}


def test_ssc_loader_reads_every_split(tiny: Path) -> None:
    for split in ("train", "valid", "test"):
        data = load_split({"kind": "ssc", "root": str(tiny)}, split)
        assert data.inputs.shape == (35, 250, 140) and data.num_classes == 35 and data.name == "ssc"
        assert data.class_names[24] == "sheila" and 0.01 < data.inputs.mean() < 0.5


def test_same_seed_same_samples_whatever_the_workers(tiny: Path) -> None:
    """The fixture used 2 workers; re-encoding its valid plan in this process gives the same spikes."""
    from s5rf_neuro.data.speech import encode_utterance

    plan = sc.plan("valid", 1, ["m3"], sc.ACCENTS, seed=5)
    with h5py.File(tiny / "ssc_valid.h5") as f:
        for i in (0, 17, 34):
            times, units = encode_utterance(plan.utterances[i])
            np.testing.assert_array_equal(units, f["spikes/units"][i])
            np.testing.assert_array_equal(times, f["spikes/times"][i])


def test_default_voices_are_disjoint_and_installed() -> None:
    variants = sc.Voices().resolve()
    assert all(variants[split] for split in sc.SPLITS)
    assert not set(variants["train"]) & set(variants["valid"])
    assert not set(variants["valid"]) & set(variants["test"]) and not set(variants["train"]) & set(variants["test"])
    assert sc.split_sizes(80, None, None) == {"train": 80, "valid": 10, "test": 20}


@pytest.mark.parametrize("options, message", [
    (["--test-variants", "nosuchvoice"], "no voice variant 'nosuchvoice' installed"),
    (["--accents", "en,xx-nosuch"], "no voice 'xx-nosuch' installed"),
    (["--valid-variants", "m1"], "voice variant 'm1' is in both the train and the valid split"),
])
def test_bad_voices_are_one_line_errors_and_write_nothing(tmp_path: Path, capsys, options, message) -> None:
    out = tmp_path / "out"
    assert data_main(["spoken-commands", "-o", str(out), "--per-class", "1", *options]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("s5rf-data: error: ") and message in err and "\n" not in err
    assert not out.exists() or not list(out.iterdir())


def test_missing_espeak_is_a_clear_error(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DataError, match="espeak-ng: not found"):
        sc.build(tmp_path / "out", per_class=1)
    assert data_main(["spoken-commands", "-o", str(tmp_path / "out"), "--per-class", "1"]) == 2
    assert capsys.readouterr().err.strip().startswith("s5rf-data: error: espeak-ng: not found")


def test_unwritable_output_directory(tmp_path: Path, capsys) -> None:
    """An output path that cannot become a directory fails before any synthesis, naming it."""
    target = tmp_path / "a-file"
    target.write_text("not a directory")
    assert data_main(["spoken-commands", "-o", str(target), "--per-class", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"s5rf-data: error: {target}: output exists and is not a directory"
    inside = target / "data"  # mkdir fails: its parent is a file
    assert data_main(["spoken-commands", "-o", str(inside), "--per-class", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"s5rf-data: error: {inside}: cannot write the data set there") and "\n" not in err


def test_a_failing_split_leaves_no_file_looking_complete(tmp_path: Path, monkeypatch) -> None:
    """espeak-ng dies while the last split is made: no ssc_*.h5 appears, no temporary is left."""
    from s5rf_neuro.data import speech

    calls = {"n": 0}
    real = speech.encode_utterance

    def failing(u, cochlea=None):
        calls["n"] += 1
        if calls["n"] > 40:  # the train split (35) is done, the valid split is under way
            raise DataError("espeak-ng voice en+m3: killed")
        return real(u, cochlea)

    monkeypatch.setattr(speech, "encode_utterance", failing)
    with pytest.raises(DataError, match="killed"):
        sc.build(tmp_path, per_class=1, seed=1, progress=False,
                 voices=sc.Voices(variants={"train": ["m1"], "valid": ["m3"], "test": ["f4"]}))
    assert list(tmp_path.iterdir()) == []
