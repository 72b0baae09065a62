"""Import Lava's runtime even after something else fixed the multiprocessing start method.

Lava's message infrastructure calls `multiprocessing.set_start_method("fork")`
when it is first imported, which raises once anything has already fixed the
default context (a tqdm progress bar creates a multiprocessing lock, so any
bar shown before the first Lava import does). Importing this module first
clears that setting and imports Lava's module, which then sets "fork" itself
(the default start method on Linux, so nothing else changes). Every module of
the project that imports Lava imports this one before.
"""

from __future__ import annotations

import importlib
import multiprocessing
import sys

LAVA_MULTIPROCESSING = "lava.magma.runtime.message_infrastructure.multiprocessing"

if LAVA_MULTIPROCESSING not in sys.modules:
    if multiprocessing.get_start_method(allow_none=True) is not None:
        multiprocessing.set_start_method(None, force=True)
    importlib.import_module(LAVA_MULTIPROCESSING)
