"""Fixtures shared by the whole suite: one digits model trained once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

torch.set_num_threads(2)

DIGITS_TEST_EPOCHS = 10
"""Epochs of the session's digits model: a real trained model, short enough for the suite."""


@pytest.fixture(scope="session")
def digits_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A digits default model trained once per test session (a real `.ckpt`)."""
    from s5rf_neuro.training import train_digits_default

    path = tmp_path_factory.mktemp("digits") / "digits.ckpt"
    train_digits_default(path, epochs=DIGITS_TEST_EPOCHS, progress=False)
    return path


@pytest.fixture(scope="session")
def digits_test_set():
    """The digits test split (SpikeData: inputs (N, T, C) uint8, labels (N,))."""
    from s5rf_neuro.data.registry import load_split

    return load_split({"kind": "digits"}, "test")
