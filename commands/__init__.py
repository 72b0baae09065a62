"""The user commands (`s5rf-train`, `s5rf-export`, ...).

Commands sit on top of the three rooms and compose them:
`s5rf_neuro` (model) -> `export` (bridge) -> `hardware` (execution).
"""

import os

# OpenMP threads that spin while waiting for a descheduled peer turn a busy
# machine's slowdown into a collapse; sleeping waiters cost little when idle.
# Set before any command imports torch (which reads it once); a value the user
# set wins. bench/busy_machine.py measures both cases.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
