"""Stylised facts: the model's 2025-2026 quantities beside the real world's.

``race facts`` runs a scenario over several seeds and sets each
:class:`Fact`'s model value (the median over seeds of what the batch gives
for that calendar year) beside its reference value and source
(``docs/calibration.md``, "Stylised facts"). ``ratio = model / reference``;
a credible economy keeps every ratio within ``[1/3, 3]``
(:data:`CREDIBLE_RATIO`).

A measure reads a batch's trace through :class:`sim.economy.outputs.Series`
and returns one value per run, (B,): a fact is a number a reader could look
up, so each measure says in its docstring how the model's quantity is made
comparable with the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.config.scenario import Scenario
from sim.economy.build import roadmap
from sim.economy.engine import run_batch
from sim.economy.outputs import Series
from sim.economy.phases import HOURS_PER_YEAR
from sim.economy.trace import best_value_chip

CREDIBLE_RATIO = 3.0
"""A fact is credible when ``1 / 3 <= model / reference <= 3``."""

COLUMNS = ("quantity", "unit", "year", "model", "reference", "source", "ratio")
"""The columns of ``facts.csv``, in order."""

Measure = Callable[[Series, int], np.ndarray]


@dataclass(frozen=True)
class Fact:
    """A quantity of one calendar year, its real-world value and how the model gives it."""

    quantity: str
    unit: str
    year: int
    reference: float
    source: str
    measure: Measure


def year_rows(series: Series, year: int) -> np.ndarray:
    """(B, T + 1) bool: the steps (rows 1..T) that start within calendar ``year``."""
    start = series.params.clock.start_year[:, None] + series.t - series.dt
    rows = (start >= year - 1e-9) & (start < year + 1 - 1e-9)
    rows[:, 0] = False  # row 0 is the opening state, no step
    return rows


def yearly_total(series: Series, name: str, year: int) -> np.ndarray:
    """(B, N) a flow lab series summed over the steps of ``year``."""
    return np.where(year_rows(series, year)[..., None], series.lab(name), 0.0).sum(axis=1)


def covers(series: Series, year: int) -> np.ndarray:
    """(B,) whether the run's horizon holds every step of ``year``."""
    rows = year_rows(series, year).sum(axis=1)
    return np.isclose(rows * series.params.clock.dt, 1.0)


def region_mask(series: Series, region: str) -> np.ndarray:
    """(N,) bool: the labs of ``region`` (the runs of a facts batch share one scenario)."""
    return np.array([lab.region == region for lab in series.batch.scenarios[0].labs])


def largest_lab_total(name: str) -> Measure:
    """The year's total of lab series ``name`` for the lab with the largest total."""

    def measure(series: Series, year: int) -> np.ndarray:
        return yearly_total(series, name, year).max(axis=1)

    measure.__doc__ = f"The largest lab's yearly total of ``{name}``."
    return measure


def energy_price_paid(region: str) -> Measure:
    """USD per MWh the labs of ``region`` paid over the year, carbon tax included."""

    def measure(series: Series, year: int) -> np.ndarray:
        labs = region_mask(series, region)
        bill = yearly_total(series, "spend_energy", year) + yearly_total(
            series, "spend_carbon_tax", year
        )
        mw_steps = np.where(year_rows(series, year)[..., None], series.lab("power_mw"), 0.0)
        mwh = mw_steps.sum(axis=1) * HOURS_PER_YEAR * series.dt
        with np.errstate(all="ignore"):
            return bill[:, labs].sum(axis=1) / mwh[:, labs].sum(axis=1)

    return measure


def frontier_software_progress(series: Series, year: int) -> np.ndarray:
    """Doublings per year of the frontier lab's software multiplier over the year.

    The frontier lab is the one with the highest multiplier at the year's end;
    its progress is the change of ``log2 S`` over the year's steps.
    """
    rows = year_rows(series, year)
    first, last = rows.argmax(axis=1), rows.shape[1] - 1 - rows[:, ::-1].argmax(axis=1)
    b = np.arange(rows.shape[0])
    log2_s = np.log2(series.lab("software_multiplier"))
    gained = log2_s[b, last] - log2_s[b, first - 1]
    leader = log2_s[b, last].argmax(axis=1)
    years = (last - first + 1) * series.params.clock.dt
    return gained[b, leader] / years


