"""Speed of the array engine as ratios to Mesa's Boltzmann wealth example, measured in one run.

Every figure is a ratio of costs measured side by side in this process, so
the host's load (which moves both by up to 2x within a day here) cancels:

1. ``sweep``: a whole ``race sweep`` of ``--runs`` baseline runs (10 years
   monthly, 8 labs), serial backend, no figures, into a temporary results
   root, per lab-step (runs x labs x steps), against Boltzmann per
   agent-step. Target (issue 11): at most 0.3x.
2. ``processes``: the same sweep on 2 worker processes; the serial wall time
   over this one. Target: at least 1.8x.
3. ``single``: one baseline run, a batch of one with full recording (tables
   and summaries, ``sim.experiments.runs.run_scenario``), per agent-step (labs and
   suppliers x steps) against Boltzmann per agent-step. Target: at most 4x.
4. ``wide``: one run of a 512-lab economy (the baseline's labs repeated, its
   supply scaled by 64), per lab-step against Boltzmann. Target: at most 0.5x.

Boltzmann is ``mesa.examples``' ``BoltzmannWealth`` (100 agents, with its
DataCollector) run for the baseline's 120 steps before and after each
measurement; its median is the reference. Peak memory is
``benchmarks/bench_memory.py``.

Run: ``python benchmarks/bench_engine.py [--runs 5000] [--only sweep single wide processes]``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import mesa
import yaml
from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannWealth

from sim.cli.main import main as race
from sim.config.scenario import load_scenario, parse_scenario
from sim.experiments.runs import run_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "experiments" / "baseline.yaml"
BOLTZMANN_AGENTS = 100


def boltzmann_us(steps: int = 120) -> float:
    """Microseconds per agent-step of Mesa's Boltzmann wealth model."""
    start = time.perf_counter()
    model = BoltzmannWealth(n=BOLTZMANN_AGENTS, seed=1)
    for _ in range(steps):
        model.step()
    elapsed = time.perf_counter() - start
    mesa.Agent._ids.pop(model, None)  # Mesa 3.3's class-level registry keeps models alive
    return elapsed / (BOLTZMANN_AGENTS * steps) * 1e6


def side_by_side(measure: Callable[[], float], repeats: int) -> tuple[float, float]:
    """Median of ``measure()`` and of Boltzmann's us per agent-step, interleaved."""
    ours, theirs = [], [boltzmann_us()]
    for _ in range(repeats):
        ours.append(measure())
        theirs.append(boltzmann_us())
    return statistics.median(ours), statistics.median(theirs)


def _experiment(folder: Path, runs: int) -> Path:
    """A carbon-tax grid on the baseline with enough replications for ``runs`` runs."""
    levels = 10
    data = {
        "name": "bench",
        "base": str(BASELINE),
        "levers": [{"path": "policy.carbon_tax", "low": 0, "high": 200, "levels": levels}],
        "design": "grid",
        "replications": max(1, runs // levels),
        "master_seed": 1,
    }
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def sweep_seconds(runs: int, backend: str, workers: int = 2) -> float:
    """Wall seconds of a whole ``race sweep`` of ``runs`` baseline runs, no figures."""
    with tempfile.TemporaryDirectory() as folder:
        path = _experiment(Path(folder), runs)
        start = time.perf_counter()
        code = race(["sweep", str(path), "--backend", backend, "--workers", str(workers),
                     "--quiet", "--no-figures", "--results", folder])  # fmt: skip
        elapsed = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"race sweep exited {code}")
    return elapsed


def wide_scenario(labs: int = 512):
    """The baseline with its labs repeated to ``labs`` and its supply scaled alike."""
    data = load_scenario(BASELINE).model_dump()
    scale = labs / len(data["labs"])
    data["labs"] = [
        {**copy.deepcopy(data["labs"][i % len(data["labs"])]), "name": f"lab{i}"}
        for i in range(labs)
    ]
    for group, field in (("chip_suppliers", "capacity_per_year"), ("energy_suppliers",
                                                                   "capacity_mw")):
        for supplier in data[group]:
            supplier[field] *= scale
    for supplier in data["energy_suppliers"]:
        supplier["build_rate_mw_per_year"] *= scale
    data["market"]["initial_size"] *= scale
    return parse_scenario(data, "wide")


def _report(name: str, per_step_us: float, boltzmann: float, target: str) -> None:
    print(f"{name:<10} {per_step_us:9.3f} us/step  Boltzmann {boltzmann:6.3f} us/agent-step  "
          f"ratio {per_step_us / boltzmann:6.2f}x  (target {target})")  # fmt: skip


def main() -> None:
    """Measure what ``--only`` names and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--only", nargs="+", default=["single", "wide", "sweep", "processes"],
        choices=["single", "wide", "sweep", "processes"],
    )  # fmt: skip
    args = parser.parse_args()
    baseline = load_scenario(BASELINE)
    labs, steps = len(baseline.labs), baseline.n_steps
    agents = labs + len(baseline.chip_suppliers) + len(baseline.energy_suppliers)
    if "single" in args.only:
        run_scenario(baseline)

        def single() -> float:
            start = time.perf_counter()
            run_scenario(baseline)
            return (time.perf_counter() - start) / (agents * steps) * 1e6

        _report("single", *side_by_side(single, args.repeats * 3), "<= 4x")
    if "wide" in args.only:
        wide = wide_scenario()

        def wide_run() -> float:
            start = time.perf_counter()
            run_scenario(wide)
            return (time.perf_counter() - start) / (len(wide.labs) * wide.n_steps) * 1e6

        _report("wide", *side_by_side(wide_run, args.repeats), "<= 0.5x")
    lab_steps = (args.runs // 10) * 10 * labs * steps
    serial = None
    if "sweep" in args.only or "processes" in args.only:
        seconds, boltzmann = side_by_side(lambda: sweep_seconds(args.runs, "serial"), 1)
        serial = seconds
        print(f"sweep      {args.runs} runs serial in {seconds:.1f} s")
        _report("sweep", seconds / lab_steps * 1e6, boltzmann, "<= 0.3x")
    if "processes" in args.only:
        seconds = sweep_seconds(args.runs, "processes", workers=2)
        print(f"processes  {args.runs} runs on 2 workers in {seconds:.1f} s: "
              f"{serial / seconds:.2f}x serial  (target >= 1.8x)")  # fmt: skip


if __name__ == "__main__":
    main()
