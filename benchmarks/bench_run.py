"""Speed of one baseline run, side by side with Mesa's Boltzmann wealth example.

Measures in one process, interleaving the two so machine load affects both:

- the median wall time of one baseline run (10 years monthly, full recording:
  building the model, running it and turning its rows into tables);
- microseconds per agent-step of our economy and of Mesa's Boltzmann wealth
  model (with its DataCollector), and their ratio;
- the fastest run, and the median run scaled to Boltzmann's reference speed
  on these machines (2.2 us per agent-step, ``REFERENCE_BOLTZMANN_US``): the
  host's load moves both models' times together, by up to 2x within a day
  here, so the scaled figure is the steadier one.

With ``--profile``, also prints where one run's time goes: building the
model, each phase of ``RaceModel.step`` (timed by wrapping the model
instance's phase methods, so the model code is untouched), the rest of the
step (Mesa's step wrapper, per-step bookkeeping) and building the tables.
The wrappers add about a microsecond per call, so the phases sum to a little
more than a plain run.

With ``--cpu``, the interleaved measurement is repeated with the CPU time of
this thread (``time.thread_time``) instead of wall time: on a shared, loaded
machine it is far steadier, and it is what the two models actually cost.

Run: ``python benchmarks/bench_run.py [--repeats 15] [--config experiments/baseline.yaml]
[--profile] [--cpu]``.
Targets (issue 3): baseline run <= 25 ms; ratio <= 5x Boltzmann.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import mesa
from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannWealth

from sim.config import load_scenario
from sim.model import RaceModel, release

BOLTZMANN_AGENTS = 100
REFERENCE_BOLTZMANN_US = 2.2
"""Boltzmann's cost per agent-step on these 2-core machines, low end (benchmarks/README.md)."""
PHASES = {
    "infrastructure": "_infrastructure",
    "accounts and funding": "_open_accounts",
    "decide": "_decide",
    "chip market": "_chip_market",
    "energy market": "_energy_market",
    "train": "_train",
    "revenue": "_revenue",
}
ROOT = Path(__file__).resolve().parents[1]


def time_baseline(scenario, clock: Callable[[], float] = time.perf_counter) -> tuple[float, int]:
    """Seconds for one full run with tables, and the agent-steps it took."""
    start = clock()
    model = RaceModel(scenario).run()
    model.recorder.tables()
    elapsed = clock() - start
    agent_steps = len(model.agents) * scenario.n_steps
    release(model)
    return elapsed, agent_steps


def time_boltzmann(steps: int, clock: Callable[[], float] = time.perf_counter) -> tuple[float, int]:
    """Seconds for Mesa's Boltzmann wealth model over ``steps`` steps, and its agent-steps."""
    start = clock()
    model = BoltzmannWealth(n=BOLTZMANN_AGENTS, seed=1)
    for _ in range(steps):
        model.step()
    elapsed = clock() - start
    mesa.Agent._ids.pop(model, None)
    return elapsed, BOLTZMANN_AGENTS * steps


def _timed(function: Callable, totals: dict[str, float], phase: str) -> Callable:
    """``function`` adding its wall time to ``totals[phase]`` on every call."""

    def timed(*args, **kwargs):
        start = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            totals[phase] += time.thread_time() - start

    return timed


def profile_phases(scenario, repeats: int) -> dict[str, float]:
    """Median CPU milliseconds per run spent in each phase of a baseline run.

    CPU time of this thread (``time.thread_time``), so other processes on a
    shared machine inflate it much less than wall time.
    """
    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        totals: dict[str, float] = defaultdict(float)
        start = time.thread_time()
        model = RaceModel(scenario)
        totals["build model"] = time.thread_time() - start
        for phase, method in PHASES.items():
            setattr(model, method, _timed(getattr(model, method), totals, phase))
        recorder = model.recorder
        recorder.record_step = _timed(recorder.record_step, totals, "record")
        start = time.thread_time()
        model.run()
        steps = time.thread_time() - start
        start = time.thread_time()
        model.recorder.tables()
        totals["tables"] = time.thread_time() - start
        inside = sum(v for k, v in totals.items() if k not in ("build model", "tables"))
        totals["step overhead"] = steps - inside
        for phase, seconds in totals.items():
            samples[phase].append(seconds)
        release(model)
    return {phase: statistics.median(values) * 1e3 for phase, values in samples.items()}


def print_profile(scenario, repeats: int) -> None:
    """Print the phase breakdown of a baseline run."""
    phases = profile_phases(scenario, repeats)
    total = sum(phases.values())
    print(f"phase breakdown (median of {repeats} runs, CPU ms per run; wrappers add overhead):")
    for phase, ms in sorted(phases.items(), key=lambda item: -item[1]):
        print(f"  {phase:<20} {ms:7.2f}  {100 * ms / total:5.1f}%")
    print(f"  {'sum':<20} {total:7.2f}")


def main() -> None:
    """Run the interleaved measurements and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--config", default=str(ROOT / "experiments" / "baseline.yaml"))
    parser.add_argument("--profile", action="store_true", help="print the phase breakdown")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="also report CPU time of this thread (less sensitive to other load than wall time)",
    )
    args = parser.parse_args()
    scenario = load_scenario(args.config)
    if args.profile:
        print_profile(scenario, args.repeats)
    report(scenario, args.repeats, time.perf_counter, "wall")
    if args.cpu:
        report(scenario, args.repeats, time.thread_time, "CPU")


def report(scenario, repeats: int, clock: Callable[[], float], label: str) -> None:
    """Interleave ``repeats`` baseline and Boltzmann runs timed by ``clock``; print medians."""
    time_baseline(scenario, clock)
    time_boltzmann(scenario.n_steps, clock)
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(time_baseline(scenario, clock))
        theirs.append(time_boltzmann(scenario.n_steps, clock))
    run_ms = statistics.median(t for t, _ in ours) * 1e3
    ours_us = statistics.median(t / n for t, n in ours) * 1e6
    theirs_us = statistics.median(t / n for t, n in theirs) * 1e6
    print(
        f"[{label}] baseline run ({scenario.n_steps} steps, "
        f"{ours[0][1] // scenario.n_steps} agents): median {run_ms:.1f} ms  (target <= 25 ms)"
    )
    print(f"[{label}] our economy:        {ours_us:.2f} us per agent-step")
    print(
        f"[{label}] Mesa Boltzmann:     {theirs_us:.2f} us per agent-step "
        f"({BOLTZMANN_AGENTS} agents)"
    )
    print(f"[{label}] ratio:              {ours_us / theirs_us:.1f}x  (target <= 5x)")
    fastest_ms = min(t for t, _ in ours) * 1e3
    scaled_ms = run_ms * REFERENCE_BOLTZMANN_US / theirs_us
    print(
        f"[{label}] fastest run {fastest_ms:.1f} ms; median run at Boltzmann's reference "
        f"{REFERENCE_BOLTZMANN_US} us/agent-step: {scaled_ms:.1f} ms"
    )


if __name__ == "__main__":
    main()
