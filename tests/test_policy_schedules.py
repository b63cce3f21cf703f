"""Policy levers over time (issue 13 item 4): a value from a date on, in YAML and --set.

Each test runs the engine (or the CLI) on the small economy and reads what a
user reads: the edges, labs and runs tables, the exit code and the message.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.config.scenario import ConfigError, load_scenario, parse_scenario
from sim.economy.engine import run_batch
from sim.economy.model import RaceModel
from sim.economy.tables import run_tables
from tests.builders import build, small_economy_dict


def _base() -> dict[str, Any]:
    data = small_economy_dict()
    data["rnd"]["noise"] = 0.0
    return data


def _from_west_to_cn(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    edges = tables["edges"]
    chosen = (edges["supplier"] == "west") & edges["lab"].astype(str).str.startswith("cn")
    return edges[chosen & (edges["step"] > 0)].groupby("step")[["quantity", "max_tpp"]].sum()


def test_a_dated_export_control_binds_only_after_its_date():
    """Before 2026-07 the controlled run trades as the uncontrolled one; from then on its
    Chinese labs face the TPP threshold and their fleets fall behind."""
    free = RaceModel(build(_base())).run().tables()
    dated = RaceModel(build(_base(), policy__export_controls={
        "restricted_regions": {"2026-07": ["cn"]}, "max_tpp": 0})).run().tables()  # fmt: skip
    before, after = _from_west_to_cn(free), _from_west_to_cn(dated)
    first = 19  # the step starting at 2026-07 (2025 + 18/12) holds row 19
    pd.testing.assert_frame_equal(before.loc[: first - 1], after.loc[: first - 1])
    assert before.loc[first:, "quantity"].sum() > 0
    assert after.loc[first:, "quantity"].sum() == 0  # max_tpp 0 bans the trade
    assert (after.loc[first:, "max_tpp"] == 0).all()
    cn = dated["labs"]["lab"].astype(str).str.startswith("cn")
    free_cn = free["labs"]["lab"].astype(str).str.startswith("cn")
    last = dated["labs"]["step"].max()
    flops = dated["labs"][cn & (dated["labs"]["step"] == last)]["fleet_flops"].sum()
    free_flops = free["labs"][free_cn & (free["labs"]["step"] == last)]["fleet_flops"].sum()
    assert flops < free_flops


def test_a_carbon_tax_schedule_taxes_from_each_date_on():
    """{2026: 50, 2027: 100}: the tax per tonne emitted is 0 in 2025, 50 in 2026, 100 after."""
    tables = RaceModel(build(_base(), policy__carbon_tax={2026: 50, 2027: 100})).run().tables()
    paid = tables["labs"].groupby("step")["spend_carbon_tax"].sum()
    emitted = tables["economy"].set_index("step")["emissions_t"]
    per_tonne = (paid / emitted).loc[1:]
    np.testing.assert_allclose(per_tonne.loc[1:12], 0.0)
    np.testing.assert_allclose(per_tonne.loc[13:24], 50.0)
    np.testing.assert_allclose(per_tonne.loc[25:36], 100.0)


def test_a_batch_of_runs_with_different_dates_gives_each_its_own_result():
    """The batch's epochs are the union of its runs' dates; a run's results do not change."""
    dates = [{2026: 80}, {2027.5: 80}, 0.0]
    scenarios = [build(_base(), policy__carbon_tax=d) for d in dates]
    together = run_batch(scenarios, [1, 1, 1])
    for i, scenario in enumerate(scenarios):
        alone = run_batch([scenario], [1])
        for name in ("labs", "edges", "training_runs"):
            pd.testing.assert_frame_equal(run_tables(together, i)[name], run_tables(alone, 0)[name])


@pytest.mark.parametrize(
    "key, year",
    [(2026, 2026.0), (2026.5, 2026.5), ("2026-07", 2026.5), ("2026.5", 2026.5),
     (datetime.date(2026, 1, 1), 2026.0)],
)  # fmt: skip
def test_dates_are_years_months_or_days(key: Any, year: float):
    scenario = build(_base(), policy__rd_subsidy_rate={key: 0.5})
    assert scenario.change_years() == [year]
    assert scenario.policy.rd_subsidy_rate == 0.0
    assert scenario.policy_at(year).rd_subsidy_rate == 0.5


def test_a_schedule_survives_a_dump_and_a_constant_replaces_it():
    scenario = build(_base(), policy__power_caps={"us": {2026: 500, 2027: 300}})
    dumped = scenario.model_dump(mode="json")
    assert dumped["policy"]["power_caps"]["us"] == {"2026.0": 500, "2027.0": 300}
    again = parse_scenario(yaml.safe_load(yaml.safe_dump(dumped)))
    assert again == scenario and again.policy_at(2027.2).power_caps == {"us": 300}
    dumped["policy"]["power_caps"]["us"] = 400
    constant = parse_scenario(dumped)
    assert constant.policy_schedule == {} and constant.policy.power_caps == {"us": 400}


def test_a_value_in_force_at_the_start_is_the_policy_readers_see():
    scenario = build(_base(), policy__carbon_tax={2020: 30, 2030: 90})
    assert scenario.policy.carbon_tax == 30
    assert scenario.change_years() == []  # 2030 is past the 3-year horizon


def test_set_takes_a_schedule(tmp_path: Path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(_base()))
    scenario = load_scenario(path, ["policy.carbon_tax={2026-07: 25}"])
    assert scenario.policy_at(2026.6).carbon_tax == 25
    assert scenario.policy_at(2026.4).carbon_tax == 0


@pytest.mark.parametrize(
    "value, expected",
    [({2026: -5}, "policy.carbon_tax: Input should be greater than or equal to 0"),
     ({2026: "high"}, "policy.carbon_tax: Input should be a valid number"),
     ({"us": {2026: 5}}, "policy.carbon_tax: Input should be a valid number")],
)  # fmt: skip
def test_a_bad_scheduled_value_names_the_field_and_its_date(value, expected, tmp_path: Path):
    with pytest.raises(ConfigError) as raised:
        build(_base(), policy__carbon_tax=value)
    assert expected in str(raised.value)


def test_a_scheduled_region_is_checked_at_its_date():
    with pytest.raises(ConfigError) as raised:
        build(_base(), policy__tariffs={"CN": {2026: 0.25}})
    assert "policy.tariffs.CN: unknown region 'CN'" in str(raised.value)
    assert "(from 2026)" in str(raised.value)


def test_race_run_refuses_a_bad_schedule_with_exit_2(tmp_path: Path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(_base()))
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", str(path), "--out", str(tmp_path / "out"),
         "--set", "policy.grid_buildout_multiplier={2026: 99}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "policy.grid_buildout_multiplier" in done.stderr and "(from 2026)" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
