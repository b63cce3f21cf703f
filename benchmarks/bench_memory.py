"""Peak memory of our sweep runner for 1,000 against 10,000 short runs: it should stay flat.

Each sweep runs in a fresh subprocess (``--child N``): ``run_sweep`` on the
serial backend streaming into a ``SweepStore`` in a temporary folder
(flushing a Parquet part every 100 runs), over a tiny scenario (the one-lab
closed-form economy of ``experiments/table2_onelab.yaml``, 1 year monthly: 12
steps) with N replications. Peak memory = ``resource.getrusage(RUSAGE_SELF)
.ru_maxrss`` of that subprocess (the whole process: interpreter, imports,
runs). The child also reports how many models Mesa 3.3.1 still holds in
``mesa.Agent._ids`` (its leak; ``sim.runs.run_scenario`` calls
``sim.model.release``, so it should be 0) and its peak RSS after the first 100 runs.
The store's manifest is not written (``SweepStore.open`` forks ``git``).

Run: ``python benchmarks/bench_memory.py [--runs 1000 10000]``.
Target (issue 11): peak RSS flat, i.e. 10,000 / 1,000 runs close to 1.0x.

Measured 2026-12-01 (2 cores, load ~1): 1,000 runs 13.4 s, peak 218.1 MB;
10,000 runs 130.9 s, peak 224.1 MB: 1.027x (+6.0 MB, about 2 MB of it the
run plan, which is O(runs) by design); 0 models left in Agent._ids.
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
SCENARIO = ROOT / "experiments" / "table2_onelab.yaml"


def child(runs: int) -> None:
    """One sweep of ``runs`` tiny runs; prints JSON on stdout."""
    import mesa

    from sim.config import read_yaml
    from sim.experiment import Experiment
    from sim.store import SweepStore
    from sim.sweep import run_sweep

    base = read_yaml(SCENARIO) | {"years": 1}
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
        "models_held": len(mesa.Agent._ids),
    }))  # fmt: skip


def measure(runs: int) -> dict:
    command = [sys.executable, __file__, "--child", str(runs)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    print(f"serial sweeps of a 1-lab, 12-step scenario; load {os.getloadavg()[0]:.2f} at start")
    print("  peak RSS = ru_maxrss of a fresh subprocess per sweep")
    results = [measure(runs) for runs in args.runs]
    for r in results:
        rate = r["runs"] / r["seconds"]
        print(f"  {r['runs']:>6} runs: {r['seconds']:6.1f} s ({rate:.0f} runs/s), "
              f"peak RSS {r['peak_mb']:.1f} MB (after 100 runs {r['peak_after_100_mb']:.1f} MB), "
              f"{r['stored']} rows stored, {r['models_held']} models in Agent._ids")  # fmt: skip
    first, last = results[0], results[-1]
    growth = last["peak_mb"] - first["peak_mb"]
    print(f"  peak RSS {last['runs']} / {first['runs']} runs: "
          f"{last['peak_mb'] / first['peak_mb']:.3f}x (+{growth:.1f} MB); "
          f"load {os.getloadavg()[0]:.2f} at end")  # fmt: skip


if __name__ == "__main__":
    main()