def frontier_price_performance_growth(series: Series, year: int) -> np.ndarray:
    """Yearly growth factor of the best FLOP/s per USD on sale, ``year`` to ``year + 1``.

    The frontier supplier's best-value chip at the quoted price (the markets
    table's ``price``), first step of ``year`` against first step of ``year + 1``.
    """
    value = _best_value_flops(series) / series.chips["price"]  # (B, T + 1, Sc)
    rows = year_rows(series, year)
    next_rows = year_rows(series, year + 1)
    b = np.arange(rows.shape[0])
    start = np.nanmax(value[b, rows.argmax(axis=1)], axis=1)
    end = np.nanmax(value[b, next_rows.argmax(axis=1)], axis=1)
    return end / start


def _best_value_flops(series: Series) -> np.ndarray:
    """(B, T + 1, Sc) FLOP/s of each supplier's best-value released chip (as the price)."""
    year = series.params.clock.start_year[:, None] + series.t - series.dt  # (B, T + 1)
    best, any_on_sale = best_value_chip(series.params, year)
    b = np.arange(best.shape[0])[:, None, None]
    return np.where(any_on_sale, series.params.hardware.chip_flops[b, best], np.nan)


def largest_run_by_end_of(series: Series, year: int, logical: bool = False) -> np.ndarray:
    """Training FLOP of the largest training run finished by the end of ``year``.

    Published training compute (Epoch AI) counts the FLOP one run's GPUs
    did, so the model's is ``training_flop``: the GPU work at MFU, without the
    software multiplier. A run's logical compute also counts the software
    efficiency gained since the simulation started, which depends on when it
    started; ``logical=True`` gives that instead.
    """
    ended, compute = series.finished_runs  # (B, T + 1, N)
    if not logical:
        compute = np.where(ended, series.lab("run_flop"), 0.0)
    done = series.params.clock.start_year[:, None] + series.t <= year + 1 + 1e-9
    return np.where(done[..., None] & ended, compute, 0.0).max(axis=(1, 2))


def frontier_compute_growth(series: Series, year: int) -> np.ndarray:
    """Yearly growth of the largest finished run: by the end of ``year`` over a year before."""
    with np.errstate(all="ignore"):
        return largest_run_by_end_of(series, year) / largest_run_by_end_of(series, year - 1)


def largest_cluster_power(series: Series, year: int) -> np.ndarray:
    """MW of the GPUs of the largest training run in progress during ``year``.

    A run's GPUs at their board watts times the facility factor (PUE x
    server overhead), as a training cluster's power is reported.
    """
    hw = series.params.hardware
    chip = series.lab("run_chip").astype(np.int64)  # (B, T + 1, N)
    b = np.arange(chip.shape[0])[:, None, None]
    n = np.arange(chip.shape[2])[None, None, :]
    watts = hw.variant_watts[b, n, chip] * hw.watts_factor[:, None, None]
    mw = series.lab("run_units") * watts / 1e6
    training = year_rows(series, year)[..., None] & (series.lab("training_run") > 0)
    return np.where(training, mw, 0.0).max(axis=(1, 2))


def chip_price(chip: str) -> Measure:
    """USD per GPU of roadmap chip ``chip`` as quoted over the year (mean over its steps).

    The list price times the quoted price index of the first supplier that
    sells the chip.
    """

    def measure(series: Series, year: int) -> np.ndarray:
        names = [c.name for c in roadmap(series.batch.scenarios[0])]
        index = names.index(chip)
        supplier = int(series.params.chips.sells[0, :, index].argmax())
        rows = year_rows(series, year)
        quoted = series.chips["price_index"][:, :, supplier]
        with np.errstate(all="ignore"):
            mean_index = np.where(rows, quoted, 0.0).sum(axis=1) / rows.sum(axis=1)
        return series.params.hardware.chip_price[:, index] * mean_index

    measure.__doc__ = f"USD per {chip} GPU as quoted over the year."
    return measure


