"""The chip market (docs/model.md 3.13), run end to end on the small economy.

Orders queue at a supplier and are paid when placed; its die and packaging
capacity start them; they arrive a lead time later; the price index follows
the queue; an export control that comes into force refunds what is queued.
Each test reads what a user reads: the markets, edges, labs and ledger tables.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from sim.economy.model import RaceModel
from tests.builders import build, small_economy_dict

WEST = 0  # index of the west supplier in small_economy_dict()["chip_suppliers"]


def _base(**west: Any) -> dict[str, Any]:
    """The small economy without R&D noise, one year, the west supplier changed by ``west``."""
    data = small_economy_dict()
    data["rnd"]["noise"] = 0.0
    data["years"] = 1.0
    data["chip_suppliers"][WEST].update(west)
    return data


def _tables(data: dict[str, Any], **changes: Any) -> dict[str, pd.DataFrame]:
    return RaceModel(build(data, **changes)).run().tables()


def _west(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The west supplier's market rows from step 1 on, indexed by step."""
    markets = tables["markets"]
    return markets[(markets["market"] == "west") & (markets["step"] > 0)].set_index("step")


def test_a_longer_lead_time_delays_deliveries():
    """A GPU started in a step arrives ``ceil(lead / dt)`` steps after its order: with a
    one-month lead it arrives in the step of its order, with six months five steps later,
    so by every step the slower supplier has delivered less and has more in production."""
    fast = _west(_tables(_base(lead_time_years=1 / 12)))
    slow = _west(_tables(_base(lead_time_years=0.5)))
    assert fast.loc[1, "delivered"] > 0
    assert (slow.loc[1:5, "delivered"] == 0).all()
    assert slow.loc[6, "delivered"] > 0
    assert (slow["delivered"].cumsum() <= fast["delivered"].cumsum() + 1e-6).all()
    assert slow["delivered"].sum() < fast["delivered"].sum()
    assert slow["lead_time_years"].min() >= 0.5 > fast["lead_time_years"].max()


def test_a_packaging_expansion_lowers_the_price():
    """With packaging binding (1,000 wafers a month of 20 GPUs: 240k GPUs a year against
    300k of dies), doubling it starts more of the queue, so west's price index is lower
    at every step after the first repricing and its queue quotes a shorter wait."""
    tight = _west(_tables(_base(packaging_wafers_per_month=1000.0, packaging_reinvestment=0.0)))
    wide = _west(_tables(_base(packaging_wafers_per_month=2000.0, packaging_reinvestment=0.0)))
    assert tight["supply"].iloc[0] == pytest.approx(1000.0 * 20 * 12 / 12)
    assert wide["supply"].iloc[0] > tight["supply"].iloc[0]
    repriced = tight.index > 1
    assert (wide["price_index"][repriced] < tight["price_index"][repriced]).all()
    assert wide["lead_time_years"].mean() < tight["lead_time_years"].mean()


def test_reinvested_revenue_expands_packaging_and_lowers_the_price():
    """Reinvesting 20% of chip revenue in packaging at 1.5e5 USD per wafer a month adds
    capacity every step, so the binding supply grows and the index ends lower than with
    no reinvestment."""
    frozen = _west(_tables(_base(packaging_wafers_per_month=1000.0, packaging_reinvestment=0.0)))
    growing = _west(_tables(_base(packaging_wafers_per_month=1000.0, packaging_reinvestment=0.2)))
    assert (frozen["supply"] == frozen["supply"].iloc[0]).all()
    assert growing["supply"].iloc[-1] > growing["supply"].iloc[0]
    assert growing["price_index"].iloc[-1] < frozen["price_index"].iloc[-1]


def _refunds(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    ledger = tables["ledger"]
    return ledger[ledger["category"] == "chip_refunds"]


def test_a_dated_export_control_refunds_the_orders_it_cancels():
    """West can make only 2e4 GPUs a year, so orders queue. A ban on sales to cn from
    2025-07 (step 7) cancels cn's queued orders at west: in that step west refunds the
    cn labs, never before and never a us lab; nothing is queued for cn afterwards and
    no cn order reaches west; GPUs already started still arrive within the lead time."""
    data = _base(capacity_per_year=2e4)
    data["years"] = 1.5
    control = {"restricted_regions": {"2025-07": ["cn"]}, "max_tpp": 0}
    free = _tables(data)
    banned = _tables(data, policy__export_controls=control)
    assert _refunds(free)["amount"].abs().sum() == 0
    refunds = _refunds(banned)
    assert set(refunds["step"]) == {7}
    assert set(refunds["payer"]) == {"west"}
    assert set(refunds["payee"]) <= {"cn_base", "cn_adapt"} and refunds["amount"].sum() > 0
    edges = banned["edges"]
    to_cn = (edges["supplier"] == "west") & edges["lab"].astype(str).str.startswith("cn")
    assert edges[to_cn & (edges["step"] >= 7)]["quantity"].sum() == 0
    assert edges[to_cn & (edges["step"] < 7)]["quantity"].sum() > 0
    labs = banned["labs"].set_index(["step", "lab"])
    ordered = edges[(edges["step"] == 7) & (edges["kind"] == "chips")].groupby("lab")["value"].sum()
    for lab, amount in refunds.groupby("payee")["amount"].sum().items():
        assert labs.loc[(7, lab), "spend_capex"] == pytest.approx(ordered[lab] - amount)
