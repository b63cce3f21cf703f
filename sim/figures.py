"""Figures of one run, written by ``race run``: loss, shares, compute, markets, network.

The drawing lives in :mod:`sim.plots` (figure functions of DataFrames, one
style, units on every axis); this module feeds it a run's tables and the law's
constants and writes each figure as PNG and SVG, atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sim.plots import law_constants, run_figures, save_figures
from sim.runs import RUN_FIGURE_NAMES

if TYPE_CHECKING:
    from sim.runs import RunResult

RUN_FIGURES = RUN_FIGURE_NAMES
"""Names (file stems) of the run figures, in the order they are written."""


def write_run_figures(result: RunResult, out_dir: Path) -> list[Path]:
    """Draw every run figure into ``out_dir`` as PNG and SVG; return the paths."""
    kappa, floor = law_constants(result.scenario)
    figures = run_figures(result.tables, result.lab_summary, kappa, floor)
    return save_figures(figures, out_dir)
