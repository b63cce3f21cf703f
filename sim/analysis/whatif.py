"""What-if comparisons: paired runs of two scenarios with common random numbers.

Replicate r of the base and of the alternative run with the same seed, so
the noise they share cancels in the difference. For each output the paired
differences ``alt - base`` give a mean and a 95% confidence interval from the
t distribution with n - 1 degrees of freedom (undefined, NaN, for n = 1).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.economy.outputs import resolve_output_names
from sim.experiments.design import SUMMARY_OUTPUTS, RunSpec, replicate_seeds
from sim.experiments.sweep import (
    execute_batch,
    progress_bar,
    run_dask,
    run_processes,
    run_serial,
    runs_batch_limit,
)

DEFAULT_OUTPUTS = (
    "mean_final_loss", "mean_realized_gamma", "hhi_compute", "total_compute",
    "total_energy_mwh", "total_emissions_t",
)  # fmt: skip
CONFIDENCE = 0.95


def paired_runs(
    base: dict[str, Any],
    alt: dict[str, Any],
    replications: int,
    master_seed: int,
    *,
    backend: str = "serial",
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Run both scenarios ``replications`` times with shared seeds; one row per run.

    Both arms go through one backend (one process pool), so the pool starts
    once; ``progress`` shows a bar with rate and ETA on stderr.
    """
    seeds = replicate_seeds(master_seed, replications)
    runs = [
        RunSpec(f"{arm}-r{r:04d}", point, r, seed, ())
        for point, arm in enumerate(ARMS)
        for r, seed in enumerate(seeds)
    ]
    task = partial(execute_arms_batch, arms={"base": base, "alt": alt})
    limit = min(runs_batch_limit(runs, base, "base"), runs_batch_limit(runs[::-1], alt, "alt"))
    rows = []
    with progress_bar(len(runs), progress) as bar:
        for row, _ in _backend(runs, task, backend, workers, scheduler, limit):
            rows.append({"arm": ARMS[row["point"]], **row})
            bar.update(1)
    return pd.DataFrame(rows).sort_values(["arm", "replicate"]).reset_index(drop=True)


ARMS = ("base", "alt")
"""The two arms of a comparison; a run's design point is its arm's index."""


def execute_arms_batch(runs: list[RunSpec], arms: dict[str, dict[str, Any]]) -> list:
    """Run a task's runs of either arm (the arm is ``ARMS[run.point]``), in their order.

    Each arm's runs are stepped together (:func:`sim.experiments.sweep.execute_batch`).
    """
    outcomes: list = [None] * len(runs)
    for point, arm in enumerate(ARMS):
        members = [i for i, run in enumerate(runs) if run.point == point]
        data = arms[arm]
        ran = execute_batch([runs[i] for i in members], data, data.get("name", arm), False)
        for i, outcome in zip(members, ran, strict=True):
            outcomes[i] = outcome
    return outcomes


def _backend(runs, task, backend: str, workers: int, scheduler: str | None, limit: int):
    if backend == "serial":
        return run_serial(runs, task, limit)
    if backend == "processes":
        return run_processes(runs, task, workers, limit=limit)
    return run_dask(runs, task, scheduler, workers, limit=limit)


def pairs_table(runs: pd.DataFrame, outputs: list[str]) -> pd.DataFrame:
    """One row per replicate: seed, each output for base and alt, and their difference.

    An output no run has (every run failed) is NaN.
    """
    runs = runs.reindex(columns=list(dict.fromkeys([*runs.columns, *outputs])))
    base = runs[runs["arm"] == "base"].set_index("replicate")
    alt = runs[runs["arm"] == "alt"].set_index("replicate")
    pairs = pd.DataFrame({"replicate": base.index, "seed": base["seed"].to_numpy()})
    pairs = pairs.set_index("replicate")
    for output in outputs:
        pairs[f"{output}_base"] = base[output]
        pairs[f"{output}_alt"] = alt[output]
        pairs[f"{output}_diff"] = alt[output] - base[output]
    return pairs.reset_index()


def paired_differences(pairs: pd.DataFrame, outputs: list[str]) -> pd.DataFrame:
    """Per output: base and alt means, mean paired difference with its 95% CI, n."""
    return pd.DataFrame([_difference(pairs, output) for output in outputs])


def _difference(pairs: pd.DataFrame, output: str) -> dict[str, Any]:
    diff = pairs[f"{output}_diff"].dropna().to_numpy(dtype=float)
    base_mean = float(pairs[f"{output}_base"].mean())
    n = len(diff)
    mean = float(diff.mean()) if n else math.nan
    low, high = confidence_interval(diff)
    relative = 100.0 * mean / abs(base_mean) if base_mean else math.nan
    return {
        "output": output,
        "base_mean": base_mean,
        "alt_mean": float(pairs[f"{output}_alt"].mean()),
        "mean_difference": mean,
        "ci_low": low,
        "ci_high": high,
        "relative_difference_pct": relative,
        "n": n,
    }


def confidence_interval(values: np.ndarray, level: float = CONFIDENCE) -> tuple[float, float]:
    """t-based confidence interval of the mean; (NaN, NaN) with fewer than two values."""
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    half = stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / math.sqrt(n)
    mean = float(values.mean())
    return mean - half, mean + half


def interval_note(table: pd.DataFrame) -> str | None:
    """Which outputs have no confidence interval (fewer than two pairs) and why; None if all do.

    ``race compare --replications 1`` gives one pair: a mean difference, no interval.
    """
    missing = table[table["n"] < 2]
    if missing.empty:
        return None
    pairs = sorted({int(n) for n in missing["n"]})
    counted = " or ".join(f"{n} pair{'' if n == 1 else 's'}" for n in pairs)
    which = "any output" if len(missing) == len(table) else ", ".join(missing["output"])
    return (
        f"no confidence interval for {which}: {counted} (an interval needs at least 2); "
        "run --replications 2 or more for one"
    )


def known_outputs(outputs: list[str], scenarios: list | None = None) -> list[str]:
    """Validate output names: run outputs, or per-lab and per-region ones of ``scenarios``.

    Args:
        outputs: the names asked for (``mean_final_loss``, ``min_final_loss[region=cn]``).
        scenarios: the compared scenarios; each must have every name (None: run outputs only).

    Raises:
        ValueError: naming the unknown outputs and the allowed ones.
    """
    if scenarios:
        return resolve_output_names(outputs, scenarios, "--outputs")
    unknown = [o for o in outputs if o not in SUMMARY_OUTPUTS]
    if unknown:
        raise ValueError(f"--outputs: unknown {unknown}; allowed: {', '.join(SUMMARY_OUTPUTS)}")
    return outputs
