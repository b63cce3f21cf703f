"""The R&D knowledge stock (docs/model.md 3.8-3.9): directional tests through the engine.

Each test runs a scenario twice, changing one input, with R&D noise off, and
compares the labs' software multipliers ``log2 S`` (or gammas) at the end.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from sim.economy.engine import run_batch
from tests.builders import H100, build

ROOT = Path(__file__).resolve().parents[1]

SLOW_H100 = {**H100, "name": "H100_quarter", "flops": H100["flops"] / 4}
"""An H100 at a quarter of the FLOP/s, same watts and price: less research compute alone."""


def _lab(
    name: str, strategy: str, money: float, units: int, chip: str = "H100", **extra: Any
) -> dict[str, Any]:
    return {"name": name, "region": "us", "strategy": strategy, "cash": money,
            "funding_per_year": money, "buys_projects": False,
            "fleet": [{"chip": chip, "units": units}], **extra}  # fmt: skip


def _economy(*labs: dict[str, Any], years: float = 2.0) -> dict[str, Any]:
    """Labs in one region with ample power, no revenue (budgets are outside funding only),
    no R&D noise; spillovers off unless set."""
    return copy.deepcopy({
        "name": "rnd", "start_year": 2025, "years": years, "steps_per_year": 12, "seed": 3,
        "hardware": {"chips": [H100, SLOW_H100]},
        "chip_suppliers": [{"name": "vendor", "region": "us", "chips": ["H100"]}],
        "energy_suppliers": [{"name": "grid", "region": "us", "capacity_mw": 1e5,
                              "scarcity_slope": 0}],
        "labs": list(labs),
        "rnd": {"noise": 0.0},
        "market": {"initial_size": 0.0},
        "policy": {"spillover_strength": 0.0},
    })  # fmt: skip


def _log2_software(data: dict[str, Any], **changes: Any) -> np.ndarray:
    """Each lab's ``log2 S`` at the end of the run (N,)."""
    return run_batch([build(data, **changes)], [1]).state.labs.log2_software[0]


def _frontier_progress(data: dict[str, Any]) -> float:
    """Doublings per year of the frontier lab's software multiplier over the run."""
    scenario = build(data)
    return float(_log2_software(data).max() / scenario.years)


def test_more_research_compute_gives_faster_software_progress():
    """Same budgets, strategy, GPU count, watts and purchases, so the same R&D dollars:
    the lab whose starting GPUs have 4x the FLOP/s runs 4x the research compute on
    them, a larger Cobb-Douglas R&D input, and gains more software efficiency."""
    data = _economy(_lab("heavy", "turtle", 5e9, 50_000),
                    _lab("light", "turtle", 5e9, 50_000, chip="H100_quarter"))  # fmt: skip
    heavy, light = _log2_software(data)
    assert heavy > 1.05 * light > 0.0


def test_more_rnd_dollars_give_faster_progress_with_diminishing_returns():
    """A 100% subsidy doubles the effective R&D spend rate and nothing else: gamma rises,
    but less than doubles (elasticity dollar_share x returns < 1)."""
    data = _economy(_lab("solo", "turtle", 5e9, 50_000), years=1 / 12)
    without = run_batch([build(data)], [1]).state.labs
    doubled = run_batch([build(data, policy__rd_subsidy_rate=1.0)], [1]).state.labs
    assert doubled.rnd_rate[0, 0] == pytest.approx(2.0 * without.rnd_rate[0, 0])
    ratio = doubled.gamma_software[0, 0] / without.gamma_software[0, 0]
    assert 1.05 < ratio < 1.9
    full = _economy(_lab("solo", "turtle", 5e9, 50_000))
    gained = _log2_software(full, policy__rd_subsidy_rate=1.0)[0] / _log2_software(full)[0]
    assert 1.0 < gained < 2.0


def test_a_larger_knowledge_stock_slows_progress_for_the_same_inputs():
    """Ideas get harder to find: the same lab and inputs starting with twice the stock
    of doublings (historical_gamma 3.2 instead of 1.6 since 2020) progresses slower, and
    does not with ideas_harder 0."""
    data = _economy(_lab("solo", "turtle", 5e9, 50_000))
    usual = _log2_software(data)[0]
    larger = _log2_software(data, rnd__historical_gamma=3.2)[0]
    assert larger < 0.5 * usual
    flat = _log2_software(data, rnd__ideas_harder=0.0, rnd__historical_gamma=3.2)[0]
    assert flat == pytest.approx(_log2_software(data, rnd__ideas_harder=0.0)[0])


