"""One run of a scenario, or a batch of runs: run it and turn it into tables and summaries.

What ``race run`` writes from them (:func:`sim.viz.figures.write_run`) in
``results/<scenario-name>/`` (each file written atomically: temporary file,
then rename):

- ``labs.parquet`` (step x lab, with each lab's realized gamma over the
  trailing year), ``markets.parquet`` (step x supplier), ``edges.parquet``
  (step x network edge), ``economy.parquet`` (step: leader, HHI of compute and
  market share, totals), ``ledger.parquet`` (every payment);
- ``lab_summary.parquet`` (one row per lab) and ``summary.parquet`` (one row);
- ``scenario.yaml`` (the validated scenario with every default filled in);
- figures (``sim.viz.figures``).

The folder never mixes two invocations (:func:`sim.viz.figures.write_run`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sim.config.scenario import Scenario
from sim.economy.engine import BatchRun, run_batch
from sim.economy.model import RaceModel
from sim.economy.outputs import (
    LAB_OUTPUTS,
    RUN_OUTPUTS,
    breakdown_outputs,
    lab_outputs,
    run_outputs,
    target_column,
)
from sim.economy.tables import run_tables

"""Stems of the run figures (:mod:`sim.viz.figures` draws them; named here to stay light)."""


@dataclass
class RunResult:
    """Everything one run produced.

    Attributes:
        scenario: the validated scenario.
        seed: the seed actually used.
        tables: ``labs``, ``markets``, ``edges``, ``ledger`` DataFrames.
        lab_summary: one row per lab.
        summary: the one-row run summary as a dict.
    """

    scenario: Scenario
    seed: int
    tables: dict[str, pd.DataFrame]
    lab_summary: pd.DataFrame
    summary: dict


def run_scenario(scenario: Scenario, seed: int | None = None) -> RunResult:
    """Run one scenario (a batch of one) and derive its tables and summaries."""
    seed = scenario.seed if seed is None else int(seed)
    return results(run_batch([scenario], [seed]))[0]


def summarize(model: RaceModel) -> RunResult:
    """The tables and summaries of a model that has run to its horizon."""
    return results(model.batch())[0]


def results(batch: BatchRun) -> list[RunResult]:
    """Every run of a finished batch with its tables and summaries."""
    summaries, labs = run_summaries(batch), lab_summaries(batch)
    return [
        RunResult(scenario, seed, run_tables(batch, i), labs[i], summaries[i])
        for i, (scenario, seed) in enumerate(zip(batch.scenarios, batch.seeds, strict=True))
    ]


def run_summaries(batch: BatchRun, per_lab: bool = False) -> list[dict]:
    """Each run's one-row summary (scenario, seed, steps, leader, the run outputs).

    Args:
        batch: the finished batch.
        per_lab: also the per-lab and per-region outputs
            (:func:`sim.economy.outputs.breakdown_outputs`, e.g.
            ``final_loss[lab=cn_hare]``, ``min_final_loss[region=cn]``), after the run outputs.
    """
    values = run_outputs(batch)
    breakdowns = breakdown_outputs(batch) if per_lab else [{} for _ in batch.scenarios]
    rows = []
    for i, (scenario, seed) in enumerate(zip(batch.scenarios, batch.seeds, strict=True)):
        row = {"scenario": scenario.name, "seed": seed, "steps": scenario.n_steps}
        row["leader"] = scenario.labs[int(values["leader"][i])].name
        row.update({output.name: float(values[output.name][i]) for output in RUN_OUTPUTS})
        row.update(breakdowns[i])
        rows.append(row)
    return rows


def lab_summaries(batch: BatchRun) -> list[pd.DataFrame]:
    """Each run's lab summary: one row per lab, the lab outputs and its years to targets."""
    values = lab_outputs(batch)
    frames = []
    for i, scenario in enumerate(batch.scenarios):
        columns = [output.name for output in LAB_OUTPUTS]
        columns += [target_column(x) for x in scenario.law.relative_targets]
        labels = {
            "lab": [lab.name for lab in scenario.labs],
            "region": [lab.region for lab in scenario.labs],
            "strategy": [lab.strategy for lab in scenario.labs],
        }
        frames.append(pd.DataFrame(labels | {name: values[name][i] for name in columns}))
    return frames
