"""Where every benchmark writes its figures: bench/results/<name>.md (and .json where it records one).

The leading underscore keeps `run_all.py` from running this module as a benchmark.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from s5rf_neuro.atomic import write_text_atomic
from s5rf_neuro.records import plain_json

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def write_results(name: str, markdown: str, data: dict[str, Any] | None = None) -> Path:
    """Write the Markdown fragment `name`.md (and `data` as `name`.json), print what was written; returns the .md."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    fragment = RESULTS_DIR / f"{name}.md"
    write_text_atomic(fragment, markdown)
    written = [fragment.name]
    if data is not None:
        write_text_atomic(RESULTS_DIR / f"{name}.json", json.dumps(data, indent=2, default=plain_json) + "\n")
        written.append(f"{name}.json")
    print(f"wrote {' and '.join(str(RESULTS_DIR / item) for item in written)}")
    return fragment
