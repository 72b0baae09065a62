"""Whether to draw progress bars: only for a person watching a terminal.

Standard library only (a leaf every room may use). Piped into a log file, a
redrawn bar is kilobytes of noise; the commands print one line per finished
step of work (an epoch, an export stage) instead.
"""

from __future__ import annotations

import sys


def show_progress(wanted: bool) -> bool:
    """True when progress was asked for and standard error is a terminal."""
    return wanted and sys.stderr.isatty()
