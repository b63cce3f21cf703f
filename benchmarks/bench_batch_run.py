"""Our sweep runner against ``mesa.batch_run`` on the same model, grid and seeds.

Both run the calibrated baseline (10 years monthly) over a carbon-tax grid x
replicate seeds: ours through ``sim.experiments.sweep.run_sweep`` into a ``SweepStore`` in
a temporary folder, Mesa's through ``mesa.batch_run`` on ``BatchRaceModel``, a
thin adapter that builds the same scenario from keyword arguments. Making the
runs the same:

- seeds: ``batch_run`` never varies the seed across ``iterations``, so the
  replicate seeds (``sim.experiments.design.replicate_seeds``, the ones our sweep
  uses) are passed as a ``seed`` parameter of the grid, with ``iterations=1``;
- steps: ``batch_run`` runs while ``model.steps <= max_steps``, i.e.
  ``max_steps + 1`` steps, so it gets ``max_steps = n_steps - 1``;
- data: both produce the same 14 summary outputs per run
  (``sim.experiments.design.SUMMARY_OUTPUTS``) with the same code
  (``sim.experiments.runs.summarize``: the run's tables, lab and run summaries). Ours
  does it in ``sim.experiments.sweep.execute_run``; the adapter's ``DataCollector`` reports
  them after every step, NaN until the last step, where it computes them once
  (from which ``batch_run`` keeps the last row, one row per run). All outputs
  of every run are checked to agree between the two runners.
  ``batch_run`` reads ``model_vars[model.steps - 1]``: with the usual extra
  ``collect()`` in ``__init__`` (Mesa's examples) that is the state one step
  before the end, so the adapter collects after steps only.

Each configuration runs in a fresh subprocess (``--child``) so peak memory is
its own: peak RSS = ``resource.getrusage`` ``ru_maxrss`` of the parent process
(RUSAGE_SELF) and of its largest worker (RUSAGE_CHILDREN; 0 when serial). The
store's manifest is not written (``SweepStore.open`` forks ``git``, which would
count as a child as big as the parent at that moment).
Configurations run one after the other, ours first at each process count.

The report ends with milliseconds per run measured in this process,
interleaving ``sim.experiments.sweep.execute_run`` (ours, one run), ``BatchRaceModel``
stepped as ``batch_run`` steps it, and the bare ``RaceModel.run()`` (medians
of ``--interleaved`` runs each): the first two do the same work.

Run: ``python benchmarks/bench_batch_run.py [--levels 20] [--replications 5]``.
Target (issue 11): ours at least as fast as batch_run, with lower peak memory.

Measured 2026-12-01 on the 2 cores (load 0.6-0.8), 100 runs: 1 process, ours
4.0 s / 201 MB, batch_run 4.3 s / 288 MB (it keeps every model: Agent._ids);
2 processes, ours 2.1 s / parent 180 MB / worker 138 MB, batch_run 3.4 s /
parent 157 MB / worker 228 MB (ours: 456 MB in all, batch_run 613 MB).
In-process ms per run: ours 36.9, batch_run model 38.4, bare model 25.7.
Wall times swing with other load; the memory figures do not.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import mesa
import numpy as np
from mesa import DataCollector

from sim.config.scenario import parse_scenario, read_yaml
from sim.economy.model import RaceModel
from sim.experiments.design import SUMMARY_OUTPUTS, Experiment, replicate_seeds
from sim.experiments.runs import summarize

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "experiments" / "baseline.yaml"
MASTER_SEED = 1
_BASE = read_yaml(BASELINE)


def _final_output(model: BatchRaceModel, name: str) -> float:
    """A summary output once the run is over, NaN before (cheap on every other step)."""
    return math.nan if model.summary is None else float(model.summary[name])


class BatchRaceModel(RaceModel):
    """RaceModel from keyword parameters, with a DataCollector, as ``batch_run`` needs.

    It reports the same summary outputs as our runner, computed by the same
    code (``sim.experiments.runs.summarize``) once, after the last step, so both runners
    do the same work per run and only the runners differ.
    """

    def __init__(self, carbon_tax: float = 0.0, seed: int | None = None):
        data = copy.deepcopy(_BASE)
        data.setdefault("policy", {})["carbon_tax"] = carbon_tax
        super().__init__(parse_scenario(data, "batch"), seed=seed)
        self.summary: dict | None = None
        self.datacollector = DataCollector(
            model_reporters={name: partial(_final_output, name=name) for name in SUMMARY_OUTPUTS}
        )
        # No collect() here: batch_run reports the row at index model.steps - 1, which
        # with an initial collect would be the state one step before the end.

    def step(self) -> None:
        super().step()
        if self.steps >= self.scenario.n_steps:
            self.summary = summarize(self).summary
        self.datacollector.collect(self)


def grid(levels: int) -> list[float]:
    return np.linspace(0.0, 200.0, levels).tolist()


def run_ours(levels: int, replications: int, processes: int) -> dict[str, list[float]]:
    from sim.experiments.store import SweepStore
    from sim.experiments.sweep import run_sweep

    experiment = Experiment.model_validate(
        {
            "name": "bench_batch",
            "base": _BASE,
            "levers": [{"path": "policy.carbon_tax", "values": grid(levels)}],
            "replications": replications,
            "master_seed": MASTER_SEED,
        }
    )
    backend = "serial" if processes == 1 else "processes"
    with tempfile.TemporaryDirectory() as tmp:
        # No store.open(): its manifest runs `git rev-parse`, a child process whose
        # ru_maxrss (Linux counts the pages it forked from us) would pollute RUSAGE_CHILDREN.
        store = SweepStore(Path(tmp) / "bench")
        run_sweep(experiment, _BASE, store, backend=backend, workers=processes, progress=False)
        runs = store.read_runs()
    return {
        f"{row['policy.carbon_tax']}/{row['seed']}": [row[name] for name in SUMMARY_OUTPUTS]
        for _, row in runs.iterrows()
    }


def run_batch(levels: int, replications: int, processes: int) -> dict[str, list[float]]:
    n_steps = parse_scenario(copy.deepcopy(_BASE)).n_steps
    rows = mesa.batch_run(
        BatchRaceModel,
        {"carbon_tax": grid(levels), "seed": replicate_seeds(MASTER_SEED, replications)},
        number_processes=processes,
        iterations=1,
        data_collection_period=-1,
        max_steps=n_steps - 1,  # batch_run runs max_steps + 1 steps
        display_progress=False,
    )
    assert all(row["Step"] == n_steps - 1 for row in rows), "batch_run ran another horizon"
    return {
        f"{row['carbon_tax']}/{row['seed']}": [row[name] for name in SUMMARY_OUTPUTS]
        for row in rows
    }


def child(runner: str, levels: int, replications: int, processes: int) -> None:
    """One measurement; prints JSON on stdout."""
    start = time.perf_counter()
    outputs = (run_ours if runner == "ours" else run_batch)(levels, replications, processes)
    seconds = time.perf_counter() - start
    to_mb = 1 / 1024  # ru_maxrss is in KiB on Linux
    print(
        json.dumps(
            {
                "seconds": seconds,
                "self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * to_mb,
                "child_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * to_mb,
                "outputs": outputs,
            }
        )
    )


def release(model) -> None:
    """Free a finished model: Mesa 3.3's class-level ``Agent._ids`` keeps every model alive."""
    getattr(mesa.Agent, "_ids", {}).pop(model, None)


