"""Sweeps: seeds, backends, resume after kill -9 and Ctrl-C, failure isolation, progress."""

import os
import signal
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli.main import main
from sim.experiments.design import Experiment, plan_runs, replicate_seeds
from sim.experiments.store import SweepStore
from tests.builders import small_economy_dict, sweep_quietly

TIMING = ["duration_s"]


def _experiment(tmp_path: Path, **changes) -> Path:
    data = {
        "name": "tiny",
        "base": {**small_economy_dict(), "years": 0.5},
        "levers": [
            {"path": "policy.carbon_tax", "values": [0.0, 100.0]},
            {"path": "labs.*.spend_rate", "low": 0.2, "high": 0.8, "levels": 2},
        ],
        "replications": 2,
        "master_seed": 42,
        "backend": "serial",
        **changes,
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _runs(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "runs.parquet").drop(columns=TIMING)


def _sweep(path: Path, results: Path, *extra: str) -> int:
    return sweep_quietly(path, results, *extra)


def test_seeds_come_from_seed_sequence_and_are_shared_across_points():
    experiment = Experiment.model_validate(
        {"name": "s", "base": {}, "levers": [{"path": "policy.carbon_tax", "values": [0, 1, 2]}],
         "replications": 3, "master_seed": 7}
    )  # fmt: skip
    runs = plan_runs(experiment)
    assert len(runs) == 9
    children = np.random.SeedSequence(7).spawn(3)
    expected = [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]
    assert replicate_seeds(7, 3) == expected
    for run in runs:
        assert run.seed == expected[run.replicate]
    assert len({run.run_id for run in runs}) == 9


def test_serial_and_two_processes_give_identical_tables(tmp_path):
    path = _experiment(tmp_path, record_steps=True)
    assert _sweep(path, tmp_path / "r", "--out", "serial") == 0
    assert _sweep(path, tmp_path / "r", "--out", "procs", "--backend", "processes",
                  "--workers", "2") == 0  # fmt: skip
    serial, procs = _runs(tmp_path / "r" / "serial"), _runs(tmp_path / "r" / "procs")
    assert len(serial) == 8 and (serial["status"] == "ok").all()
    pd.testing.assert_frame_equal(serial, procs)
    for table in ("labs", "economy"):
        a = SweepStore(tmp_path / "r" / "serial").read_steps(table)
        b = SweepStore(tmp_path / "r" / "procs").read_steps(table)
        assert len(a) > 0
        pd.testing.assert_frame_equal(a, b)


def test_seed_is_recorded_and_common_across_points(tmp_path):
    assert _sweep(_experiment(tmp_path), tmp_path / "r") == 0
    runs = _runs(tmp_path / "r" / "tiny")
    assert runs.groupby("replicate")["seed"].nunique().eq(1).all()
    assert runs["seed"].nunique() == 2
    manifest = SweepStore(tmp_path / "r" / "tiny").read_manifest()
    assert manifest["master_seed"] == 42
    assert manifest["counts"] == {"planned": 8, "skipped": 0, "ok": 8, "failed": 0}
    assert len(manifest["config_hash"]) == 64
    assert manifest["versions"]["mesa"] == metadata.version("mesa")
    assert manifest["status"] == "finished"


def test_local_dask_cluster_gives_identical_tables(tmp_path):
    path = _experiment(tmp_path)
    assert _sweep(path, tmp_path / "r", "--out", "serial") == 0
    assert _sweep(path, tmp_path / "r", "--out", "dask", "--dask-workers", "2") == 0
    pd.testing.assert_frame_equal(_runs(tmp_path / "r" / "serial"), _runs(tmp_path / "r" / "dask"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


def test_sweep_through_a_real_dask_scheduler_and_two_workers(tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    scheduler = subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    workers = []
    try:
        _wait_for_port(port, 60)
        workers = [
            subprocess.Popen(
                [
                    *dask,
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            for _ in range(2)
        ]
        path = _experiment(tmp_path)
        assert _sweep(path, tmp_path / "r", "--out", "cluster", "--scheduler", address) == 0
        assert _sweep(path, tmp_path / "r", "--out", "serial") == 0
        pd.testing.assert_frame_equal(
            _runs(tmp_path / "r" / "serial"), _runs(tmp_path / "r" / "cluster")
        )
    finally:
        for process in [*workers, scheduler]:
            process.terminate()
        for process in [*workers, scheduler]:
            process.wait(timeout=30)


def test_an_unreachable_scheduler_is_a_clear_error_within_seconds(tmp_path):
    address = f"tcp://127.0.0.1:{_free_port()}"  # closed: nothing listens there
    argv = [sys.executable, "-m", "sim.cli", "sweep", str(_experiment(tmp_path)),
            "--results", str(tmp_path / "r"), "--quiet", "--scheduler", address]  # fmt: skip
    start = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert time.monotonic() - start < 20
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"--scheduler {address}" in result.stderr and "no Dask scheduler" in result.stderr
    assert SweepStore(tmp_path / "r" / "tiny").read_manifest()["status"] == "scheduler unreachable"


def test_a_port_where_no_dask_scheduler_listens_is_a_clear_error(tmp_path):
    """The issue's case: --scheduler at a port where something else listens hung forever."""
    with socket.socket() as listener:  # accepts connections (the kernel does), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        argv = [sys.executable, "-m", "sim.cli", "sweep", str(_experiment(tmp_path)),
                "--results", str(tmp_path / "r"), "--quiet", "--scheduler", address]  # fmt: skip
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"--scheduler {address}: no Dask scheduler answered there" in result.stderr


@pytest.mark.parametrize("address", ["127.0.0.1:8786", "tcp://host", "http://h:1", "tcp://a b:1"])
def test_a_malformed_scheduler_address_is_rejected_before_anything_is_written(
    tmp_path, capsys, address
):
    assert _sweep(_experiment(tmp_path), tmp_path / "r", "--scheduler", address) == 2
    err = capsys.readouterr().err
    assert "--scheduler must look like tcp://HOST:PORT" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def _start_sweep(path: Path, results: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "sim.cli", "sweep", str(path), "--results", str(results),
            "--quiet", "--no-figures", "--flush-every", "2"]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_parts(folder: Path, count: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(list((folder / "runs").glob("part-*.parquet"))) >= count:
            return
        time.sleep(0.05)
    raise TimeoutError("the sweep wrote no parts in time")


SIGNALS = {"kill -9": signal.SIGKILL, "ctrl-c": signal.SIGINT, "sigterm": signal.SIGTERM}


@pytest.mark.parametrize("how", list(SIGNALS))
def test_interrupted_sweep_resumes_to_the_uninterrupted_dataset(tmp_path, how):
    """Parts are written two runs at a time after the batch, so 400 runs give the signal
    some 200 writes to land among (48 runs once finished before it arrived)."""
    path = _experiment(tmp_path, replications=100, base={**small_economy_dict(), "years": 0.5})
    total = 400
    assert _sweep(path, tmp_path / "whole") == 0
    process = _start_sweep(path, tmp_path / "broken")
    folder = tmp_path / "broken" / "tiny"
    _wait_for_parts(folder, 1, 120)
    os.kill(process.pid, SIGNALS[how])
    _, stderr = process.communicate(timeout=60)
    stored = len(SweepStore(folder).completed_ids())
    assert 0 < stored < total, f"interrupt the sweep in the middle ({stderr[-500:]})"
    if how != "kill -9":
        assert process.returncode == 128 + SIGNALS[how]
        assert "Traceback" not in stderr and "resume" in stderr
        assert SweepStore(folder).read_manifest()["status"] == "interrupted"
    result = subprocess.run(
        [sys.executable, "-m", "sim.cli", "sweep", str(path), "--results", str(tmp_path / "broken"),
         "--quiet", "--no-figures"], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"{stored} already stored, {total - stored} run" in result.stdout
    pd.testing.assert_frame_equal(_runs(tmp_path / "whole" / "tiny"), _runs(folder))
    assert not list(folder.rglob("*.tmp"))


def test_resume_removes_temporaries_left_by_a_write_killed_midway(tmp_path):
    path = _experiment(tmp_path)
    assert _sweep(path, tmp_path / "r") == 0
    folder = tmp_path / "r" / "tiny"
    complete = _runs(folder)
    stale = folder / "runs" / ".part-000002.parquet.k1ll3d.tmp"
    stale.write_bytes(b"PAR1 half a part")
    assert _sweep(path, tmp_path / "r") == 0
    assert not stale.exists()
    pd.testing.assert_frame_equal(complete, _runs(folder))


def test_a_failing_run_is_recorded_and_the_others_continue(tmp_path, monkeypatch, capsys):
    """A run that raises inside a batch fails alone: its batch-mates are rerun and succeed."""
    import sim.experiments.sweep

    real = sim.experiments.sweep.run_batch

    def flaky(scenarios, seeds):
        for scenario in scenarios:
            if scenario.policy.carbon_tax == 100.0 and scenario.labs[0].spend_rate == 0.2:
                raise RuntimeError("simulated model failure")
        return real(scenarios, seeds)

    monkeypatch.setattr(sim.experiments.sweep, "run_batch", flaky)
    assert _sweep(_experiment(tmp_path), tmp_path / "r") == 1
    runs = _runs(tmp_path / "r" / "tiny")
    failed = runs[runs["status"] == "failed"]
    assert len(failed) == 2 and (runs["status"] == "ok").sum() == 6
    assert failed["error"].str.contains("RuntimeError: simulated model failure").all()
    assert failed["mean_final_loss"].isna().all()
    out = capsys.readouterr().out
    assert "6 ok, 2 failed" in out and "simulated model failure" in out
    monkeypatch.setattr(sim.experiments.sweep, "run_batch", real)
    assert _sweep(_experiment(tmp_path), tmp_path / "r") == 0
    assert (_runs(tmp_path / "r" / "tiny")["status"] == "ok").all()


def test_progress_bar_shows_rate_and_eta_unless_quiet(tmp_path):
    path = _experiment(tmp_path)
    argv = [sys.executable, "-m", "sim.cli", "sweep", str(path), "--results", str(tmp_path)]
    shown = subprocess.run(argv, capture_output=True, text=True, check=True)
    assert "run/s" in shown.stderr and "8/8" in shown.stderr
    quiet = subprocess.run(
        [*argv, "--out", "q", "--quiet"], capture_output=True, text=True, check=True
    )
    assert "run/s" not in quiet.stderr


def test_sweep_writes_the_figures_that_apply_unless_told_not_to(tmp_path, capsys):
    path = _experiment(tmp_path, record_steps=True)
    assert main(["sweep", str(path), "--results", str(tmp_path), "--quiet"]) == 0
    drawn = {p.name for p in (tmp_path / "tiny").iterdir() if p.suffix in (".png", ".svg")}
    for name in ("heatmap_mean_final_loss", "fan_loss", "fan_emissions"):
        assert {f"{name}.png", f"{name}.svg"} <= drawn, sorted(drawn)
    assert "figures (PNG and SVG): " in capsys.readouterr().out
    assert _sweep(path, tmp_path, "--out", "bare") == 0
    assert not [p for p in (tmp_path / "bare").iterdir() if p.suffix in (".png", ".svg")]


def test_other_outputs_to_analyse_reuse_the_stored_runs(tmp_path, capsys):
    assert _sweep(_experiment(tmp_path), tmp_path / "r") == 0
    capsys.readouterr()
    assert _sweep(_experiment(tmp_path, outputs=["hhi_compute"]), tmp_path / "r") == 0
    assert "8 already stored, 0 run" in capsys.readouterr().out
    manifest = SweepStore(tmp_path / "r" / "tiny").read_manifest()
    assert manifest["config"]["outputs"] == ["hhi_compute"]


def test_a_results_folder_of_another_experiment_is_not_mixed_in(tmp_path):
    assert _sweep(_experiment(tmp_path), tmp_path / "r") == 0
    changed = _experiment(tmp_path, master_seed=43)
    assert _sweep(changed, tmp_path / "r") == 2


def test_schema_prints_json_schema(capsys):
    import json

    assert main(["schema", "experiment"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "levers" in schema["properties"]
    assert main(["schema", "scenario"]) == 0
    assert "labs" in json.loads(capsys.readouterr().out)["properties"]
