"""The names of the places a network runs, in one place (no Lava import: the commands list them cheaply).

`run_lava` takes a Lava run configuration name (`LAVA_BACKENDS`); s5rf-run's
`--backend` takes a command name (`COMMAND_BACKENDS`), which maps onto golden
or one of those.
"""

from __future__ import annotations

GOLDEN = "golden"
"""The golden simulator (`hardware.golden`), integer or float64."""
LAVA_CPU = "cpu"
"""Lava's `Loihi2SimCfg` on the host: bit-exact with golden for an integer network."""
LAVA_HW = "loihi2-hw"
"""Lava's `Loihi2HwCfg`: a Loihi 2 system with Intel's Lava extension for Loihi."""
LAVA_BACKENDS = (LAVA_CPU, LAVA_HW)
"""The backends `run_lava` accepts."""
COMMAND_BACKENDS = {GOLDEN: GOLDEN, "lava": LAVA_CPU, LAVA_HW: LAVA_HW}
"""s5rf-run's `--backend` names and what each runs on."""
