"""The energy market (docs/model.md 3.14) and data-centre facilities (3.20), run end to end.

One clearing price per region set by the marginal supplier, the carbon tax
acting in the energy market only, build-out answering prices, facilities
paid when labs add capacity and bounding the power their GPUs draw.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.economy.build import build as build_batch
from sim.economy.model import RaceModel
from sim.economy.payments import CONSTRUCTION
from tests.builders import H100, build, small_economy_dict


def _base() -> dict[str, Any]:
    data = small_economy_dict()
    data["rnd"]["noise"] = 0.0
    return data


def _tables(data: dict[str, Any], **changes: Any) -> dict[str, pd.DataFrame]:
    return RaceModel(build(data, **changes)).run().tables()


def _paid_per_mwh(labs: pd.DataFrame) -> pd.Series:
    """USD per MWh each lab paid in each step, tax included, indexed by (step, lab)."""
    traded = labs[(labs["step"] > 0) & (labs["energy_mwh"] > 0)].set_index(["step", "lab"])
    return (traded["spend_energy"] + traded["spend_carbon_tax"]) / traded["energy_mwh"]


def test_a_regional_power_cap_raises_that_regions_clearing_price_for_every_buyer():
    """A cap of 400 MW on us shrinks the cheap PPA's share to 133 MW, below the us labs'
    ~180 MW: the grid becomes marginal, so every us lab pays its 81 USD/MWh instead
    of the PPA's 60 in the first step, when both runs start from the same state."""
    data = {**_base(), "years": 1 / 12}
    free = _paid_per_mwh(_tables(data)["labs"])
    capped = _paid_per_mwh(_tables(data, policy__power_caps={"us": 400.0})["labs"])
    us_labs = ["us_hare", "us_turtle"]
    for lab in us_labs:
        assert capped[(1, lab)] > free[(1, lab)], lab
    assert free[(1, "us_hare")] == pytest.approx(60.0)
    assert capped[(1, "us_hare")] == pytest.approx(81.0)
    assert capped[(1, "cn_base")] == free[(1, "cn_base")]


def test_every_buyer_and_supplier_of_a_region_shares_one_price():
    """Uniform pricing: in every step the labs of a region pay the same USD per MWh, and
    the region's suppliers publish the same clearing price."""
    tables = _tables(_base())
    paid = _paid_per_mwh(tables["labs"]).reset_index(name="price")
    regions = tables["labs"].drop_duplicates("lab").set_index("lab")["region"]
    paid["region"] = paid["lab"].map(regions)
    spread = paid.groupby(["step", "region"])["price"].agg(lambda p: p.max() / p.min() - 1)
    assert (spread < 1e-12).all()
    energy = tables["markets"][tables["markets"]["kind"] == "energy"]
    assert (energy.groupby(["step", "region"], observed=True)["price"].nunique() == 1).all()


def _two_suppliers(ppa_mw: float) -> dict[str, Any]:
    """One us lab needing ~181 MW; a cheap PPA of ``ppa_mw`` and a large grid at 81."""
    data = _base()
    data["years"] = 1 / 12
    data["energy_suppliers"] = [
        {"name": "ppa", "region": "us", "capacity_mw": ppa_mw, "base_price": 60.0,
         "carbon_intensity": 0.02},
        {"name": "grid", "region": "us", "capacity_mw": 10_000.0, "base_price": 81.0},
        {"name": "cn_grid", "region": "cn", "capacity_mw": 500, "base_price": 88},
    ]
    data["labs"][0]["fleet"] = [{"chip": "H100", "units": 120_000}]
    data["labs"] = [data["labs"][0], *data["labs"][2:]]
    return data


def test_the_cheapest_supplier_is_not_priced_on_the_whole_regions_demand():
    """The PPA (100 MW) runs at full output and the grid at ~1%: the region clears at the
    grid's 81 USD/MWh, not at the PPA's scarcity price of 5 x 60 (the old rule's 300)."""
    tables = _tables(_two_suppliers(100.0))
    energy = tables["markets"][(tables["markets"]["kind"] == "energy")]
    first = energy[energy["step"] == 1].set_index("market")
    assert first.loc["ppa", "sold"] == pytest.approx(100.0)
    assert first.loc["ppa", "price"] == pytest.approx(81.0)
    assert first.loc["grid", "price"] == pytest.approx(81.0)
    assert _paid_per_mwh(tables["labs"])[(1, "us_hare")] == pytest.approx(81.0)


