"""The commands make OpenMP threads wait passively unless the user chose a policy (see bench/busy_machine.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CODE = "import os, s5rf_neuro.commands.train, torch; print(os.environ.get('OMP_WAIT_POLICY'))"


@pytest.mark.parametrize("given, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_commands_choose_passive_waiting_unless_the_user_chose(given, expected):
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env, timeout=120, check=True)
    assert done.stdout.strip() == expected
