"""The shipped experiments/*.yaml: each loads and validates, stays small, and table2 runs."""

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim import law
from sim.analysis.trajectories import time_to_target
from sim.cli.main import main
from sim.config.scenario import load_scenario
from sim.experiments.design import design_size, load_experiment
from sim.experiments.store import SweepStore

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
FILES = sorted(EXPERIMENTS.glob("*.yaml"))
MAX_PLANNED_RUNS = 500  # a few minutes on 2 cores at ~10-15 baseline runs/s


def _is_experiment(path: Path) -> bool:
    return "base" in yaml.safe_load(path.read_text(encoding="utf-8"))


EXPERIMENT_FILES = [path for path in FILES if _is_experiment(path)]
SCENARIO_FILES = [path for path in FILES if not _is_experiment(path)]


def test_both_kinds_are_shipped():
    names = {path.stem for path in FILES}
    assert {"table2", "power_cap_sweep", "export_controls_whatif", "carbon_tax_sweep"} <= names
    assert {"rd_subsidy_sobol", "baseline", "baseline_no_export_controls"} <= names
    assert EXPERIMENT_FILES and SCENARIO_FILES


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_scenario_loads(path):
    scenario = load_scenario(path)
    assert scenario.name == path.stem


@pytest.mark.parametrize("path", EXPERIMENT_FILES, ids=lambda p: p.stem)
def test_experiment_loads_and_stays_small(path):
    experiment, base = load_experiment(path)
    assert experiment.name == path.stem
    assert experiment.description.strip()
    planned = design_size(experiment) * experiment.replications
    assert 1 <= planned <= MAX_PLANNED_RUNS


def test_no_export_controls_scenario_is_the_baseline_without_them():
    """It extends baseline.yaml: the validated scenarios differ only in the controls."""
    baseline = load_scenario(EXPERIMENTS / "baseline.yaml").model_dump()
    alt = load_scenario(EXPERIMENTS / "baseline_no_export_controls.yaml").model_dump()
    controls = alt["policy"].pop("export_controls")
    status_quo = baseline["policy"].pop("export_controls")
    assert controls["restricted_regions"] == []
    assert status_quo["restricted_regions"] == {2022.75: ["cn"]}
    assert status_quo["max_tpp"] == {2022.75: 1e7, 2023.75: 4800}
    for key in ("name", "description"):
        baseline.pop(key), alt.pop(key)
    assert alt == baseline


def test_the_baseline_is_the_status_quo_of_2025():
    """The 2023 controls are in force at the start; the EU threshold from 2025-08."""
    baseline = load_scenario(EXPERIMENTS / "baseline.yaml")
    controls = baseline.policy.export_controls
    assert (controls.restricted_regions, controls.max_tpp) == (["cn"], 4800)
    assert baseline.policy.compute_threshold.flop is None
    assert baseline.change_years() == [pytest.approx(2025 + 7 / 12)]
    assert baseline.policy_at(2025.6).compute_threshold.flop == 1e25


PAPER_TABLE2_YEARS = {3.0: (0.6071, 5.15), 2.0: (0.7158, 5.06), 0.5: (0.68, 19.2)}


@pytest.fixture(scope="module")
def table2(tmp_path_factory) -> Path:
    """The results folder of ``race sweep experiments/table2.yaml``."""
    results = tmp_path_factory.mktemp("table2")
    args = ["sweep", str(EXPERIMENTS / "table2.yaml"), "--results", str(results), "--quiet"]
    assert main([*args, "--backend", "serial"]) == 0
    return results / "table2"


def test_table2_reproduces_the_closed_form_and_the_paper_end_to_end(table2):
    store = SweepStore(table2)
    runs = store.read_runs().set_index("run_id")
    assert (runs["status"] == "ok").all() and len(runs) == 4
    steps = store.read_steps("labs")
    assert steps["run_id"].nunique() == 4, "table2.yaml records the steps itself"
    for run_id, labs in steps.groupby("run_id"):
        gamma = runs.loc[run_id, "labs.0.software_gamma"]
        for target in (0.68, 0.6071, 0.7158):
            years = time_to_target(labs["t"], labs["relative_excess_loss"], target)
            expected = float(law.time_to_target(target, gamma, 0.05))
            if expected > 20:  # beyond the horizon, e.g. unfold in time (~2237 years)
                assert math.isnan(years)
            else:
                assert years == pytest.approx(expected, rel=1e-6)
        if gamma in PAPER_TABLE2_YEARS:
            target, paper_years = PAPER_TABLE2_YEARS[gamma]
            years = time_to_target(labs["t"], labs["relative_excess_loss"], target)
            assert years == pytest.approx(paper_years, abs=0.01)


TABLE2_ROWS = {  # point_name: fleet, gamma, {target: the paper's years (None: beyond 20 years)}
    "unfold in time": (100000, 0.0, {0.68: None}),
    "baseline": (100000, 0.5, {0.68: 19.20}),
    "turtle": (10000, 3.0, {0.6071: 5.15}),
    "hare": (150000, 2.0, {0.7158: 5.06}),
}


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_table2_writes_the_papers_table_2(table2, suffix):
    path = table2 / f"points.{suffix}"
    table = pd.read_csv(path) if suffix == "csv" else pd.read_parquet(path)
    years = [f"years_to_R{target:g}[lab=solo]" for target in (0.68, 0.6071, 0.7158)]
    levers = ["labs.0.fleet.0.units", "labs.0.software_gamma"]
    assert list(table.columns) == ["point", "point_name", *levers, "runs_ok", *years]
    assert table["point_name"].tolist() == list(TABLE2_ROWS)
    for row in table.itertuples(index=False):
        fleet, gamma, paper = TABLE2_ROWS[row.point_name]
        assert (row[2], row[3], row.runs_ok) == (fleet, gamma, 1)
        for target, expected in paper.items():
            value = row[table.columns.get_loc(f"years_to_R{target:g}[lab=solo]")]
            if expected is None:
                assert math.isnan(value)
            else:
                assert round(value, 2) == expected
        for target, column in zip((0.68, 0.6071, 0.7158), years, strict=True):
            closed_form = float(law.time_to_target(target, gamma, 0.05))
            value = row[table.columns.get_loc(column)]
            assert math.isnan(value) if closed_form > 20 else value == pytest.approx(closed_form)