def test_suppliers_are_paid_the_clearing_price_less_their_own_carbon_tax():
    """At 100 USD/tCO2 the PPA (0.02 t/MWh, offer 62) is dispatched before the grid (0.4,
    offer 121), which is marginal: every MWh costs 121; the PPA keeps 119 of it."""
    tables = _tables(_two_suppliers(100.0), policy__carbon_tax=100.0)
    markets = tables["markets"]
    first = markets[(markets["kind"] == "energy") & (markets["step"] == 1)]
    ppa = first.set_index("market").loc["ppa"]
    assert ppa["price"] == pytest.approx(81.0 + 40.0)
    assert ppa["revenue"] / ppa["energy_mwh"] == pytest.approx(121.0 - 2.0)


def test_the_carbon_tax_changes_no_parameter_but_its_own():
    """The tax acts in the energy market only: resolving a taxed scenario changes nothing
    in the parameters but ``policy.carbon_tax`` (no merit order or lab price is set at
    build time)."""
    untaxed, _, _ = build_batch([build(_base())], [0])
    taxed, _, _ = build_batch([build(_base(), policy__carbon_tax=150.0)], [0])
    for group in fields(untaxed)[1:-1]:  # every group but n_steps and the (empty) changes
        a, b = getattr(untaxed, group.name), getattr(taxed, group.name)
        for field in fields(a):
            if (group.name, field.name) != ("policy", "carbon_tax"):
                np.testing.assert_array_equal(getattr(a, field.name), getattr(b, field.name))
    assert taxed.policy.carbon_tax[0] == 150.0


def _scarce() -> dict[str, Any]:
    """The small economy with little us power, so us prices sit above cost for years."""
    data = _base()
    data["years"] = 3
    for supplier in data["energy_suppliers"][:2]:
        supplier["capacity_mw"] = 100.0
        supplier["build_rate_mw_per_year"] = 100.0
    return data


def _final_capacity(tables: dict[str, pd.DataFrame], region: str) -> float:
    energy = tables["markets"][tables["markets"]["kind"] == "energy"]
    last = energy[(energy["step"] == energy["step"].max()) & (energy["region"] == region)]
    return float(last["supply"].sum())


def test_build_out_answers_high_prices():
    """Scarce us power clears far above cost; suppliers that respond to prices order more
    than the base rate and end with more capacity than suppliers that do not."""
    responsive = _scarce()
    fixed = _scarce()
    for supplier in fixed["energy_suppliers"]:
        supplier["build_price_response"] = 0.0
    assert _final_capacity(_tables(responsive), "us") > 1.2 * _final_capacity(_tables(fixed), "us")


@pytest.mark.parametrize("multiplier", [0.0, 2.0])
def test_grid_buildout_multiplier_scales_the_build_out(multiplier):
    """No build-out at 0 (capacity stays at its start); more capacity at 2 than at 1."""
    base = _final_capacity(_tables(_scarce()), "us")
    scaled = _final_capacity(_tables(_scarce(), policy__grid_buildout_multiplier=multiplier), "us")
    if multiplier == 0.0:
        assert scaled == pytest.approx(200.0)
    else:
        assert scaled > base


def test_a_build_comes_online_after_its_lead_time():
    """A supplier with a one-year lead time and the base rate (prices at cost, no
    demand) adds nothing during the first year and its orders month by month after."""
    data = _base()
    data["labs"] = [lab for lab in data["labs"] if lab["region"] == "cn"]
    data["energy_suppliers"] = [{"name": "us_grid", "region": "us", "capacity_mw": 600,
                                 "lead_time_years": 1, "build_rate_mw_per_year": 1200},
                                data["energy_suppliers"][2]]  # fmt: skip
    energy = _tables(data)["markets"]
    grid = energy[energy["market"] == "us_grid"].set_index("step")["supply"]
    assert (grid.loc[1:12] == 600.0).all()  # row k: the k-th step, starting at (k - 1) dt
    assert grid.loc[13] == pytest.approx(700.0)
    assert grid.loc[25] == pytest.approx(1900.0)


