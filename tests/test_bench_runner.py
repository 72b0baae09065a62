"""bench/run_all.py: runs every benchmark, collects fragments, records failures and the machine."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

RUN_ALL = Path(__file__).resolve().parent.parent / "bench" / "run_all.py"

GOOD = '''
import sys
from pathlib import Path
out = Path(__file__).parent / "results"
out.mkdir(exist_ok=True)
mode = "quick" if "--quick" in sys.argv else "full"
(out / "{name}.md").write_text("## {name}\\n\\n| figure | value |\\n|---|---|\\n| mode | " + mode + " |\\n")
'''


def load_runner(bench_dir: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """bench/run_all.py as a module, pointed at `bench_dir` instead of the real bench/."""
    spec = importlib.util.spec_from_file_location("run_all_under_test", RUN_ALL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "BENCH_DIR", bench_dir)
    monkeypatch.setattr(module, "RESULTS_DIR", bench_dir / "results")
    monkeypatch.setattr(module, "ROOT", bench_dir)
    return module


def test_runs_every_benchmark_and_assembles_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = tmp_path / "bench"
    bench.mkdir()
    for name in ("alpha", "beta"):
        (bench / f"{name}.py").write_text(GOOD.format(name=name))
    (bench / "broken.py").write_text("raise SystemExit(3)\n")
    (bench / "results").mkdir()
    (bench / "results" / "stale.md").write_text("## stale\n")
    os.utime(bench / "results" / "stale.md", (0, 0))  # written by an earlier run
    runner = load_runner(bench, monkeypatch)
    output = tmp_path / "results.md"
    assert runner.main(["--quick", "-o", str(output)]) == 1
    text = output.read_text()
    assert text.startswith("# Benchmark results")
    for field in ("| CPU |", "| cores available |", "| torch |", "| lava-nc |", "| date |", "quick"):
        assert field in text
    assert text.index("## alpha") < text.index("## beta")
    assert "| mode | quick |" in text
    assert "## stale" not in text
    assert "`bench/broken.py` failed with exit code 3" in text


def test_named_benchmarks_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "alpha.py").write_text(GOOD.format(name="alpha"))
    (bench / "beta.py").write_text(GOOD.format(name="beta"))
    runner = load_runner(bench, monkeypatch)
    output = tmp_path / "results.md"
    assert runner.main(["alpha", "-o", str(output)]) == 0
    text = output.read_text()
    assert "## alpha" in text and "## beta" not in text and "| mode | full |" in text
    with pytest.raises(SystemExit, match="unknown benchmark"):
        runner.main(["gamma", "-o", str(output)])


def test_readme_block_gets_the_latest_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "alpha.py").write_text(GOOD.format(name="alpha"))
    readme = tmp_path / "README.md"
    readme.write_text("# Tool\n\n## Benchmarks\n\nintro\n\n<!-- bench:start -->\nold figures\n<!-- bench:end -->\n\nafter\n")
    runner = load_runner(bench, monkeypatch)
    assert runner.main(["--quick", "-o", str(tmp_path / "results.md"), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert "old figures" not in text and "### alpha" in text and "| mode | quick |" in text
    assert text.startswith("# Tool\n\n## Benchmarks\n\nintro\n\n<!-- bench:start -->\n")
    assert text.endswith("<!-- bench:end -->\n\nafter\n")
    assert "# Benchmark results" not in text


def test_readme_without_markers_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = load_runner(tmp_path, monkeypatch)
    assert runner.readme_with_results("# Tool\n", "# Benchmark results\n\n## alpha\n") == "# Tool\n"
