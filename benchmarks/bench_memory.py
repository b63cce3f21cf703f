"""Peak memory of a sweep of 1,000 against 10,000 baseline runs: it should stay flat.

Each sweep runs in a fresh subprocess (``--child N``): ``run_sweep`` on the
serial backend, no step recording, streaming into a ``SweepStore`` in a
temporary folder (a Parquet part every 100 runs), over ``--config`` (default
the calibrated baseline, 10 years monthly) with N replications. Runs are
stepped in batches whose trace stays within ``sim.experiments.sweep.TRACE_BUDGET_BYTES``.
Peak memory = ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of that
subprocess (the whole process: interpreter, imports, runs); the child also
reports its peak after the first 100 runs.

Run: ``python benchmarks/bench_memory.py [--runs 1000 10000] [--config FILE]``.
Target (issue 11): 10,000 / 1,000 runs within 10%, and under 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "experiments" / "baseline.yaml"


def child(runs: int, config: Path) -> None:
    """One sweep of ``runs`` runs of ``config``; prints JSON on stdout."""
    from sim.config.scenario import read_yaml
    from sim.experiments.design import Experiment
    from sim.experiments.store import SweepStore
    from sim.experiments.sweep import run_sweep

    base = read_yaml(config)
    experiment = Experiment.model_validate(
        {"name": "bench_memory", "base": base, "replications": runs, "master_seed": 3}
    )
    rss_after_100 = []

    def on_outcome(outcome) -> None:
        if outcome[0]["run_id"].endswith("r0099"):
            rss_after_100.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    with tempfile.TemporaryDirectory() as tmp:
        store = SweepStore(Path(tmp) / "bench", flush_every=100)
        start = time.perf_counter()
        report = run_sweep(
            experiment, base, store, backend="serial", progress=False, on_outcome=on_outcome
        )
        seconds = time.perf_counter() - start
        stored = len(store.read_runs(columns=["run_id"]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "runs": runs, "ok": report.ok, "stored": stored, "seconds": seconds, "peak_mb": peak,
        "peak_after_100_mb": rss_after_100[0] if rss_after_100 else None,
    }))  # fmt: skip


def measure(runs: int, config: Path) -> dict:
    command = [sys.executable, __file__, "--child", str(runs), "--config", str(config)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--config", type=Path, default=SCENARIO)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.config)
        return

    print(f"serial sweeps of {args.config.name}; load {os.getloadavg()[0]:.2f} at start")
    print("  peak RSS = ru_maxrss of a fresh subprocess per sweep")
    results = [measure(runs, args.config) for runs in args.runs]
    for r in results:
        rate = r["runs"] / r["seconds"]
        print(f"  {r['runs']:>6} runs: {r['seconds']:6.1f} s ({rate:.0f} runs/s), "
              f"peak RSS {r['peak_mb']:.1f} MB (after 100 runs {r['peak_after_100_mb']:.1f} MB), "
              f"{r['stored']} rows stored")  # fmt: skip
    first, last = results[0], results[-1]
    growth = last["peak_mb"] - first["peak_mb"]
    print(f"  peak RSS {last['runs']} / {first['runs']} runs: "
          f"{last['peak_mb'] / first['peak_mb']:.3f}x (+{growth:.1f} MB); "
          f"load {os.getloadavg()[0]:.2f} at end")  # fmt: skip


if __name__ == "__main__":
    main()