def measure_batch(facts: Sequence[Fact], series: Series) -> pd.DataFrame:
    """One row per fact: the median over the batch's runs and its ratio to the reference."""
    rows = []
    for fact in facts:
        values = np.where(covers(series, fact.year), fact.measure(series, fact.year), np.nan)
        model = float(np.nanmedian(values)) if np.isfinite(values).any() else float("nan")
        rows.append(
            {
                "quantity": fact.quantity, "unit": fact.unit, "year": fact.year,
                "model": model, "reference": fact.reference, "source": fact.source,
                "ratio": model / fact.reference,
            }
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS))


def stylised_facts(
    scenario: Scenario, seeds: Sequence[int], facts: Sequence[Fact] | None = None
) -> pd.DataFrame:
    """Run ``scenario`` once per seed (one batch) and measure ``facts`` (default :data:`FACTS`).

    Facts of a year the horizon does not cover come out NaN, their ratio too.
    """
    batch = run_batch([scenario] * len(seeds), seeds)
    return measure_batch(FACTS if facts is None else facts, Series(batch))


def credible(table: pd.DataFrame) -> pd.Series:
    """Whether each row's ratio lies within ``[1 / CREDIBLE_RATIO, CREDIBLE_RATIO]``."""
    ratio = table["ratio"]
    return (ratio >= 1.0 / CREDIBLE_RATIO) & (ratio <= CREDIBLE_RATIO)


FACTS: tuple[Fact, ...] = (
    Fact(
        "largest lab chip capex", "USD", 2025, 4.4e10,
        "Microsoft FY2025 capex 88.2B USD incl. finance leases, about half on servers "
        "(10-K FY2025; Q4 FY2025 earnings call) (?)",
        largest_lab_total("spend_capex"),
    ),
    Fact(
        "top lab revenue", "USD", 2025, 1.31e10,
        "OpenAI 2025 revenue as reported (CNBC, The Information, Jan 2026) (?)",
        largest_lab_total("revenue"),
    ),
    Fact(
        "energy price US labs pay", "USD/MWh", 2025, 81.0,
        "US EIA, average industrial electricity price 2023 (8.1 c/kWh)",
        energy_price_paid("us"),
    ),
    Fact(
        "frontier software progress", "doublings/yr", 2025, 1.5,
        "Ho et al. 2024, arXiv 2403.05812: compute for fixed performance halves every "
        "~8 months (95% CI 5-14)",
        frontier_software_progress,
    ),
    Fact(
        "GPU price-performance growth", "x/yr", 2025, 2.0 ** (1.0 / 2.1),
        "Epoch AI, trends in GPU price-performance: FLOP/s per USD doubles every 2.1 yr "
        "(ML GPUs)",
        frontier_price_performance_growth,
    ),
    Fact(
        "largest training run", "FLOP", 2025, 5e26,
        "Epoch AI, Notable AI Models: the largest runs of 2025 (Grok 4 about 5e26 FLOP, "
        "estimate) (?)",
        largest_run_by_end_of,
    ),
    Fact(
        "frontier training compute growth", "x/yr", 2026, 4.5,
        "Epoch AI, training compute of frontier models grows 4-5x per year (2010-2024)",
        frontier_compute_growth,
    ),
    Fact(
        "largest lab facility capex", "USD", 2025, 4.4e10,
        "Microsoft 10-K FY2025 (capex 88.2B USD) and Q4 FY2025 call: roughly half on "
        "long-lived assets (land, buildings, fit-out) (?)",
        largest_lab_total("spend_facilities"),
    ),
    Fact(
        "H100 price", "USD", 2025, 2.75e4,
        "H100 SXM list price 25-30k USD per GPU (press and analyst estimates, 2024-2025) (?)",
        chip_price("H100"),
    ),
    Fact(
        "largest training cluster power", "MW", 2025, 280.0,
        "xAI Colossus, Memphis: about 200k H100/H200 in 2025 at about 280 MW (xAI; "
        "Epoch AI frontier data centres); largest runs over 100 MW (Epoch AI) (?)",
        largest_cluster_power,
    ),
)  # fmt: skip
"""The facts ``race facts`` writes, in order (docs/calibration.md, "Stylised facts")."""
