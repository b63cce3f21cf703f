"""Speed of one baseline run, side by side with Mesa's Boltzmann wealth example.

Measures in one process, interleaving the two so machine load affects both:

- the median wall time of one baseline run (10 years monthly, full recording:
  building the model, running it and turning its rows into tables);
- microseconds per agent-step of our economy and of Mesa's Boltzmann wealth
  model (with its DataCollector), and their ratio.

Run: ``python benchmarks/bench_run.py [--repeats 15] [--config experiments/baseline.yaml]``.
Targets (issue 3): baseline run <= 25 ms; ratio <= 5x Boltzmann.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import mesa
from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannWealth

from sim.config import load_scenario
from sim.model import RaceModel, release

BOLTZMANN_AGENTS = 100
ROOT = Path(__file__).resolve().parents[1]


def time_baseline(scenario) -> tuple[float, int]:
    """Seconds for one full run with tables, and the agent-steps it took."""
    start = time.perf_counter()
    model = RaceModel(scenario).run()
    model.recorder.tables()
    elapsed = time.perf_counter() - start
    agent_steps = len(model.agents) * scenario.n_steps
    release(model)
    return elapsed, agent_steps


def time_boltzmann(steps: int) -> tuple[float, int]:
    """Seconds for Mesa's Boltzmann wealth model over ``steps`` steps, and its agent-steps."""
    start = time.perf_counter()
    model = BoltzmannWealth(n=BOLTZMANN_AGENTS, seed=1)
    for _ in range(steps):
        model.step()
    elapsed = time.perf_counter() - start
    mesa.Agent._ids.pop(model, None)
    return elapsed, BOLTZMANN_AGENTS * steps


def main() -> None:
    """Run the interleaved measurements and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--config", default=str(ROOT / "experiments" / "baseline.yaml"))
    args = parser.parse_args()
    scenario = load_scenario(args.config)
    time_baseline(scenario)
    time_boltzmann(scenario.n_steps)
    ours, theirs = [], []
    for _ in range(args.repeats):
        ours.append(time_baseline(scenario))
        theirs.append(time_boltzmann(scenario.n_steps))
    run_ms = statistics.median(t for t, _ in ours) * 1e3
    ours_us = statistics.median(t / n for t, n in ours) * 1e6
    theirs_us = statistics.median(t / n for t, n in theirs) * 1e6
    print(
        f"baseline run ({scenario.n_steps} steps, {ours[0][1] // scenario.n_steps} agents): "
        f"median {run_ms:.1f} ms  (target <= 25 ms)"
    )
    print(f"our economy:        {ours_us:.2f} us per agent-step")
    print(f"Mesa Boltzmann:     {theirs_us:.2f} us per agent-step ({BOLTZMANN_AGENTS} agents)")
    print(f"ratio:              {ours_us / theirs_us:.1f}x  (target <= 5x)")


if __name__ == "__main__":
    main()
