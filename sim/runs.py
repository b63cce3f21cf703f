"""One run of a scenario: build the model, run it, turn it into tables and write them.

Outputs of ``race run`` in ``results/<scenario-name>/`` (each file written
atomically: temporary file, then rename):

- ``labs.parquet`` (step x lab, with each lab's realized gamma over the
  trailing year), ``markets.parquet`` (step x supplier), ``edges.parquet``
  (step x network edge), ``economy.parquet`` (step: leader, HHI of compute and
  market share, totals), ``ledger.parquet`` (every payment);
- ``lab_summary.parquet`` (one row per lab) and ``summary.parquet`` (one row);
- ``scenario.yaml`` (the validated scenario with every default filled in);
- figures (``sim.figures``).

The folder never mixes two invocations: see :func:`write_run`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from sim.analysis import trailing_gamma
from sim.config import Scenario
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
from sim.io import atomic_write_parquet, atomic_write_text
from sim.outputs import column_entries
from sim.staging import replace_outputs

RUN_FIGURE_NAMES = ("loss", "market_share", "compute", "chip_market", "energy", "network")
"""Stems of the run figures (:mod:`sim.figures` draws them; named here to stay light)."""


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


def run_model(scenario: Scenario, seed: int | None = None) -> RaceModel:
    """Build and run the model to the end of the horizon."""
    return RaceModel(scenario, seed=seed).run()


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
        RunResult(scenario, seed, run_tables_with_gamma(batch, i), labs[i], summaries[i])
        for i, (scenario, seed) in enumerate(zip(batch.scenarios, batch.seeds, strict=True))
    ]


def run_tables_with_gamma(batch: BatchRun, run: int) -> dict[str, pd.DataFrame]:
    """A run's tables, its labs table with each lab's realized gamma over the trailing year."""
    tables = run_tables(batch, run)
    steps_per_year = batch.scenarios[run].steps_per_year
    tables["labs"]["realized_gamma_trailing"] = trailing_gamma(tables["labs"], steps_per_year)
    return tables


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


def write_run(result: RunResult, out_dir: Path, figures: bool = True) -> list[Path]:
    """Write a run's tables (Parquet), its scenario and figures; return the paths.

    Everything is written to a staging folder first and replaces the outputs of
    any earlier invocation in ``out_dir`` only once complete
    (:func:`sim.staging.replace_outputs`): a run with ``figures=False`` leaves no
    old figures (nor an old report) beside its tables, other files in
    ``out_dir`` are kept, and a failure leaves ``out_dir`` as it was.
    """
    with replace_outputs(out_dir, "race run", RUN_KNOWN_FILES) as staging:
        names = [path.name for path in _write_run_files(result, staging, figures)]
    return [out_dir / name for name in names]


RUN_KNOWN_FILES = (
    *(f"{name}.{suffix}" for name in RUN_FIGURE_NAMES for suffix in ("png", "svg")),
    "report.html",
)
"""Files a run folder may hold besides this run's own: stale if this run did not write them."""


def _write_run_files(result: RunResult, folder: Path, figures: bool) -> list[Path]:
    written = []
    frames = {
        **result.tables,
        "lab_summary": result.lab_summary,
        "summary": pd.DataFrame([result.summary]),
    }
    for name, frame in frames.items():
        path = folder / f"{name}.parquet"
        atomic_write_parquet(frame, path, fields=column_entries(name, frame.columns))
        written.append(path)
    scenario_path = folder / "scenario.yaml"
    dumped = result.scenario.model_dump(mode="json") | {"seed": result.seed}
    atomic_write_text(scenario_path, yaml.safe_dump(dumped, sort_keys=False))
    written.append(scenario_path)
    if figures:
        from sim.figures import write_run_figures

        written.extend(write_run_figures(result, folder))
    return written
