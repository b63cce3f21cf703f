"""Worker processes of the processes backend: they die with the sweep and stay quiet on Ctrl-C."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.builders import small_economy_dict

ROOT = Path(__file__).resolve().parents[1]


def _experiment(tmp_path: Path) -> Path:
    data = {
        "name": "tiny",
        "base": {**small_economy_dict(), "years": 1},
        "levers": [{"path": "policy.carbon_tax", "values": [0.0, 100.0]}],
        "replications": 240,  # about 8 s on 2 workers: a signal sent once a part exists
        # lands mid-sweep (with 24 the batched sweep could finish first)
        "master_seed": 1,
        "backend": "processes",
        "workers": 2,
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _start(tmp_path: Path, start_method: str = "") -> subprocess.Popen:
    argv = [sys.executable, "-m", "sim.cli", "sweep", str(_experiment(tmp_path)),
            "--results", str(tmp_path / "r"), "--quiet", "--no-figures",
            "--flush-every", "2"]  # fmt: skip
    with (tmp_path / "stderr.txt").open("w") as stderr:  # a file: orphans cannot hold it open
        return subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr,
            start_new_session=True,  # its own process group, as a shell job
            env={**os.environ, "RACE_START_METHOD": start_method},
        )  # fmt: skip


def _wait_for_a_part(tmp_path: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not list((tmp_path / "r" / "tiny" / "runs").glob("part-*.parquet")):
        assert process.poll() is None, (tmp_path / "stderr.txt").read_text()
        assert time.monotonic() < deadline, "the sweep wrote no part in time"
        time.sleep(0.05)


def _parents() -> dict[int, int]:
    """pid -> parent pid of every live (not zombie) process, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    return parents


def _descendants(pid: int) -> set[int]:
    parents, found, frontier = _parents(), set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.mark.parametrize("start_method", ["spawn", "fork"])
def test_workers_exit_when_the_sweep_is_killed(tmp_path, start_method):
    process = _start(tmp_path, start_method)
    workers: set[int] = set()
    try:
        _wait_for_a_part(tmp_path, process)
        workers = _descendants(process.pid)
        assert len(workers) >= 2, workers
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        deadline = time.monotonic() + 5
        while (left := workers & set(_parents())) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, f"orphaned workers still running: {sorted(left)}"
    finally:
        for pid in workers | _descendants(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _wait_for_starting_workers(process: subprocess.Popen) -> None:
    """Until a spawned worker exists (it then imports the package for about a second)."""
    deadline = time.monotonic() + 60
    while not any(b"spawn_main" in _cmdline(pid) for pid in _descendants(process.pid)):
        assert process.poll() is None and time.monotonic() < deadline, "no worker started"
        time.sleep(0.02)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.parametrize(
    ("when", "start_method"),
    [("workers starting", "spawn"), ("mid-sweep", "spawn"), ("mid-sweep", "fork")],
)
def test_ctrl_c_to_the_process_group_exits_130_without_a_traceback(tmp_path, when, start_method):
    process = _start(tmp_path, start_method)
    try:
        if when == "workers starting":
            _wait_for_starting_workers(process)
            time.sleep(0.3)  # past Python's start-up, into the imports
        else:
            _wait_for_a_part(tmp_path, process)
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    stderr = (tmp_path / "stderr.txt").read_text()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert "resume" in stderr