def test_labs_pay_for_the_facility_their_new_gpus_need():
    """Installing GPUs beyond the starting facility costs facility_capex_per_mw per MW
    added, paid to the construction account; the labs' GPUs never draw more power
    than their facility holds."""
    data = _base()
    data["hardware"]["facility_capex_per_mw"] = 10e6
    tables = _tables(data)
    labs = tables["labs"].sort_values(["lab", "step"])
    added = labs.groupby("lab")["facility_mw"].agg(lambda mw: mw.iloc[-1] - mw.iloc[0])
    paid = labs.groupby("lab")["spend_facilities"].sum()
    assert (added > 0).any()
    np.testing.assert_allclose(paid, 10e6 * added, rtol=1e-9)
    assert (labs["power_mw"] <= labs["facility_mw"] * (1 + 1e-12)).all()
    ledger = tables["ledger"]
    facilities = ledger[ledger["category"] == "facilities"]
    assert (facilities["payee"] == CONSTRUCTION).all()
    assert facilities["amount"].sum() == pytest.approx(paid.sum())


def test_facility_cost_makes_gpus_dearer_to_own():
    """The ownership cost a lab compares includes the facility a GPU needs: at 50M USD
    per MW a GPU's facility costs more than the chip, so labs buy fewer GPUs."""
    cheap = _tables(_base(), hardware__facility_capex_per_mw=0.0)["labs"]
    dear = _tables(_base(), hardware__facility_capex_per_mw=50e6)["labs"]
    assert dear["chips_ordered"].sum() < 0.8 * cheap["chips_ordered"].sum()
    assert H100["price"] < 700 * 1.2 * 1.8 / 1e6 * 50e6


def _own(**terms: float) -> dict[str, Any]:
    """The scarce economy where labs may cover half their facility with own plants."""
    data = _scarce()
    data["own_generation"] = {"max_share": 0.5, "capex_per_mw": 1e6, "running_cost": 40.0,
                              "lead_time_years": 0.5, **terms}  # fmt: skip
    return data


def test_labs_build_own_generation_when_the_grid_is_dearer():
    """An own plant costs about 51 USD/MWh (40 running plus 1M USD per MW over 10 years of
    full output), below both grids (scarce us power, cn at 88): every lab orders plants
    up to half its facility, pays the capex to construction and draws part of its power
    from them after the lead time. A plant dearer than any grid is never built."""
    tables = _tables(_own())
    labs = tables["labs"]
    last = labs[labs["step"] == labs["step"].max()].set_index("lab")
    assert (last["own_generation_mw"] > 0).all()
    assert (last["own_generation_mw"] <= 0.5 * last["facility_mw"] * (1 + 1e-12)).all()
    assert labs["own_power_mw"].sum() > 0
    assert (labs["own_power_mw"] <= labs["power_mw"]).all()
    ledger = tables["ledger"]
    plants = ledger[ledger["category"].isin(["generation", "own_power"])]
    assert (plants["payee"] == CONSTRUCTION).all()
    assert plants["amount"].sum() == pytest.approx(labs["spend_own_generation"].sum())
    dear = _tables(_own(running_cost=5000.0))["labs"]
    assert dear["own_generation_mw"].max() == 0.0
    assert dear["spend_own_generation"].sum() == 0.0


def test_own_generation_lowers_the_regions_clearing_price():
    """Plants behind the meter take demand off the scarce us grid, so the us region clears
    lower on average than when labs buy all their power from it."""

    def mean_us_price(data: dict[str, Any]) -> float:
        markets = _tables(data)["markets"]
        us = markets[(markets["kind"] == "energy") & (markets["region"] == "us")]
        return float(us[us["step"] > 0]["price"].mean())

    assert mean_us_price(_own()) < mean_us_price(_scarce())


def test_own_generation_pays_its_carbon_tax():
    """At 100 USD/tCO2 a plant of 0.4 t/MWh pays 40 USD per MWh it delivers to the
    government, booked with the lab's carbon tax."""
    tables = _tables(_own(), policy__carbon_tax=100.0)
    labs = tables["labs"]
    own_mwh = (labs["own_power_mw"] * 8766 / 12).sum()
    ledger = tables["ledger"]
    own_tax = ledger[ledger["category"] == "own_carbon_tax"]["amount"].sum()
    assert own_mwh > 0
    assert own_tax == pytest.approx(40.0 * own_mwh)
