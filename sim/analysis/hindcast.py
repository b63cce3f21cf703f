"""The hindcast: the economy of 2020 run to 2025 beside the published training runs.

``race hindcast`` runs ``experiments/hindcast_2020.yaml`` (packaged as
``sim/data/hindcast_2020.yaml``) over 20 seeds and gives, for each calendar
year, the largest logical compute of any training run finished by the end
of that year: the median over seeds and the 5th and 95th percentiles.

The runs published through 2022 are the calibration data
(:data:`PUBLISHED_RUNS`, ``in_sample``); later ones are the out-of-sample
check, never fitted (``docs/calibration.md`` section 12 says what was fitted
and how). :func:`log_errors` measures both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.facts import largest_run_by_end_of
from sim.config.scenario import Scenario
from sim.economy.engine import run_batch
from sim.economy.outputs import Series

PACKAGED_HINDCAST = Path(__file__).resolve().parents[1] / "data" / "hindcast_2020.yaml"
"""The hindcast scenario shipped inside the package (a copy of experiments/hindcast_2020.yaml)."""

COLUMNS = ("year", "frontier_run_flop", "frontier_run_flop_p05", "frontier_run_flop_p95")
"""The columns of ``hindcast.csv``, in order."""

LAST_IN_SAMPLE_YEAR = 2022
"""Runs published up to the end of this year are calibration data; later ones are not."""


@dataclass(frozen=True)
class PublishedRun:
    """A published training run: its release date (fractional year) and training compute."""

    name: str
    year: float
    flop: float
    source: str

    @property
    def in_sample(self) -> bool:
        """Whether the run is calibration data (published by the end of 2022)."""
        return self.year < LAST_IN_SAMPLE_YEAR + 1


EPOCH = "Epoch AI, Notable AI Models (CC-BY), estimate"
PUBLISHED_RUNS: tuple[PublishedRun, ...] = (
    PublishedRun("GPT-3 175B", 2020 + 4 / 12, 3.1e23, EPOCH),
    PublishedRun("Megatron-Turing NLG 530B", 2021 + 9 / 12, 1.2e24, EPOCH),
    PublishedRun("Gopher 280B", 2021 + 11 / 12, 6.3e23, EPOCH),
    PublishedRun("Chinchilla 70B", 2022 + 2 / 12, 5.8e23, EPOCH),
    PublishedRun("PaLM 540B", 2022 + 3 / 12, 2.5e24, EPOCH),
    PublishedRun("Minerva 540B", 2022 + 5 / 12, 2.7e24, EPOCH),
    PublishedRun("GPT-4", 2023 + 2 / 12, 2.1e25, EPOCH),
    PublishedRun("Gemini 1.0 Ultra", 2023 + 11 / 12, 5.0e25, EPOCH),
    PublishedRun("Llama 3.1 405B", 2024 + 6 / 12, 3.8e25, "Meta, arXiv 2407.21783 (6ND)"),
    PublishedRun("Grok 3", 2025 + 1 / 12, 4.6e26, EPOCH),
    PublishedRun("Grok 4", 2025 + 6 / 12, 5.0e26, EPOCH),
)
"""The largest published runs, 2020-2025 (``docs/calibration.md`` sections 6, 12, 14)."""


def years_of(scenario: Scenario) -> list[int]:
    """The calendar years the scenario's horizon covers from its first January on."""
    first = int(np.ceil(scenario.start_year - 1e-9))
    last = int(np.floor(scenario.start_year + scenario.years + 1e-9)) - 1
    return list(range(first, last + 1))


def hindcast(scenario: Scenario, seeds: Sequence[int], logical: bool = False) -> pd.DataFrame:
    """The largest finished training run by the end of each year: median, p05 and p95 over seeds.

    Args:
        scenario: the economy to run (the hindcast scenario, or any other).
        seeds: one run per seed, stepped together as one batch.
        logical: measure runs by logical compute instead of training FLOP
            (:func:`sim.analysis.facts.largest_run_by_end_of`).

    Returns:
        One row per calendar year of the horizon, with :data:`COLUMNS`. A year
        before any run finished counts 0 FLOP for that seed.
    """
    series = Series(run_batch([scenario] * len(seeds), seeds))
    rows = []
    for year in years_of(scenario):
        largest = largest_run_by_end_of(series, year, logical)
        median, low, high = np.percentile(largest, [50, 5, 95])
        rows.append((year, median, low, high))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def record_by_end_of(year: int) -> float:
    """The largest published run released by the end of ``year`` (0 if none)."""
    return max((run.flop for run in PUBLISHED_RUNS if run.year < year + 1), default=0.0)


def log_errors(table: pd.DataFrame) -> pd.DataFrame:
    """Each year's model median against the published record by then, in log10.

    Returns:
        Columns ``year, model, record, log10_ratio, in_sample``; years with
        no published run, or no finished model run, are left out.
    """
    record = table["year"].map(record_by_end_of)
    keep = (record > 0) & (table["frontier_run_flop"] > 0)
    return pd.DataFrame({
        "year": table["year"][keep],
        "model": table["frontier_run_flop"][keep],
        "record": record[keep],
        "log10_ratio": np.log10(table["frontier_run_flop"][keep] / record[keep]),
        "in_sample": table["year"][keep] <= LAST_IN_SAMPLE_YEAR,
    }).reset_index(drop=True)  # fmt: skip


def rms_log_error(table: pd.DataFrame, in_sample: bool = True) -> float:
    """Root-mean-square log10 error of the medians against the record, in or out of sample."""
    errors = log_errors(table)
    chosen = errors["log10_ratio"][errors["in_sample"] == in_sample]
    return float(np.sqrt(np.mean(chosen**2))) if len(chosen) else float("nan")
