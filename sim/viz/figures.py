"""What ``race run`` writes: a run's tables, its scenario and its figures.

The drawing lives in :mod:`sim.viz.plots` (figure functions of DataFrames, one
style, units on every axis); this module feeds it a run's tables and the law's
constants and writes each figure as PNG and SVG, atomically, beside the
run's Parquet tables (:func:`write_run`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from sim.experiments.dictionary import column_entries
from sim.experiments.io import atomic_write_parquet, atomic_write_text
from sim.experiments.runs import RunResult
from sim.experiments.staging import replace_outputs
from sim.viz.plots import law_constants, run_figures, save_figures

RUN_FIGURE_NAMES = ("loss", "market_share", "compute", "chip_market", "energy", "network")
"""Names (file stems) of the run figures, in the order they are written."""


def write_run_figures(result: RunResult, out_dir: Path) -> list[Path]:
    """Draw every run figure into ``out_dir`` as PNG and SVG; return the paths."""
    kappa, floor = law_constants(result.scenario)
    figures = run_figures(result.tables, result.lab_summary, kappa, floor)
    return save_figures(figures, out_dir)


def write_run(result: RunResult, out_dir: Path, figures: bool = True) -> list[Path]:
    """Write a run's tables (Parquet), its scenario and figures; return the paths.

    Everything is written to a staging folder first and replaces the outputs of
    any earlier invocation in ``out_dir`` only once complete
    (:func:`sim.experiments.staging.replace_outputs`): a run with ``figures=False`` leaves no
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
        from sim.viz.figures import write_run_figures

        written.extend(write_run_figures(result, folder))
    return written