def interleaved(count: int) -> dict[str, float]:
    """Median ms per run of ours, the batch_run model and the bare model, alternating."""
    from sim.experiments.design import plan_runs
    from sim.experiments.sweep import execute_run

    experiment = Experiment.model_validate(
        {"name": "bench_batch", "base": _BASE, "replications": count, "master_seed": MASTER_SEED}
    )
    n_steps = parse_scenario(copy.deepcopy(_BASE)).n_steps
    times: dict[str, list[float]] = {"ours": [], "batch_run model": [], "bare model": []}
    for run in plan_runs(experiment):
        start = time.perf_counter()
        execute_run(run, _BASE, "bench", record_steps=False)
        times["ours"].append(time.perf_counter() - start)
        start = time.perf_counter()
        model = BatchRaceModel(seed=run.seed)
        while model.running and model.steps <= n_steps - 1:
            model.step()
        times["batch_run model"].append(time.perf_counter() - start)
        release(model)
        start = time.perf_counter()
        model = RaceModel(parse_scenario(copy.deepcopy(_BASE)), seed=run.seed).run()
        times["bare model"].append(time.perf_counter() - start)
        release(model)
    return {name: 1000 * float(np.median(values)) for name, values in times.items()}


def measure(runner: str, levels: int, replications: int, processes: int) -> dict:
    command = [sys.executable, __file__, "--child", runner, "--levels", str(levels),
               "--replications", str(replications), "--processes", str(processes)]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=20, help="carbon-tax grid points")
    parser.add_argument("--replications", type=int, default=5, help="seeds per grid point")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--interleaved", type=int, default=20, help="runs per in-process timing")
    parser.add_argument("--child", choices=["ours", "batch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.levels, args.replications, args.processes[0])
        return

    runs = args.levels * args.replications
    print(f"{runs} baseline runs (10 years monthly; carbon tax x seeds), "
          f"load {os.getloadavg()[0]:.2f} at start")  # fmt: skip
    print("  peak RSS = ru_maxrss of the parent (RUSAGE_SELF) / of its largest worker")
    for processes in args.processes:
        ours = measure("ours", args.levels, args.replications, processes)
        batch = measure("batch", args.levels, args.replications, processes)
        same = ours["outputs"].keys() == batch["outputs"].keys() and all(
            np.allclose(ours["outputs"][k], batch["outputs"][k], rtol=1e-12, equal_nan=True)
            for k in ours["outputs"]
        )
        for label, result in (("ours", ours), ("batch_run", batch)):
            print(f"  {processes} process(es) {label:<9} {result['seconds']:6.1f} s  "
                  f"{runs / result['seconds']:5.1f} runs/s  peak RSS {result['self_mb']:6.0f} MB "
                  f"parent / {result['child_mb']:5.0f} MB worker")  # fmt: skip
        ratio = batch["seconds"] / ours["seconds"]
        print(f"  {processes} process(es): batch_run / ours time {ratio:.2f}x, "
              f"parent peak {batch['self_mb'] / ours['self_mb']:.2f}x; "
              f"same {len(SUMMARY_OUTPUTS)} outputs: {same}")  # fmt: skip
    per_run = interleaved(args.interleaved)
    print("  in-process ms per run (median, interleaved): "
          + ", ".join(f"{name} {ms:.1f}" for name, ms in per_run.items()))  # fmt: skip
    print(f"  load {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
