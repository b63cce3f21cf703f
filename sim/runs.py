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
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from sim.analysis import lab_summary, run_summary, trailing_gamma
from sim.config import Scenario
from sim.io import atomic_write_parquet, atomic_write_text
from sim.model import RaceModel, release


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
    """Run one scenario and derive its tables and summaries."""
    model = run_model(scenario, seed)
    result = summarize(model)
    release(model)
    return result


def summarize(model: RaceModel) -> RunResult:
    """The tables and summaries of a model that has run (it stays usable)."""
    scenario = model.scenario
    tables = model.recorder.tables()
    tables["labs"]["realized_gamma_trailing"] = trailing_gamma(
        tables["labs"], scenario.steps_per_year
    )
    labs = lab_summary(tables["labs"], scenario.law.relative_targets)
    summary = {
        "scenario": scenario.name,
        "seed": model.seed_used,
        "steps": scenario.n_steps,
        **run_summary(tables, labs),
    }
    return RunResult(scenario, model.seed_used, tables, labs, summary)


def write_run(result: RunResult, out_dir: Path, figures: bool = True) -> list[Path]:
    """Write a run's tables (Parquet), its scenario and figures; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    frames = {
        **result.tables,
        "lab_summary": result.lab_summary,
        "summary": pd.DataFrame([result.summary]),
    }
    for name, frame in frames.items():
        path = out_dir / f"{name}.parquet"
        atomic_write_parquet(frame, path)
        written.append(path)
    scenario_path = out_dir / "scenario.yaml"
    dumped = result.scenario.model_dump(mode="json") | {"seed": result.seed}
    atomic_write_text(scenario_path, yaml.safe_dump(dumped, sort_keys=False))
    written.append(scenario_path)
    if figures:
        from sim.figures import write_run_figures

        written.extend(write_run_figures(result, out_dir))
    return written
