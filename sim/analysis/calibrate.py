"""Fits of the inputs the record leaves open, each to the moments docs/calibration.md names.

Two fits, each reproducible from a scenario file:

* :func:`fit_knowledge_stock`: ``rnd.productivity`` and ``rnd.ideas_harder``
  so that the frontier lab's software progress over the first two years is
  the target (Ho et al. 2024: about 1.6 doublings/yr) in a late start (the
  2025 baseline) and an early one (the 2020 hindcast).
* :func:`fit_funding_scale`: the scale of the hindcast labs' budgets that
  best matches the training runs published through 2022
  (:func:`sim.analysis.hindcast.rms_log_error`); later runs are reported,
  never used to choose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis.hindcast import hindcast, rms_log_error
from sim.config.scenario import Scenario
from sim.economy.engine import run_batch

TARGET_SOFTWARE_GAMMA = 1.6
"""Frontier software doublings per year both starts are fitted to (Ho et al. 2024)."""

MOMENT_YEARS = 2.0
"""Years over which the software progress moment is measured, from each start."""


def with_rnd(scenario: Scenario, **values: float) -> Scenario:
    """The scenario with its ``rnd`` settings updated by ``values``."""
    return scenario.model_copy(update={"rnd": scenario.rnd.model_copy(update=values)})


def frontier_software_progress(scenario: Scenario, years: float = MOMENT_YEARS) -> float:
    """Doublings per year of the frontier lab's software multiplier over the first ``years``.

    One run with the R&D noise off: ``max over labs of log2 S`` at the end over ``years``.
    """
    quiet = with_rnd(scenario, noise=0.0).model_copy(update={"years": years})
    log2_software = run_batch([quiet], [quiet.seed]).state.labs.log2_software[0]
    return float(log2_software.max() / years)


@dataclass(frozen=True)
class KnowledgeFit:
    """The fitted R&D parameters and the progress they give in each start."""

    productivity: float
    ideas_harder: float
    late_gamma: float
    early_gamma: float


def fit_knowledge_stock(
    late: Scenario, early: Scenario, target: float = TARGET_SOFTWARE_GAMMA, rounds: int = 12
) -> KnowledgeFit:
    """Fit ``rnd.productivity`` and ``rnd.ideas_harder`` to ``target`` in both starts.

    Fixed-point iteration: the late start's knowledge stock is
    ``historical_gamma x (late start - early start)`` doublings larger, so
    ``ideas_harder`` moves by ``log2(g_late / g_early)`` over that gap and
    ``productivity`` scales by ``target / sqrt(g_late g_early)``.

    Args:
        late: the later start (the baseline), whose ``rnd`` settings are the
            starting point; ``early`` takes the same ones.
        early: the earlier start (the hindcast).
        target: doublings per year wanted in both.
        rounds: iterations.
    """
    rnd = late.rnd
    gap = rnd.historical_gamma * (late.start_year - early.start_year)
    productivity, harder = rnd.productivity, rnd.ideas_harder
    for _ in range(rounds):
        values = {"productivity": productivity, "ideas_harder": harder}
        g_late = frontier_software_progress(with_rnd(late, **values))
        g_early = frontier_software_progress(with_rnd(early, **values))
        harder = max(harder + np.log2(g_late / g_early) / gap, 0.0)
        productivity *= target / np.sqrt(g_late * g_early)
    values = {"productivity": productivity, "ideas_harder": harder}
    return KnowledgeFit(
        productivity, harder,
        frontier_software_progress(with_rnd(late, **values)),
        frontier_software_progress(with_rnd(early, **values)),
    )  # fmt: skip


def with_funding_scaled(scenario: Scenario, scale: float) -> Scenario:
    """The scenario with every lab's starting cash and outside funding times ``scale``."""
    labs = [
        lab.model_copy(update={"cash": lab.cash * scale,
                               "funding_per_year": lab.funding_per_year * scale})
        for lab in scenario.labs
    ]  # fmt: skip
    return scenario.model_copy(update={"labs": labs})


def fit_funding_scale(
    scenario: Scenario, scales: Sequence[float], seeds: Sequence[int]
) -> pd.DataFrame:
    """The hindcast's error for each scale of the labs' budgets, in and out of sample.

    Returns:
        Columns ``scale, rms_log10_in_sample, rms_log10_out_of_sample``, one
        row per scale; the fit is the scale with the smallest in-sample error.
    """
    rows = []
    for scale in scales:
        table = hindcast(with_funding_scaled(scenario, scale), seeds)
        rows.append((scale, rms_log_error(table, True), rms_log_error(table, False)))
    return pd.DataFrame(rows, columns=["scale", "rms_log10_in_sample", "rms_log10_out_of_sample"])
