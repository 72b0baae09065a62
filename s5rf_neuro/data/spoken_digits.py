"""A synthetic spoken-digits data set (English and German, 20 classes, SHD layout).

Each utterance is one digit word spoken by espeak-ng (a subprocess) with a
voice = (language accent, voice variant), a random pitch and speed; the
waveform is trimmed, resampled to 16 kHz, mixed with white noise at a random
SNR, and encoded into 700-channel spikes by `s5rf_neuro.data.cochlea`.
Labels 0–9 are English "zero"…"nine", 10–19 German "null"…"neun", as in SHD.
Voice variants are split into disjoint train and test speakers, so the test
set measures generalisation to unseen voices. Every utterance has its own
seed, so the files do not depend on the number of worker processes.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from s5rf_neuro.data.cochlea import Cochlea
from s5rf_neuro.data.spike_files import FILE_SETS, write_spike_file
from s5rf_neuro.errors import DataError

ENGLISH = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
GERMAN = ["null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"]
CLASS_NAMES = ENGLISH + GERMAN
ENGLISH_ACCENTS = ["en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
                   "en-us-nyc"]
GERMAN_ACCENTS = ["de"]
# espeak-ng voice variants acting as speakers (whispering variants left out: no voicing)
TRAIN_VARIANTS = ["m1", "m2", "m4", "m5", "m7", "f1", "f3", "f5", "croak", "klatt", "klatt3", "klatt4",
                  "Alex", "Andy", "Annie", "adam", "anika", "aunty", "belinda", "benjamin", "boris", "caleb",
                  "david", "ed", "edward", "grandma", "iven", "iven3", "john", "linda", "max", "michel", "norbert",
                  "paul", "quincy", "rob", "robert", "steph", "steph3", "travis", "victor", "zac"]
TEST_VARIANTS = ["m3", "m6", "f2", "f4", "klatt2", "Andrea", "grandpa", "iven2", "shelby", "steph2", "pablo",
                 "gustave"]
SAMPLE_RATE = 16000
ESPEAK = "espeak-ng"
PREFIX = FILE_SETS["spoken-digits"].prefix
_COCHLEA = Cochlea(sample_rate=SAMPLE_RATE)


@dataclass(frozen=True)
class Utterance:
    """Everything needed to synthesise and encode one sample (deterministically)."""

    label: int
    voice: str  # espeak-ng voice "accent+variant"
    speaker: int  # index into the split's variant list
    pitch: int  # espeak-ng -p, 0…99
    speed: int  # espeak-ng -s, words per minute
    snr_db: float
    seed: int


def require_espeak() -> str:
    """Path of the espeak-ng binary, or DataError saying how to install it."""
    path = shutil.which(ESPEAK)
    if path is None:
        raise DataError("espeak-ng: not found on PATH; install it (Debian/Ubuntu: apt-get install espeak-ng)")
    return path


def parse_wav(data: bytes, where: str) -> tuple[np.ndarray, int]:
    """16-bit mono PCM WAV bytes -> (float32 waveform in [-1, 1], sample rate).

    Sizes in the header are ignored: espeak-ng writing to a pipe leaves them unset.
    """
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE" or data[12:16] != b"fmt ":
        raise DataError(f"{where}: espeak-ng did not return a WAV stream")
    channels, rate = struct.unpack("<HI", data[22:28])
    bits = struct.unpack("<H", data[34:36])[0]
    start = data.find(b"data", 36)
    if channels != 1 or bits != 16 or start < 0:
        raise DataError(f"{where}: expected 16-bit mono WAV, got {channels} channels, {bits} bits")
    body = data[start + 8:]
    pcm = np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2")
    return pcm.astype(np.float32) / 32768.0, rate


def synthesise(word: str, voice: str, pitch: int, speed: int) -> np.ndarray:
    """Waveform of `word` spoken by espeak-ng, float32 at SAMPLE_RATE."""
    cmd = [require_espeak(), "-v", voice, "-p", str(pitch), "-s", str(speed), "--stdout", word]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        raise DataError(f"espeak-ng voice {voice}: {proc.stderr.decode(errors='replace').strip() or 'failed'}")
    wave, rate = parse_wav(proc.stdout, f"espeak-ng voice {voice}")
    return resample_poly(wave, SAMPLE_RATE, rate).astype(np.float32) if rate != SAMPLE_RATE else wave


def trim(wave: np.ndarray, floor_db: float = -40.0, margin_s: float = 0.01) -> np.ndarray:
    """Cut leading and trailing parts quieter than `floor_db` below the peak, keeping a small margin."""
    loud = np.flatnonzero(np.abs(wave) > np.abs(wave).max() * 10 ** (floor_db / 20))
    if loud.size == 0:
        return wave
    margin = int(margin_s * SAMPLE_RATE)
    return wave[max(0, loud[0] - margin): loud[-1] + margin]


def encode_utterance(u: Utterance, cochlea: Cochlea | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Synthesise, add noise and encode one utterance: (spike times in s, units)."""
    rng = np.random.default_rng(u.seed)
    wave = trim(synthesise(CLASS_NAMES[u.label], u.voice, u.pitch, u.speed))
    power = float(np.mean(wave**2)) or 1.0
    wave = wave + rng.normal(0.0, np.sqrt(power / 10 ** (u.snr_db / 10)), wave.shape).astype(np.float32)
    return (cochlea or _COCHLEA).encode(wave, rng)