def _leader_and_laggard(years: float) -> dict[str, Any]:
    """A frontier lab with exogenous gamma 3 doublings/yr and a small R&D laggard."""
    leader = _lab("leader", "static", 1e9, 1_000, software_gamma=3.0)
    laggard = _lab("laggard", "turtle", 2e8, 2_000)
    return _economy(leader, laggard, years=years)


def test_spillovers_pull_a_laggard_toward_the_frontier():
    """With spillovers the laggard closes part of the gap to the lagged frontier: it ends
    with more software efficiency, nearer the leader."""
    data = _leader_and_laggard(years=3.0)
    off = _log2_software(data)
    on = _log2_software(data, policy__spillover_strength=0.5)
    assert on[0] == pytest.approx(off[0])  # the leader's exogenous gamma is untouched
    assert on[1] > off[1] + 0.2
    assert on[0] - on[1] < off[0] - off[1]


def test_the_spillover_responds_to_the_frontier_of_the_lag_ago():
    """The leader pulls ahead from t = 0, so with a one-year lag the frontier spilling
    over is the start's (no gap) for the first year: the laggard gains nothing from
    spillovers by 0.9 years; without a lag it does; by 2 years it does with the lag too."""
    early = _leader_and_laggard(years=0.9)
    off = _log2_software(early)[1]
    lagged = _log2_software(early, policy__spillover_strength=0.5)[1]
    assert lagged == pytest.approx(off)
    at_once = _log2_software(early, policy__spillover_strength=0.5, rnd__spillover_lag_years=0.0)
    assert at_once[1] > off + 0.05
    late = _leader_and_laggard(years=2.0)
    assert _log2_software(late, policy__spillover_strength=0.5)[1] > _log2_software(late)[1] + 0.05


def test_spillovers_are_on_by_default():
    """The schema's default spillover strength is positive, with a one-year lag."""
    scenario = build(_leader_and_laggard(years=1.0), policy={})
    assert scenario.policy.spillover_strength > 0.0
    assert scenario.rnd.spillover_lag_years == 1.0


def test_an_exogenous_gamma_bypasses_rnd_and_spillovers():
    """A lab with labs[].software_gamma keeps exactly that gamma: log2 S = gamma x years,
    whatever its R&D budget and however far behind the frontier it falls."""
    leader = _lab("leader", "static", 1e9, 1_000, software_gamma=3.0)
    fixed = _lab("fixed", "baseline", 5e9, 20_000, software_gamma=0.7)
    data = _economy(leader, fixed, years=2.0)
    log2_s = _log2_software(data, policy__spillover_strength=2.0, rnd__spillover_lag_years=0.0)
    assert log2_s == pytest.approx([6.0, 1.4])


# Ho et al. 2024 put the frontier's software progress at a doubling every ~8 months
# (95% CI 5-14), 1.5 doublings/yr; the issue asks ~1.6. The band 1.2-2.1 is about
# +-30% around it: well inside the CI (0.86-2.4), wide enough for the calibration's
# rounding and for the labs' budget dynamics the fit does not control.
BAND = (1.2, 2.1)


def test_frontier_progress_is_about_1_6_doublings_a_year_in_the_2025_baseline():
    """The shipped baseline over 2025-2027 (noise off) gives the calibrated rate."""
    data = yaml.safe_load((ROOT / "experiments" / "baseline.yaml").read_text())
    data.update(years=2)
    data["rnd"]["noise"] = 0.0
    assert BAND[0] < _frontier_progress(data) < BAND[1]


def _hindcast_2020() -> dict[str, Any]:
    """The 2020 start: ``experiments/hindcast_2020.yaml`` over 2020-2022, noise off."""
    data = yaml.safe_load((ROOT / "experiments" / "hindcast_2020.yaml").read_text())
    data.update(years=2)
    data["rnd"]["noise"] = 0.0
    return data


def test_frontier_progress_is_about_1_6_doublings_a_year_in_a_2020_start():
    """The same R&D parameters in the 2020 hindcast, V100-scale fleets and its far smaller
    budgets, give the same rate: the smaller inputs meet a smaller knowledge stock."""
    assert BAND[0] < _frontier_progress(_hindcast_2020()) < BAND[1]


def test_without_ideas_getting_harder_the_two_starts_disagree():
    """The calibration needs the stock term: with ideas_harder 0 the 2025 frontier's
    far larger inputs would buy it far faster progress than 2020's."""
    data = yaml.safe_load((ROOT / "experiments" / "baseline.yaml").read_text())
    data.update(years=2)
    data["rnd"].update(noise=0.0, ideas_harder=0.0)
    old = _hindcast_2020()
    old["rnd"]["ideas_harder"] = 0.0
    assert _frontier_progress(data) > 1.5 * _frontier_progress(old)
