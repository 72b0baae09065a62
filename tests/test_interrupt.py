"""Interruptions and all-or-nothing output: the commands run as subprocesses and get real signals.

- A Lava run (`s5rf-run --backend lava`, `s5rf-export --validate`) stopped by
  SIGINT or SIGTERM exits 130 or 143 within seconds with one line, and
  leaves none of its shared-memory segments in /dev/shm and no process.
- SIGINT and SIGKILL at seeded random moments of training, export and a Lava
  run never leave a half-written or mismatched output: the old files
  unchanged, or a complete new set.
- The export directory is published in one step; training checks its output
  before any work and keeps its metrics log consistent with the checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from s5rf_neuro import atomic
from s5rf_neuro.checkpoint import load_checkpoint
from s5rf_neuro.commands.export import main as export_main
from s5rf_neuro.commands.train import main as train_main
from s5rf_neuro.export.export_dir import ExportDir
from s5rf_neuro.export.nir_io import read_nir
from s5rf_neuro.hardware.network import IntNetwork
from s5rf_neuro.interrupts import Interrupted, signals_raise
from s5rf_neuro.training import Recipe, run as train_run
from s5rf_neuro.training_output import json_line, metrics_path

BIN = Path(sys.executable).parent
TINY = ["--num-neurons", "16", "--num-blocks", "4", "--num-layers", "2", "--batch-size", "64", "--no-progress"]
"""A model and batch small enough that one digits epoch takes well under a second."""
EXIT_WITHIN_S = 20.0
"""An interrupted command must be gone this soon after the signal (generous: the test machine is shared)."""
LAVA_SAMPLES = "300"
"""Long enough that a Lava run is still going when the signal comes."""


@dataclass
class Outcome:
    """How a signalled command ended."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    """From the signal to the exit."""
    segments: set[str]
    """The /dev/shm segments the command had mapped when the signal came."""
    signalled: bool
    """False when the command had ended before its moment came."""


def command(name: str, *args: str) -> list[str]:
    return [str(BIN / name), *args]


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (from /proc)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue.extend(int(child) for child in (task / "children").read_text().split())
            except OSError:
                pass
    return found


def mapped_segments(pid: int) -> set[str]:
    """Names of the /dev/shm files mapped by `pid` and its descendants."""
    names = set()
    for process in descendants(pid):
        try:
            lines = Path(f"/proc/{process}/maps").read_text().splitlines()
        except OSError:
            continue
        names.update(line.split("/dev/shm/", 1)[1].split()[0] for line in lines if "/dev/shm/" in line)
    return names


def alive(pids: list[int]) -> list[int]:
    """The processes of `pids` still running (zombies, whose parent is gone, do not count)."""
    running = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            running.append(pid)
    return running


def wait_until(condition, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return False


def signal_when(argv: list[str], cwd: Path, ready, signum: int, group: bool) -> Outcome:
    """Start `argv`, send `signum` once `ready(process)` holds, and wait for the exit.

    group: send to the whole process group, as a terminal's Ctrl-C or `kill -9 -PGID` does;
    otherwise to the command's process only, as `kill PID` does.
    """
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        assert wait_until(lambda: process.poll() is not None or ready(process), 120), "never reached the moment"
        if process.poll() is not None:
            stdout, stderr = process.communicate()
            return Outcome(process.returncode, stdout, stderr, 0.0, set(), signalled=False)
        segments = mapped_segments(process.pid)
        family = descendants(process.pid)
        (os.killpg if group else os.kill)(process.pid, signum)
        sent = time.monotonic()
        stdout, stderr = process.communicate(timeout=EXIT_WITHIN_S)
        seconds = time.monotonic() - sent
        assert wait_until(lambda: not alive(family), 5), f"processes left: {alive(family)}"
        return Outcome(process.returncode, stdout, stderr, seconds, segments, signalled=True)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def handles_sigterm(process: subprocess.Popen) -> bool:
    """The command has started (its signal handlers are installed): SIGTERM is among the caught signals."""
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
    except OSError:
        return False
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


def holding_for(condition, seconds: float):
    """A readiness test: `seconds` after `condition(process)` first held."""
    first: list[float] = []

    def ready(process: subprocess.Popen) -> bool:
        if not first and condition(process):
            first.append(time.monotonic())
        return bool(first) and time.monotonic() - first[0] >= seconds

    return ready


def started_for(seconds: float):
    """`seconds` after the command started (before it, Python itself is still loading the command)."""
    return holding_for(handles_sigterm, seconds)


def lava_started(process: subprocess.Popen) -> bool:
    """Lava is starting its processes: the command has a child."""
    return len(descendants(process.pid)) > 1


def lava_running(process: subprocess.Popen) -> bool:
    """Lava's runtime is up: the command maps its channels' shared memory."""
    return bool(mapped_segments(process.pid))


def running_for(seconds: float):
    """Lava has been running `seconds` since its shared memory appeared."""
    return holding_for(lava_running, seconds)


def assert_clean_interruption(outcome: Outcome, prog: str, signum: int) -> None:
    name = signal.Signals(signum).name
    assert outcome.signalled, outcome
    assert outcome.code == 128 + signum, outcome
    assert outcome.stderr == f"{prog}: interrupted ({name})\n", outcome.stderr
    assert outcome.seconds < EXIT_WITHIN_S
    left = {name for name in outcome.segments if Path("/dev/shm", name).exists()}
    assert not left, f"{len(left)} of {len(outcome.segments)} shared-memory segments left in /dev/shm"


def remove_leaked(segments: set[str]) -> None:
    """After a SIGKILL nobody can unlink Lava's segments; the test removes what the command left."""
    for name in segments:
        Path("/dev/shm", name).unlink(missing_ok=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("interrupt")


@pytest.fixture(scope="module")
def tiny(work) -> tuple[Path, float]:
    """A tiny trained checkpoint (with its metrics log) and how long its training command took."""
    started = time.monotonic()
    done = subprocess.run(command("s5rf-train", "-o", "tiny.ckpt", "--epochs", "3", *TINY), cwd=work,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return work / "tiny.ckpt", time.monotonic() - started


@pytest.fixture(scope="module")
def tiny_export(tiny, work) -> tuple[Path, float]:
    """An integer export of the tiny checkpoint and how long the export command took."""
    started = time.monotonic()
    done = subprocess.run(command("s5rf-export", str(tiny[0]), "-o", "export", "--test-samples", "0"), cwd=work,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return work / "export", time.monotonic() - started


@pytest.mark.parametrize(("moment", "signum", "group"), [
    ("loading", signal.SIGINT, True),
    ("starting processes", signal.SIGTERM, False),
    ("running", signal.SIGINT, True),
    ("running", signal.SIGTERM, False),
])
def test_lava_run_stops_on_the_first_signal(tiny_export, work, moment, signum, group):
    ready = {"loading": started_for(0.2), "starting processes": lava_started, "running": running_for(1.0)}[moment]
    argv = command("s5rf-run", str(tiny_export[0] / "model.nir"), "--backend", "lava", "--samples", LAVA_SAMPLES)
    outcome = signal_when(argv, work, ready, signum, group)
    assert_clean_interruption(outcome, "s5rf-run", signum)
    if moment == "running":
        assert outcome.segments, "the signal should have come while Lava held shared memory"


def test_export_validation_in_lava_stops_and_writes_nothing(tiny, work):
    argv = command("s5rf-export", str(tiny[0]), "-o", "validated", "--test-samples", "0", "--validate", LAVA_SAMPLES)
    outcome = signal_when(argv, work, running_for(0.5), signal.SIGTERM, False)
    assert_clean_interruption(outcome, "s5rf-export", signal.SIGTERM)
    assert outcome.segments
    assert not list(work.glob("*validated*"))


def export_state(out: Path) -> tuple[str, str] | None:
    """(model.nir digest, export.json digest) of a complete, matching export; fails on a mix or a partial one."""
    if not out.exists():
        return None
    assert sorted(p.name for p in out.iterdir()) == ["export.json", "model.nir"]
    report = json.loads((out / "export.json").read_text())
    assert report["model_nir"]["sha256"] == digest(out / "model.nir"), "model.nir and export.json of two exports"
    read_nir(out / "model.nir")
    return digest(out / "model.nir"), digest(out / "export.json")


def training_state(checkpoint: Path) -> tuple[str, str]:
    """(checkpoint digest, log digest) of a checkpoint whose metrics log holds exactly its epochs."""
    loaded = load_checkpoint(checkpoint)
    lines = [json.loads(line) for line in metrics_path(checkpoint).read_text().splitlines()]
    assert [line["epoch"] for line in lines] == list(range(1, loaded.extra["epoch"] + 1))
    assert lines[-1]["test_accuracy"] == loaded.metrics["test_accuracy"]
    return digest(checkpoint), digest(metrics_path(checkpoint))


def test_random_interruptions_never_leave_mixed_or_partial_output(tiny, tiny_export, work):
    """SIGINT and SIGKILL at seeded random moments; every time the old output or a complete new one."""
    rng = random.Random(20261202)
    checkpoint, train_seconds = tiny
    export, export_seconds = tiny_export
    old_training = training_state(checkpoint)
    old_export = export_state(export)
    retrain = command("s5rf-train", "-o", checkpoint.name, "--epochs", "3", "--seed", "1", *TINY)
    reexport = command("s5rf-export", checkpoint.name, "-o", export.name, "--target", "float", "--test-samples", "0",
                       "--force")
    lava = command("s5rf-run", str(export / "model.nir"), "--backend", "lava", "--samples", LAVA_SAMPLES)
    cases = [("train", signal.SIGINT), ("train", signal.SIGKILL), ("train", signal.SIGKILL),
             ("export", signal.SIGINT), ("export", signal.SIGKILL), ("export", signal.SIGKILL),
             ("lava", signal.SIGINT), ("lava", signal.SIGKILL)]
    outcomes = {"old": 0, "new": 0}
    signalled = 0
    for kind, signum in cases:
        argv, seconds = {"train": (retrain, train_seconds), "export": (reexport, export_seconds),
                         "lava": (lava, 8.0)}[kind]
        delay = rng.uniform(0.0, 1.0) * seconds
        outcome = signal_when(argv, work, started_for(delay), signum, group=True)
        signalled += outcome.signalled
        if signum == signal.SIGINT and outcome.signalled:
            assert outcome.code in (0, 130), (kind, delay, outcome)
            assert outcome.code == 0 or outcome.stderr.endswith("interrupted (SIGINT)\n"), outcome.stderr
            assert "Traceback" not in outcome.stderr
        remove_leaked(outcome.segments if signum == signal.SIGKILL else set())
        for stale in work.glob(".*"):  # what only a SIGKILL may leave: temporary files, never published ones
            assert signum == signal.SIGKILL and stale.name.endswith((".tmp", ".partial")), stale
            (stale.unlink if stale.is_file() else lambda: shutil.rmtree(stale))()
        if kind == "train":
            state = training_state(checkpoint)
            outcomes["old" if state == old_training else "new"] += 1
            old_training = state
        elif kind == "export":
            state = export_state(export)
            outcomes["old" if state == old_export else "new"] += 1
            old_export = state
        else:
            assert outcome.stdout == "" or outcome.code == 0, outcome
    assert outcomes["old"] + outcomes["new"] == 6
    assert signalled >= len(cases) // 2, "most commands should still be running when their moment comes"


def test_force_over_a_directory_named_export_json_changes_nothing(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    (out / "export.json").mkdir(parents=True)
    (out / "model.nir").write_text("an older file")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert export_main([str(tiny[0]), "-o", str(out), "--force", "--test-samples", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "export.json: is not a file" in err and str(out) in err
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_export_refuses_a_directory_with_other_files(tiny, tmp_path, capsys):
    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert export_main([str(tiny[0]), "-o", str(out), "--test-samples", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "notes.txt" in err and "-o" in err
    assert [p.name for p in tmp_path.rglob("*")] == ["results", "notes.txt"]


def test_export_is_swapped_in_whole_and_stale_staging_is_removed(tiny, tmp_path):
    out = tmp_path / "out"
    assert export_main([str(tiny[0]), "-o", str(out), "--target", "float", "--test-samples", "0"]) == 0
    first = export_state(out)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".out.{dead.stdout.strip()}.0badc0de.partial"
    stale.mkdir()
    (stale / "model.nir").write_text("left by a killed export")
    assert export_main([str(tiny[0]), "-o", str(out), "--force", "--test-samples", "0"]) == 0
    second = export_state(out)
    assert second != first and isinstance(read_nir(out / "model.nir"), IntNetwork)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failed_export_leaves_neither_staging_nor_created_folders(tmp_path):
    directory = ExportDir(tmp_path / "new" / "deep" / "out", force=False)
    directory.stage_json("export.json", {"x": 1})
    directory.discard()
    assert list(tmp_path.iterdir()) == []


def test_publish_without_an_atomic_exchange_still_replaces_the_whole_directory(tmp_path, monkeypatch):
    target, staged = tmp_path / "out", tmp_path / ".out.staged"
    target.mkdir()
    (target / "model.nir").write_text("old")
    staged.mkdir()
    (staged / "model.nir").write_text("new")
    monkeypatch.setattr(atomic, "_exchange", lambda first, second: False)
    atomic.publish_directory(staged, target)
    assert (target / "model.nir").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("layout", ["directory", "under a file", "metrics log is a directory"])
def test_train_checks_its_output_before_any_work(tmp_path, capsys, layout):
    if layout == "directory":
        output = tmp_path / "runs"
        output.mkdir()
        expected = "is a directory"
    elif layout == "under a file":
        (tmp_path / "notes").write_text("")
        output = tmp_path / "notes" / "model.ckpt"
        expected = "is not a directory"
    else:
        output = tmp_path / "model.ckpt"
        metrics_path(output).mkdir()
        expected = "metrics log"
    started = time.monotonic()
    assert train_main(["-o", str(output), "--epochs", "1", *TINY]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"-o {output}" in err and expected in err and ".tmp" not in err, err
    assert time.monotonic() - started < 5, "refused only after the work started"


def test_a_run_that_fails_before_its_first_epoch_keeps_the_old_checkpoint_and_log(tiny, tmp_path):
    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_bytes(tiny[0].read_bytes())
    metrics_path(checkpoint).write_bytes(metrics_path(tiny[0]).read_bytes())
    before = training_state(checkpoint)

    def fails(params):
        raise RuntimeError("stopped in the first epoch")

    recipe = Recipe(epochs=2, batch_size=64)
    with pytest.raises(RuntimeError, match="first epoch"):
        train_run({"kind": "digits"}, recipe, checkpoint, config={"num_neurons": 16, "num_blocks": 4, "num_layers": 2},
                  param_transform=fails, progress=False)
    assert training_state(checkpoint) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.ckpt", "model.metrics.jsonl"]


def test_metrics_log_is_strict_json():
    line = json_line({"epoch": 1, "train_loss": float("nan"), "spikes_per_sample": [1.0, float("inf")],
                      "lr": -float("inf")})
    assert json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in the log")) == {
        "epoch": 1, "train_loss": None, "spikes_per_sample": [1.0, None], "lr": None}


def test_an_interruption_dropped_in_a_destructor_is_raised_again_where_it_can_propagate():
    """A signal handled inside a destructor raises where Python must drop it; the command still stops."""

    class SignalsWhileCollected:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGINT)
            sum(range(1000))  # the handler runs here, inside the destructor

    with pytest.raises(Interrupted) as raised:
        with signals_raise():
            holder = SignalsWhileCollected()
            del holder
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline:
                sum(range(1000))
    assert raised.value.exit_code == 130