def available_variants() -> set[str]:
    """Voice variants the installed espeak-ng offers."""
    out = subprocess.run([require_espeak(), "--voices=variant"], capture_output=True, text=True, check=False).stdout
    return {line.split()[4].split("/")[-1] for line in out.splitlines()[1:] if len(line.split()) >= 5}


def plan(split: str, per_class: int, seed: int) -> tuple[list[Utterance], list[str]]:
    """The utterances of a split (per_class per class) and its speaker (variant) names."""
    have = available_variants()
    variants = [v for v in (TRAIN_VARIANTS if split == "train" else TEST_VARIANTS) if v in have]
    if not variants:
        raise DataError(f"espeak-ng: none of the {split} voice variants is installed")
    rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    utterances = []
    for label in range(len(CLASS_NAMES)):
        accents = ENGLISH_ACCENTS if label < 10 else GERMAN_ACCENTS
        for _ in range(per_class):
            speaker = int(rng.integers(len(variants)))
            utterances.append(Utterance(
                label=label, voice=f"{accents[rng.integers(len(accents))]}+{variants[speaker]}", speaker=speaker,
                pitch=int(rng.integers(20, 80)), speed=int(rng.integers(120, 200)),
                snr_db=float(rng.uniform(20.0, 35.0)), seed=int(rng.integers(2**31))))
    return utterances, variants


def build_split(path: Path, split: str, per_class: int, seed: int, workers: int = 1,
                progress: bool = True) -> int:
    """Synthesise one split into `path` (SHD layout, atomic write); returns the number of samples."""
    from tqdm import tqdm

    from s5rf_neuro.terminal import show_progress

    utterances, variants = plan(split, per_class, seed)
    bar = tqdm(total=len(utterances), desc=f"spoken digits {split}", unit="utt", disable=not show_progress(progress))
    results = []
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            for r in pool.map(encode_utterance, utterances, chunksize=8):
                results.append(r)
                bar.update()
    else:
        for u in utterances:
            results.append(encode_utterance(u))
            bar.update()
    bar.close()
    genders = ["female" if v.startswith("f") and v[1:].isdigit() else "unknown" for v in variants]
    genders = ["male" if v.startswith("m") and v[1:].isdigit() else g for v, g in zip(variants, genders)]
    write_spike_file(path, [r[0] for r in results], [r[1] for r in results],
                     np.array([u.label for u in utterances]), CLASS_NAMES,
                     speakers=np.array([u.speaker for u in utterances]),
                     speaker_names=variants, speaker_genders=genders)
    return len(utterances)


def build(out_dir: str | Path, per_class: int = 150, test_per_class: int | None = None, seed: int = 0,
          workers: int = 1, progress: bool = True) -> dict[str, Path]:
    """Write spoken_digits_train.h5 and spoken_digits_test.h5 into `out_dir`.

    test_per_class defaults to a quarter of per_class (at least 1).
    """
    require_espeak()
    if per_class < 1:
        raise DataError(f"spoken digits: per-class count must be >= 1, got {per_class}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts = {"train": per_class, "test": test_per_class or max(1, per_class // 4)}
    paths = {}
    for split, n in counts.items():
        paths[split] = out / f"{PREFIX}_{split}.h5"
        build_split(paths[split], split, n, seed, workers=max(1, min(workers, os.cpu_count() or 1)),
                    progress=progress)
    return paths
