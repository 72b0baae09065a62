"""Synthetic speech data sets: espeak-ng words encoded into 700-channel spikes, in the Heidelberg layout.

Shared by the spoken digits (`spoken_digits`) and the spoken commands
(`spoken_commands`). One `Utterance` says everything needed to make one sample
deterministically: a word spoken by espeak-ng (a subprocess) with a voice
"accent+variant", a pitch and a speed; the waveform is trimmed, resampled to
16 kHz, mixed with white noise at a given SNR and encoded by
`s5rf_neuro.data.cochlea`. A speaker is a voice variant; each split has its
own speakers.

`write_splits` writes every split of a data set all-or-nothing: each split's
final file is reserved as a hidden temporary next to it before any work
starts (so an unwritable directory fails at once), samples are streamed into
it as the workers finish them, and the temporaries are renamed to their final
names only after the last split is complete. An interrupted or failed run
leaves no file under a final name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import subprocess
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from scipy.signal import resample_poly

from s5rf_neuro.atomic import atomic_path
from s5rf_neuro.data.cochlea import Cochlea
from s5rf_neuro.data.spike_files import write_spike_stream
from s5rf_neuro.errors import DataError

SAMPLE_RATE = 16000
ESPEAK = "espeak-ng"
_COCHLEA = Cochlea(sample_rate=SAMPLE_RATE)


@dataclass(frozen=True)
class Utterance:
    """Everything needed to synthesise and encode one sample (deterministically)."""

    label: int
    word: str  # the text espeak-ng speaks
    voice: str  # espeak-ng voice "accent+variant"
    speaker: int  # index into the split's speaker (variant) list
    pitch: int  # espeak-ng -p, 0…99
    speed: int  # espeak-ng -s, words per minute
    snr_db: float
    seed: int


@dataclass
class SplitPlan:
    """The utterances of one split, and one name and gender per speaker index."""

    utterances: list[Utterance]
    speaker_names: list[str]
    speaker_genders: list[str]


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
    if proc.returncode != 0 or not proc.stdout:
        raise DataError(f"espeak-ng voice {voice}: {proc.stderr.decode(errors='replace').strip() or 'failed'}")
    wave, rate = parse_wav(proc.stdout, f"espeak-ng voice {voice}")
    return resample_poly(wave, SAMPLE_RATE, rate).astype(np.float32) if rate != SAMPLE_RATE else wave


def trim(wave: np.ndarray, floor_db: float = -40.0, margin_s: float = 0.01) -> np.ndarray:
    """Cut leading and trailing parts quieter than `floor_db` below the peak, keeping a small margin."""
    loud = np.flatnonzero(np.abs(wave) > np.abs(wave).max(initial=0.0) * 10 ** (floor_db / 20))
    if loud.size == 0:
        return wave
    margin = int(margin_s * SAMPLE_RATE)
    return wave[max(0, loud[0] - margin): loud[-1] + margin]


def encode_utterance(u: Utterance, cochlea: Cochlea | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Synthesise, add noise and encode one utterance: (spike times in s float32, units uint16)."""
    rng = np.random.default_rng(u.seed)
    wave = trim(synthesise(u.word, u.voice, u.pitch, u.speed))
    power = float(np.mean(wave**2)) or 1.0
    wave = wave + rng.normal(0.0, np.sqrt(power / 10 ** (u.snr_db / 10)), wave.shape).astype(np.float32)
    return (cochlea or _COCHLEA).encode(wave, rng)


@lru_cache(maxsize=1)
def available_variants() -> frozenset[str]:
    """Voice variants (the part after "+") the installed espeak-ng offers."""
    out = subprocess.run([require_espeak(), "--voices=variant"], capture_output=True, text=True, check=False).stdout
    return frozenset(line.split()[4].split("/")[-1] for line in out.splitlines()[1:] if len(line.split()) >= 5)


@lru_cache(maxsize=32)
def has_voice(voice: str) -> bool:
    """Whether espeak-ng accepts `voice` (a language or voice name such as "en" or "en-us")."""
    return subprocess.run([require_espeak(), "-q", "-v", voice, "a"], capture_output=True, check=False).returncode == 0


def check_voices(accents: Sequence[str], variants: Sequence[str]) -> None:
    """DataError naming the first accent or variant the installed espeak-ng lacks.

    espeak-ng itself silently falls back to its default for an unknown variant,
    so this check is the only place a misspelt variant is caught.
    """
    for accent in accents:
        if not has_voice(accent):
            raise DataError(f"espeak-ng: no voice {accent!r} installed (see espeak-ng --voices)")
    have = available_variants()
    for variant in variants:
        if variant not in have:
            raise DataError(f"espeak-ng: no voice variant {variant!r} installed (see espeak-ng --voices=variant)")


def variant_gender(variant: str) -> str:
    """"male"/"female" for espeak-ng's numbered variants m1…/f1…, else "unknown"."""
    if variant[:1] in ("m", "f") and variant[1:].isdigit():
        return "male" if variant[0] == "m" else "female"
    return "unknown"


def encoded(utterances: list[Utterance], pool: Executor | None, desc: str,
            progress: bool) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(times, units) of each utterance, in order, from `pool`'s workers (None: this process), with a tqdm bar."""
    from tqdm import tqdm

    from s5rf_neuro.terminal import show_progress

    if pool is not None:
        results = pool.map(encode_utterance, utterances, chunksize=8)
    else:
        results = map(encode_utterance, utterances)
    with tqdm(total=len(utterances), desc=desc, unit="utt", disable=not show_progress(progress)) as bar:
        for result in results:
            bar.update()
            yield result


def write_splits(out_dir: str | Path, prefix: str, plans: dict[str, SplitPlan], class_names: list[str],
                 name: str, workers: int = 1, progress: bool = True) -> dict[str, Path]:
    """Encode every split of `plans` and write `{prefix}_{split}.h5` into `out_dir`, all-or-nothing.

    See the module doc. `name` labels the progress bars; `workers` is capped
    at the number of CPUs. Returns the final path of each split.
    """
    require_espeak()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: output exists and is not a directory")
    workers = max(1, min(workers, os.cpu_count() or 1))
    paths = {split: out / f"{prefix}_{split}.h5" for split in plans}
    with contextlib.ExitStack() as stack:
        try:
            out.mkdir(parents=True, exist_ok=True)
            temporaries = {split: stack.enter_context(atomic_path(path)) for split, path in paths.items()}
        except OSError as err:
            raise DataError(f"{out}: cannot write the data set there ({err.strerror or err})") from None
        pool = stack.enter_context(ProcessPoolExecutor(workers)) if workers > 1 else None
        for split, plan in plans.items():
            samples = encoded(plan.utterances, pool, f"{name} {split}", progress)
            write_spike_stream(temporaries[split], samples, np.array([u.label for u in plan.utterances]),
                               class_names, speakers=np.array([u.speaker for u in plan.utterances]),
                               speaker_names=plan.speaker_names, speaker_genders=plan.speaker_genders)
    return paths
