"""Directional tests: each lever or strategy moves its outcome the way economics says.

Every test runs the same base twice, changing one thing, with the seed fixed and
R&D noise off, and compares an outcome. The docstrings state the mechanism.
"""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd

from sim.economy.model import RaceModel
from sim.experiments.runs import summarize
from tests.builders import build, small_economy_dict


def _base() -> dict[str, Any]:
    """The small economy, deterministic: fixed seed and no R&D noise."""
    data = small_economy_dict()
    data["seed"] = 7
    data["rnd"]["noise"] = 0.0
    return data


def _run(data: dict[str, Any], **changes: Any) -> dict[str, pd.DataFrame]:
    """The run's tables, and its lab summary as the table ``lab_summary``."""
    result = summarize(RaceModel(build(data, **changes)).run())
    return {**result.tables, "lab_summary": result.lab_summary}


def _summary(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return tables["lab_summary"].set_index("lab")


def _final(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    labs = tables["labs"]
    return labs[labs["step"] == labs["step"].max()].set_index("lab")


def _trained(tables: dict[str, pd.DataFrame], until_step: int | None = None) -> pd.Series:
    """Logical compute each lab's training runs trained over the steps up to ``until_step``."""
    labs = tables["labs"]
    if until_step is not None:
        labs = labs[labs["step"] <= until_step]
    return labs.groupby("lab", observed=True)["training_compute_added"].sum()


def _energy(tables: dict[str, pd.DataFrame], region: str | None = None) -> pd.DataFrame:
    markets = tables["markets"]
    energy = markets[(markets["kind"] == "energy") & (markets["step"] > 0)]
    return energy if region is None else energy[energy["region"] == region]


def test_export_controls_lower_the_restricted_regions_compute():
    """Controls derate the chips sold into cn (TPP 2000 instead of ~16000), so cn labs
    get fewer FLOP per dollar (or must buy the domestic vendor's older H100s) and
    train less logical compute over the run than without controls."""
    base = _base()
    free = _trained(_run(base))
    controls = {"restricted_regions": ["cn"], "max_tpp": 2000.0}
    controlled = _trained(_run(base, policy__export_controls=controls))
    cn = [lab for lab in free.index if lab.startswith("cn")]
    assert controlled[cn].sum() < free[cn].sum()
    for lab in cn:
        assert controlled[lab] < free[lab], lab


def test_regional_power_cap_lowers_energy_use_and_raises_its_price():
    """A cap below the region's demand limits MW delivered to us labs, and since
    utilization is requested / available, scarcity pricing raises the MWh price."""
    base = _base()
    free = _energy(_run(base), "us")
    capped = _energy(_run(base, policy__power_caps={"us": 400.0}), "us")
    assert capped["energy_mwh"].sum() < free["energy_mwh"].sum()
    assert (capped.groupby("step")["sold"].sum() <= 400.0 * (1 + 1e-9)).all()

    def mean_price(energy: pd.DataFrame) -> float:
        return float((energy["price"] * energy["energy_mwh"]).sum() / energy["energy_mwh"].sum())

    assert mean_price(capped) > mean_price(free)
    assert capped["price"].max() >= free["price"].max()


def test_rd_subsidy_raises_realized_gamma_of_rnd_labs():
    """The subsidy matches each R&D dollar, so the effective spend in the concave
    gamma(x) is larger and every endogenous-R&D lab doubles its software efficiency
    faster. Realized gamma as a whole rises on average; a lab whose rivals gain more
    can lose revenue and buy fewer GPUs, so its total need not rise."""
    base = _base()
    plain = _summary(_run(base))
    subsidized = _summary(_run(base, policy__rd_subsidy_rate=1.0))
    for lab in plain.index:
        assert (
            subsidized.loc[lab, "realized_gamma_software"]
            > plain.loc[lab, "realized_gamma_software"]
        ), lab
    assert subsidized["realized_gamma"].mean() > plain["realized_gamma"].mean()


def _merit_order_economy() -> dict[str, Any]:
    """us: a cheap dirty grid first in the merit order, a pricier clean PPA second."""
    data = _base()
    data["energy_suppliers"] = [
        {"name": "us_coal", "region": "us", "capacity_mw": 900, "base_price": 70,
         "carbon_intensity": 0.9, "build_rate_mw_per_year": 0},
        {"name": "us_ppa", "region": "us", "capacity_mw": 900, "base_price": 90,
         "carbon_intensity": 0.02, "build_rate_mw_per_year": 0},
        {"name": "cn_grid", "region": "cn", "capacity_mw": 500, "base_price": 88,
         "carbon_intensity": 0.55},
    ]  # fmt: skip
    return data


def test_carbon_tax_lowers_total_emissions():
    """The tax adds intensity x tax to each supplier's cost, so at 100 USD/tCO2 the
    clean PPA (92) undercuts the coal grid (160) in the merit order: us power shifts
    to low-carbon supply and total emissions fall. The same holds in the small economy."""
    for data in (_merit_order_economy(), _base()):
        untaxed = _energy(_run(data))["emissions_t"].sum()
        taxed = _energy(_run(data, policy__carbon_tax=100.0))["emissions_t"].sum()
        assert taxed < untaxed, data["energy_suppliers"][0]["name"]
    shifted = _energy(_run(_merit_order_economy(), policy__carbon_tax=100.0), "us")
    by_supplier = shifted.groupby("market")["energy_mwh"].sum()
    assert by_supplier["us_ppa"] > by_supplier["us_coal"]


def test_carbon_tax_lowers_energy_use_where_all_power_is_dirty():
    """Where there is no clean supplier to switch to, the tax works only through
    demand: at 200 USD/tCO2 the delivered price of cn power more than doubles
    (88 -> 198 USD/MWh), which raises the running cost of every GPU. Labs that
    weigh what a GPU costs to run should buy and power fewer of them, so energy use
    should fall by a visible amount (>= 1%), not just by rounding."""
    data = _base()
    data["labs"] = [lab for lab in data["labs"] if lab["region"] == "cn"]
    data["energy_suppliers"] = [s for s in data["energy_suppliers"] if s["region"] == "cn"]
    untaxed = _energy(_run(data))["energy_mwh"].sum()
    taxed = _energy(_run(data, policy__carbon_tax=200.0))["energy_mwh"].sum()
    assert taxed < 0.99 * untaxed, f"energy use fell only {1 - taxed / untaxed:.3%}"


def test_chip_outage_raises_price_index_and_shortage():
    """Losing half of west's capacity for 2025 lengthens its queue against what it
    can make, so the tatonnement keeps its price index above the unshocked one from
    the first repricing on, more orders wait and an order placed waits longer."""
    base = _base()
    shock = {"supplier": "west", "start_year": 2025.0, "duration_years": 1.0,
             "fraction_lost": 0.5}  # fmt: skip

    def west_2025(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
        markets = tables["markets"]
        return markets[(markets["market"] == "west") & markets["step"].between(1, 12)]

    normal = west_2025(_run(base))
    shocked = west_2025(_run(base, policy__supply_shock=shock))
    assert shocked["supply"].sum() < normal["supply"].sum()
    repriced = shocked["step"] > 1
    assert (
        shocked["price_index"][repriced].to_numpy() > normal["price_index"][repriced].to_numpy()
    ).all()
    assert shocked["shortage"].sum() > normal["shortage"].sum()
    assert shocked["lead_time_years"].max() > normal["lead_time_years"].max()


def _duel() -> dict[str, Any]:
    """Two identical us labs, differing only in strategy, with ample power."""
    data = _base()
    lab = {"region": "us", "cash": 5e9, "funding_per_year": 5e9,
           "fleet": [{"chip": "H100", "units": 50_000}]}  # fmt: skip
    data["labs"] = [
        {**copy.deepcopy(lab), "name": "hare", "strategy": "hare"},
        {**copy.deepcopy(lab), "name": "turtle", "strategy": "turtle"},
    ]
    data["energy_suppliers"] = [
        {"name": "us_grid", "region": "us", "capacity_mw": 5000, "lead_time_years": 1}
    ]
    return data


def test_hare_out_computes_turtle_early_but_turtle_gains_efficiency_faster():
    """The hare puts 85% of its budget into GPUs, so after one year it has the bigger
    fleet and has trained more logical compute; the turtle puts 65% into R&D, so its software
    efficiency doubles faster (higher realized software gamma)."""
    tables = _run(_duel())
    labs = tables["labs"]
    year_one = labs[labs["step"] == 12].set_index("lab")
    assert year_one.loc["hare", "fleet_units"] > year_one.loc["turtle", "fleet_units"]
    summary = _summary(tables)
    assert (
        summary.loc["turtle", "realized_gamma_software"]
        > summary.loc["hare", "realized_gamma_software"]
    )
