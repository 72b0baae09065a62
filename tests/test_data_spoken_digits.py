"""Cochlear front end and the synthetic spoken-digits set (real espeak-ng, tiny set)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from s5rf_neuro.commands.data import main as data_main
from s5rf_neuro.data import load_split
from s5rf_neuro.data import spoken_digits as sd
from s5rf_neuro.data import speech
from s5rf_neuro.data.cochlea import Cochlea, erb_space
from s5rf_neuro.errors import DataError



def tone(freq: float, seconds: float = 0.3, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("freq", [300.0, 1000.0, 4000.0])
def test_cochlea_is_tonotopic(freq):
    cochlea = Cochlea()
    times, units = cochlea.encode(tone(freq), np.random.default_rng(0))
    assert len(times) > 100 and units.dtype == np.uint16 and times.dtype == np.float32
    assert np.all(np.diff(times) >= 0) and times.max() < 0.3 and units.max() < 700
    counts = np.bincount(units, minlength=700)
    best = int(np.argmax(counts))
    assert abs(np.log2(cochlea.centres[best] / freq)) < 0.25  # within a quarter octave
    assert counts.max() <= cochlea.max_rate * 0.3 + 1  # at most max_rate over 0.3 s


def test_cochlea_silence_and_rate_limit():
    cochlea = Cochlea()
    times, units = cochlea.encode(np.zeros(4000, np.float32), np.random.default_rng(0))
    assert len(times) == 0
    times, units = cochlea.encode(tone(1000.0, 1.0), np.random.default_rng(0))
    assert np.bincount(units).max() <= cochlea.max_rate + 1
    centres = erb_space(50.0, 7500.0, 700)
    assert centres[0] == pytest.approx(50.0) and centres[-1] == pytest.approx(7500.0)
    assert np.all(np.diff(centres) > 0)


def test_parse_wav_rejects_other_streams():
    with pytest.raises(DataError, match="did not return a WAV stream"):
        speech.parse_wav(b"hello world" * 10, "test")


def test_tiny_set_in_shd_layout_with_disjoint_voices(tmp_path):
    paths = sd.build(tmp_path, per_class=1, test_per_class=1, seed=3, progress=False)
    assert set(paths) == {"train", "test"}
    speakers = {}
    for split, path in paths.items():
        assert path.name == f"spoken_digits_{split}.h5"
        with h5py.File(path) as f:
            assert f["spikes/times"].shape == (20,) and f["spikes/units"].shape == (20,)
            assert list(f["labels"][:]) == list(range(20))
            assert [k.decode() for k in f["extra/keys"][:]] == sd.CLASS_NAMES
            names = [n.decode() for n in f["extra/speaker_names"][:]]
            speakers[split] = {names[i] for i in f["extra/speaker"][:]}
            assert all(len(t) > 50 for t in f["spikes/times"][:])
    assert speakers["train"] and speakers["test"] and not speakers["train"] & speakers["test"]
    data = load_split({"kind": "spoken-digits", "root": str(tmp_path)}, "train")
    assert data.inputs.shape == (20, 250, 140) and data.class_names[10] == "null"
    # same seed -> same files
    again = sd.build(tmp_path / "again", per_class=1, test_per_class=1, seed=3, progress=False)
    with h5py.File(paths["test"]) as a, h5py.File(again["test"]) as b:
        for x, y in zip(a["spikes/times"][:], b["spikes/times"][:]):
            np.testing.assert_array_equal(x, y)


def test_missing_espeak_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DataError, match="espeak-ng: not found"):
        sd.build(tmp_path / "out", per_class=1)
    assert data_main(["spoken-digits", "-o", str(tmp_path / "out"), "--per-class", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("s5rf-data: error: espeak-ng: not found") and "\n" not in err


def test_cli_argument_error_subprocess(tmp_path):
    exe = shutil.which("s5rf-data", path=str(Path(sys.executable).parent))
    proc = subprocess.run([exe, "spoken-digits", "-o", str(tmp_path), "--per-class", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("s5rf-data spoken-digits: error: argument --per-class")
