"""A synthetic spoken-digits data set (English and German, 20 classes, SHD layout).

Each utterance is one digit word spoken by espeak-ng with a voice = (language
accent, voice variant), a random pitch and speed, mixed with white noise at a
random SNR and encoded into 700-channel spikes (`s5rf_neuro.data.speech`).
Labels 0–9 are English "zero"…"nine", 10–19 German "null"…"neun", as in SHD.
Voice variants are split into disjoint train and test speakers, so the test
set measures generalisation to unseen voices. Every utterance has its own
seed, so the files do not depend on the number of worker processes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from s5rf_neuro.data.spike_files import FILE_SETS
from s5rf_neuro.data.speech import (
    SplitPlan,
    Utterance,
    available_variants,
    require_espeak,
    variant_gender,
    write_splits,
)
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
PREFIX = FILE_SETS["spoken-digits"].prefix


def plan(split: str, per_class: int, seed: int) -> SplitPlan:
    """The utterances of a split (per_class per class) and its speakers (variant names)."""
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
                label=label, word=CLASS_NAMES[label],
                voice=f"{accents[rng.integers(len(accents))]}+{variants[speaker]}", speaker=speaker,
                pitch=int(rng.integers(20, 80)), speed=int(rng.integers(120, 200)),
                snr_db=float(rng.uniform(20.0, 35.0)), seed=int(rng.integers(2**31))))
    return SplitPlan(utterances, variants, [variant_gender(v) for v in variants])


def build(out_dir: str | Path, per_class: int = 150, test_per_class: int | None = None, seed: int = 0,
          workers: int = 1, progress: bool = True) -> dict[str, Path]:
    """Write spoken_digits_train.h5 and spoken_digits_test.h5 into `out_dir` (both or neither).

    test_per_class defaults to a quarter of per_class (at least 1).
    """
    require_espeak()
    if per_class < 1:
        raise DataError(f"spoken digits: per-class count must be >= 1, got {per_class}")
    counts = {"train": per_class, "test": test_per_class or max(1, per_class // 4)}
    plans = {split: plan(split, n, seed) for split, n in counts.items()}
    return write_splits(out_dir, PREFIX, plans, CLASS_NAMES, "spoken digits", workers, progress)
