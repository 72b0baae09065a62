"""An offline stand-in for the Spiking Speech Commands (SSC): 35 keywords, three splits, the official layout.

The 35 words of the Speech Commands set that SSC uses, labels 0–34 in the
order of `CLASS_NAMES`, each spoken by espeak-ng with an English accent, a
voice variant (the speaker), a random pitch and speed and white noise at a
random SNR, and encoded into 700-channel spikes (`s5rf_neuro.data.speech`).
Written as `ssc_train.h5`, `ssc_valid.h5` and `ssc_test.h5`, so
`--data ssc --data-dir DIR` reads it through the loader of the official files.
Each split has its own voice variants (speakers), disjoint from the others',
so validation and test measure generalisation to unseen voices. Every
utterance has its own seed: the files do not depend on the number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from s5rf_neuro.data import spoken_digits
from s5rf_neuro.data.spike_files import FILE_SETS
from s5rf_neuro.data.speech import (
    SplitPlan,
    Utterance,
    available_variants,
    check_voices,
    require_espeak,
    variant_gender,
    write_splits,
)
from s5rf_neuro.errors import DataError

CLASS_NAMES = ["backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four", "go",
               "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right", "seven",
               "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero"]
SPLITS = FILE_SETS["ssc"].splits
PREFIX = FILE_SETS["ssc"].prefix
ACCENTS = spoken_digits.ENGLISH_ACCENTS
# Voice variants acting as speakers; the digits' test variants are shared out between validation and test.
VARIANTS = {
    "train": spoken_digits.TRAIN_VARIANTS,
    "valid": ["m3", "f2", "klatt2", "Andrea", "iven2", "pablo"],
    "test": ["m6", "f4", "grandpa", "shelby", "steph2", "gustave"],
}
PITCH = (20, 80)  # espeak-ng -p range, drawn per utterance
SPEED = (120, 200)  # words per minute
SNR_DB = (20.0, 35.0)


@dataclass
class Voices:
    """The accents and, per split, the voice variants (speakers) to use.

    Defaults: the variants of `VARIANTS` that the installed espeak-ng has.
    Given explicitly, every accent and variant must be installed.
    """

    accents: list[str] = field(default_factory=lambda: list(ACCENTS))
    variants: dict[str, list[str]] = field(default_factory=dict)

    def resolve(self) -> dict[str, list[str]]:
        """Variants per split; DataError naming a missing voice, an empty split or a variant in two splits."""
        check_voices(self.accents, [v for vs in self.variants.values() for v in vs])
        have = available_variants()
        out = {}
        for split in SPLITS:
            given = self.variants.get(split)
            out[split] = list(given) if given else [v for v in VARIANTS[split] if v in have]
            if not out[split]:
                raise DataError(f"espeak-ng: none of the {split} voice variants is installed")
        for i, a in enumerate(SPLITS):
            for b in SPLITS[i + 1:]:
                shared = sorted(set(out[a]) & set(out[b]))
                if shared:
                    raise DataError(f"voice variant {shared[0]!r} is in both the {a} and the {b} split; "
                                    "speakers must be disjoint")
        return out


def plan(split: str, per_class: int, variants: Sequence[str], accents: Sequence[str], seed: int) -> SplitPlan:
    """The utterances of `split`: per_class per word, speakers drawn from `variants`."""
    rng = np.random.default_rng([seed, SPLITS.index(split), 35])
    utterances = []
    for label, word in enumerate(CLASS_NAMES):
        for _ in range(per_class):
            speaker = int(rng.integers(len(variants)))
            utterances.append(Utterance(
                label=label, word=word, voice=f"{accents[rng.integers(len(accents))]}+{variants[speaker]}",
                speaker=speaker, pitch=int(rng.integers(*PITCH)), speed=int(rng.integers(*SPEED)),
                snr_db=float(rng.uniform(*SNR_DB)), seed=int(rng.integers(2**31))))
    return SplitPlan(utterances, list(variants), [variant_gender(v) for v in variants])


def split_sizes(per_class: int, valid_per_class: int | None, test_per_class: int | None) -> dict[str, int]:
    """Utterances per word of each split: validation defaults to per_class/8, test to per_class/4 (at least 1),
    about the proportions of the official SSC (75 k / 10 k / 20 k)."""
    sizes = {"train": per_class, "valid": valid_per_class or max(1, per_class // 8),
             "test": test_per_class or max(1, per_class // 4)}
    for split, n in sizes.items():
        if n < 1:
            raise DataError(f"spoken commands: {split} utterances per class must be >= 1, got {n}")
    return sizes


def build(out_dir: str | Path, per_class: int = 100, valid_per_class: int | None = None,
          test_per_class: int | None = None, seed: int = 0, workers: int = 1, voices: Voices | None = None,
          progress: bool = True) -> dict[str, Path]:
    """Write ssc_train.h5, ssc_valid.h5 and ssc_test.h5 into `out_dir` (all three or none).

    Returns the path of each split. DataError (one line) when espeak-ng or a
    requested voice is missing, or a size is below 1.
    """
    require_espeak()
    sizes = split_sizes(per_class, valid_per_class, test_per_class)
    voices = voices or Voices()
    if not voices.accents:
        raise DataError("spoken commands: no accent given")
    variants = voices.resolve()
    plans = {split: plan(split, n, variants[split], voices.accents, seed) for split, n in sizes.items()}
    return write_splits(out_dir, PREFIX, plans, CLASS_NAMES, "spoken commands", workers, progress)

