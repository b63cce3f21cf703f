"""A Dask scheduler lost mid-sweep: one clear line, exit code 3 (not "runs failed"), resumable."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from sim.experiments.store import SweepStore
from tests.builders import small_economy_dict, sweep_quietly

TIMING = ["duration_s"]


def _experiment(tmp_path: Path) -> Path:
    data = {
        "name": "tiny",
        "base": {**small_economy_dict(), "years": 1},
        "levers": [{"path": "policy.carbon_tax", "values": [0.0, 100.0]}],
        "replications": 12,
        "master_seed": 42,
        "backend": "serial",
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise TimeoutError(what)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_a_scheduler_lost_mid_sweep_is_exit_3_and_the_rerun_resumes(tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
    )
    processes = [scheduler]
    try:
        _wait_until(lambda: _listening(port), 60, "the scheduler did not start")
        processes.append(subprocess.Popen(
            [*dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
            **quiet,
        ))  # fmt: skip
        path = _experiment(tmp_path)
        folder = tmp_path / "r" / "tiny"
        sweep = subprocess.Popen(
            [sys.executable, "-m", "sim.cli", "sweep", str(path), "--results", str(tmp_path / "r"),
             "--quiet", "--no-figures", "--flush-every", "2", "--scheduler", address],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        processes.append(sweep)
        _wait_until(lambda: any((folder / "runs").glob("part-*")), 120, "no part written")
        scheduler.kill()
        _, stderr = sweep.communicate(timeout=120)
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=30)
    assert sweep.returncode == 3, stderr[-2000:]
    assert "Traceback" not in stderr
    assert f"the Dask scheduler at {address} stopped answering during the sweep" in stderr
    assert SweepStore(folder).read_manifest()["status"] == "scheduler lost"
    stored = len(SweepStore(folder).completed_ids())
    assert 0 < stored < 24
    assert sweep_quietly(path, tmp_path / "r") == 0
    assert sweep_quietly(path, tmp_path / "whole") == 0
    whole = pd.read_parquet(tmp_path / "whole" / "tiny" / "runs.parquet").drop(columns=TIMING)
    pd.testing.assert_frame_equal(
        whole, pd.read_parquet(folder / "runs.parquet").drop(columns=TIMING)
    )
