"""Sweep throughput: the serial backend against 2 worker processes on the same run list.

Runs one experiment (the calibrated baseline, 10 years monthly, ~80 ms a run,
over a carbon-tax grid with replications) through ``sim.sweep.run_sweep`` into
a ``SweepStore`` in a temporary folder, alternating serial and processes
(``--repeats`` times each, so machine load affects both alike). The wall time
covers the whole sweep: process-pool start-up, every run and the
Parquet writes. Reports runs/s of each and the ratio (median over repeats),
and checks the two backends stored identical results. The mean time of one
run inside its process (``duration_s``) shows contention: on an idle 2-core
machine it is the same for both backends. CPU seconds per run (user + system
of this process and its reaped workers) show the work each backend adds (it
also varies with load: caches and frequency). Workers are forked while the
sweep runs a single thread (``sim.sweep._worker_context``), so they start with
everything imported; a spawned worker (``RACE_START_METHOD=spawn``) first
imports sim, pandas, pydantic and Mesa (about 1.3 CPU s).

Run: ``python benchmarks/bench_sweep.py [--runs 400] [--workers 2] [--repeats 2]``.
Target (issue 11): processes / serial >= 1.7x on 2 cores.

Measured 2026-12-01 on the 2 cores, load 1.1: 400 runs, serial 16.9 s
(23.7 runs/s), processes x2 8.7 s (46.1 runs/s): 1.94x; 42-43 CPU ms per run
on both. The same day with spawned workers and fixed batches of 16: 1.53x
(load 1.2) and 1.67x (load 1.3).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from sim.config import read_yaml
from sim.experiment import Experiment, config_hash
from sim.store import SweepStore
from sim.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[1]
REPLICATIONS = 10


def make_experiment(runs: int) -> tuple[Experiment, dict]:
    """The baseline over a carbon-tax grid: ``runs`` runs in all (rounded to replications)."""
    base = read_yaml(ROOT / "experiments" / "baseline.yaml")
    levels = max(2, runs // REPLICATIONS)
    experiment = Experiment.model_validate(
        {
            "name": "bench_sweep",
            "base": base,
            "levers": [{"path": "policy.carbon_tax", "low": 0, "high": 200, "levels": levels}],
            "replications": REPLICATIONS,
            "master_seed": 1,
        }
    )
    return experiment, base


def time_sweep(experiment: Experiment, base: dict, backend: str, workers: int):
    """Wall seconds of one sweep into a fresh store, and its runs table."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SweepStore(Path(tmp) / experiment.name)
        store.open({}, config_hash(experiment), experiment.master_seed, planned=0)
        cpu_start, start = cpu_seconds(), time.perf_counter()
        report = run_sweep(
            experiment, base, store, backend=backend, workers=workers, progress=False
        )
        elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
        assert report.failed == 0, report.lines()
        runs = store.read_runs().sort_values("run_id").reset_index(drop=True)
    return elapsed, cpu, runs


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its finished (reaped) children."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    experiment, base = make_experiment(args.runs)
    n_runs = len(experiment.levers[0].grid_values()) * experiment.replications
    seconds: dict[str, list[float]] = {"serial": [], "processes": []}
    run_ms: dict[str, list[float]] = {"serial": [], "processes": []}
    cpu: dict[str, list[float]] = {"serial": [], "processes": []}
    tables: dict[str, pd.DataFrame] = {}
    for _ in range(args.repeats):
        for backend in seconds:
            elapsed, used, tables[backend] = time_sweep(experiment, base, backend, args.workers)
            seconds[backend].append(elapsed)
            cpu[backend].append(used)
            run_ms[backend].append(1000 * tables[backend]["duration_s"].mean())
    pd.testing.assert_frame_equal(
        tables["serial"].drop(columns="duration_s"), tables["processes"].drop(columns="duration_s")
    )

    serial, parallel = (statistics.median(seconds[b]) for b in ("serial", "processes"))
    print(f"sweep of {n_runs} baseline runs (10 years monthly), {args.repeats} repeats, "
          f"cpu_count {os.cpu_count()}, load {os.getloadavg()[0]:.2f}")  # fmt: skip
    for backend, median in (("serial", serial), ("processes", parallel)):
        label = backend if backend == "serial" else f"processes x{args.workers}"
        times = ", ".join(f"{s:.1f}" for s in seconds[backend])
        per_run = statistics.median(run_ms[backend])
        used = statistics.median(cpu[backend])
        print(f"  {label:<13} {median:6.1f} s  {n_runs / median:5.1f} runs/s  "
              f"(each: {times} s; one run {per_run:.0f} ms inside its process; "
              f"{1000 * used / n_runs:.0f} CPU ms per run)")  # fmt: skip
    print(f"  speed-up {serial / parallel:.2f}x (target >= 1.7x); results identical; "
          f"load {os.getloadavg()[0]:.2f} at end")  # fmt: skip


if __name__ == "__main__":
    main()
