"""Labs finance like real labs (docs/model.md 3.23): a cash buffer, payouts, investors' standing.

Each test runs the economy and reads the labs table a user reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.config.scenario import load_scenario
from sim.economy.model import RaceModel
from tests.builders import build, small_economy_dict

BASELINE = Path(__file__).resolve().parents[1] / "experiments" / "baseline.yaml"
SPEND_COLUMNS = [
    "spend_capex", "spend_tariffs", "spend_facilities", "spend_energy", "spend_carbon_tax",
    "spend_own_generation", "spend_rnd", "spend_projects", "spend_compliance",
]  # fmt: skip


def _labs(data: dict[str, Any], **changes: Any) -> pd.DataFrame:
    return RaceModel(build(data, **changes)).run().tables()["labs"]


def _base() -> dict[str, Any]:
    data = small_economy_dict()
    data["rnd"]["noise"] = 0.0
    return data


@pytest.fixture(scope="module")
def baseline_labs() -> pd.DataFrame:
    """The labs table of the shipped baseline over its whole horizon (2025-2035)."""
    return RaceModel(load_scenario(BASELINE)).run().tables()["labs"]


def test_no_baseline_lab_ever_holds_more_than_two_years_of_its_spending(baseline_labs):
    """Cash against the lab's spending rate: the one-year exponential average of what it
    paid each step, recomputed here from the spend columns."""
    labs = baseline_labs.sort_values(["lab", "step"])
    weight = -np.expm1(-1.0 / 12.0)
    for _, lab in labs.groupby("lab", observed=True):
        paid_per_year = lab[SPEND_COLUMNS].sum(axis=1).to_numpy() * 12.0
        rate = [lab["spending_rate"].iloc[0]]
        for paid in paid_per_year[1:]:
            rate.append(rate[-1] + (paid - rate[-1]) * weight)
        np.testing.assert_allclose(lab["spending_rate"], rate, rtol=1e-9)
        assert (lab["cash"].iloc[1:] <= 2.0 * np.array(rate[1:])).all()


def test_baseline_labs_return_what_they_cannot_use_and_stop_raising_when_revenue_pays(
    baseline_labs,
):
    """By 2030 revenue outgrows what the US leaders can spend on powered GPUs: they pay
    out, and in some steps raise nothing, while no lab pays out in its first year."""
    labs = baseline_labs[baseline_labs["step"] > 0]
    assert labs[labs["step"] <= 12]["payouts"].sum() == 0
    leader = labs[labs["lab"] == "us_hare"]
    assert leader[leader["year"] >= 2030]["payouts"].sum() > 0
    assert (leader["funding"] == 0).any()  # its revenue covers buffer and spending
    assert (labs["payouts"] >= 0).all()


def _power_starved() -> dict[str, Any]:
    """The small economy with US power capped near today's draw: new GPUs cannot run."""
    data = _base()
    data["years"] = 2.0
    data["policy"] = {"power_caps": {"us": 250.0}}
    return data


def test_a_lab_that_cannot_use_its_money_returns_it_instead_of_hoarding():
    """With power capped, the idle-fleet rule stops GPU purchases; without a buffer the
    money piles up, with one it goes back to investors and cash stays near the buffer."""
    hoarding = _labs(_power_starved(), **{"labs": _with_all(_power_starved(), None)})
    buffered = _labs(_power_starved())
    for table in (hoarding, buffered):
        assert (table["cash"] >= 0).all()
    last = buffered["step"].max()
    end = buffered[buffered["step"] == last].set_index("lab")
    end_hoarding = hoarding[hoarding["step"] == last].set_index("lab")
    assert hoarding["payouts"].sum() == 0
    assert buffered.groupby("lab", observed=True)["payouts"].sum()["us_hare"] > 0
    assert end.loc["us_hare", "cash"] < 0.5 * end_hoarding.loc["us_hare", "cash"]
    assert (end["cash"] <= 1.5 * end["spending_rate"]).all()


def _with_all(data: dict[str, Any], buffer: float | None, **fields: Any) -> list[dict]:
    """The labs of ``data`` with ``cash_buffer_years = buffer`` and ``fields`` set."""
    return [{**lab, "cash_buffer_years": buffer, **fields} for lab in data["labs"]]


def test_investors_offer_more_to_labs_that_gained_share():
    """With a buffer too large to bind, a lab raises what it is offered: the schedule
    (what it raises at elasticity 0) times ``(share last step / share at start)^1``."""
    data = _base()
    data["years"] = 2.0  # shares move when the first runs finish, after about 9 months
    flat = _labs(data, labs=_with_all(data, 50.0, investor_elasticity=0.0))
    backed = _labs(data, labs=_with_all(data, 50.0, investor_elasticity=1.0))
    flat, backed = (t.set_index(["step", "lab"]).sort_index() for t in (flat, backed))
    opening = backed.xs(0, level="step")["market_share"]
    previous = backed["market_share"].groupby(level="lab", observed=True).shift(1)
    at_start = backed.index.get_level_values("lab").map(opening).to_numpy(dtype=float)
    standing = (previous / at_start)[previous.notna()]
    funded = backed["funding"][standing.index]
    np.testing.assert_allclose(funded, flat["funding"][standing.index] * standing, rtol=1e-12)
    gained, lost = standing > 1.01, standing < 0.99
    assert gained.any() and lost.any()
    assert (funded[gained] > flat["funding"][gained.index][gained]).all()
