"""SIGTERM is handled like Ctrl-C; Ctrl-C in the final flush, consolidation or figures is clean."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import sim.experiments.store
import sim.viz.plots
from sim.experiments.store import SweepStore
from tests.builders import small_economy_dict, sweep_quietly, tiny_experiment

TIMING = ["duration_s"]


def _runs(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "runs.parquet").drop(columns=TIMING)


def _read_until_runs_done(process: subprocess.Popen, total: int, done: int) -> bytes:
    """Read the progress bar on stderr until it shows ``done`` finished runs; return the bytes."""
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        chunk = os.read(process.stderr.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
        counts = [int(n) for n in re.findall(rb"(\d+)/%d" % total, seen)]
        if counts and max(counts) >= done:
            return seen
    raise TimeoutError(f"the sweep did not finish {done} runs in time: {seen[-500:]!r}")


def test_sigterm_flushes_the_buffered_runs_marks_interrupted_and_exits_143(tmp_path):
    # 80 runs of 3 years: the engine steps a task's runs together, so a sweep must be long
    # enough that runs are still to come when the signal arrives
    path = tiny_experiment(tmp_path, replications=40, base={**small_economy_dict(), "years": 3})
    argv = [sys.executable, "-m", "sim.cli", "sweep", str(path), "--results", str(tmp_path / "r"),
            "--no-figures", "--flush-every", "1000", "--backend", "processes",
            "--workers", "2"]  # fmt: skip  # small tasks: runs finish a few at a time
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = _read_until_runs_done(process, 80, 2)
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=60)
    stderr = (seen + rest).decode(errors="replace")
    folder = tmp_path / "r" / "tiny"
    assert process.returncode == 143, stderr[-2000:]
    assert "Traceback" not in stderr and "interrupted (SIGTERM)" in stderr
    assert SweepStore(folder).read_manifest()["status"] == "interrupted"
    stored = len(SweepStore(folder).completed_ids())
    assert 2 <= stored < 80, "the runs buffered (never flushed by count) were stored"
    assert sweep_quietly(path, tmp_path / "r") == 0
    assert sweep_quietly(path, tmp_path / "whole") == 0
    pd.testing.assert_frame_equal(_runs(tmp_path / "whole" / "tiny"), _runs(folder))


def _interrupt_at(monkeypatch, where: str) -> None:
    """Make a Ctrl-C arrive in the final flush, the consolidation or the figures."""

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    if where == "final flush":
        real = sim.experiments.store.atomic_write_parquet

        def write(frame, path, *args, **kwargs):
            if Path(path).parent.name == "runs":  # the runs part, the flush's commit point
                raise KeyboardInterrupt
            real(frame, path, *args, **kwargs)

        monkeypatch.setattr(sim.experiments.store, "atomic_write_parquet", write)
    elif where == "consolidation":
        monkeypatch.setattr(SweepStore, "consolidate", interrupt)
    else:
        monkeypatch.setattr(sim.viz.plots, "write_sweep_figures", interrupt)


@pytest.mark.parametrize(
    ("where", "status"),
    [("final flush", "interrupted"), ("consolidation", "interrupted"), ("figures", "finished")],
)
def test_ctrl_c_after_the_runs_exits_130_without_a_traceback(tmp_path, monkeypatch, capsys,
                                                             where, status):  # fmt: skip
    from sim.cli.main import main

    path = tiny_experiment(tmp_path, record_steps=True)
    argv = ["sweep", str(path), "--results", str(tmp_path / "r"), "--quiet"]
    with monkeypatch.context() as patch:
        _interrupt_at(patch, where)
        assert main(argv) == 130
    err = capsys.readouterr().err
    assert "interrupted (Ctrl-C): rerun the same command to resume" in err
    assert "Traceback" not in err
    folder = tmp_path / "r" / "tiny"
    assert SweepStore(folder).read_manifest()["status"] == status
    assert main([*argv, "--no-figures"]) == 0
    assert len(_runs(folder)) == 4 and (_runs(folder)["status"] == "ok").all()
    assert SweepStore(folder).read_steps("labs")["run_id"].nunique() == 4
