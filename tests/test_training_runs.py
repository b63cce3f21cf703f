"""Frontier training runs: the run length the economy chooses, deployment, the runs table."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from sim import law
from sim.config.scenario import load_scenario, parse_scenario
from sim.experiments.runs import run_scenario
from tests.builders import build, closed_form_dict, small_economy_dict

STEPS_PER_YEAR = 12


def deadline_lab(gamma: float, years: float = 6.0, usable_share: float = 0.0) -> dict:
    """The one-lab economy with gains fixed at a run's start and a release deadline at the end."""
    scenario = closed_form_dict(gamma, STEPS_PER_YEAR, years)
    scenario["labs"][0]["training"] = {
        "usable_share": usable_share, "deadline_years": years, "expected_hardware_gamma": 0.0,
    }  # fmt: skip
    return scenario


@pytest.mark.parametrize("gamma", [0.5, 1.0, 2.0, 3.0])
def test_run_ending_at_the_deadline_has_the_analytical_optimal_length(gamma):
    result = run_scenario(build(deadline_lab(gamma)))
    runs = result.tables["training_runs"]
    final = runs[runs["end_year"] == runs["end_year"].max()].iloc[0]
    assert final["end_year"] == pytest.approx(2025 + 6.0)
    assert final["years"] == pytest.approx(law.optimal_run_length(gamma), abs=1 / STEPS_PER_YEAR)
    assert result.summary["run_length_years"] == pytest.approx(final["years"])


@pytest.mark.parametrize("usable_share", [0.25, 0.5])
def test_usable_gains_lengthen_the_optimal_run(usable_share):
    runs = run_scenario(build(deadline_lab(1.0, usable_share=usable_share))).tables[
        "training_runs"
    ]
    expected = law.optimal_run_length(1.0, usable_share)
    assert expected > law.optimal_run_length(1.0)
    assert runs["years"].iloc[-1] == pytest.approx(expected, abs=1 / STEPS_PER_YEAR)


def test_faster_expected_efficiency_growth_shortens_runs():
    lengths = []
    for gamma in (0.5, 1.5):
        scenario = closed_form_dict(gamma, STEPS_PER_YEAR, 8.0)
        scenario["labs"][0]["training"] = {"usable_share": 0.0, "expected_hardware_gamma": 0.0}
        runs = run_scenario(build(scenario)).tables["training_runs"]
        lengths.append(runs.loc[runs["finished"], "years"].median())
    assert lengths[1] < lengths[0]
    assert lengths[0] == pytest.approx(law.optimal_run_length(0.5), abs=1 / STEPS_PER_YEAR)


def test_the_served_model_changes_only_when_a_run_finishes():
    scenario = closed_form_dict(1.0, STEPS_PER_YEAR, 4.0)
    scenario["labs"][0]["training"] = {"run_years": 1.0}
    scenario["labs"][0]["initial_compute"] = 1e24
    labs = run_scenario(build(scenario)).tables["labs"]
    changed = labs["compute"].diff().fillna(0.0) != 0.0
    assert list(labs.loc[changed, "step"]) == [12, 24, 36, 48]
    assert labs["loss"].iloc[1:12].nunique() == 1
    # while a run trains, its compute grows every step; the served model waits for it
    assert (labs["run_compute"].iloc[1:12].diff().iloc[1:] > 0).all()


def test_runs_table_lists_each_run_with_its_compute_and_loss():
    result = run_scenario(build(small_economy_dict()))
    runs = result.tables["training_runs"]
    assert list(runs.columns) == [
        "lab", "region", "start_year", "end_year", "years", "chips", "gpus",
        "logical_compute", "training_flop", "loss", "finished",
    ]  # fmt: skip
    finished = runs[runs["finished"]]
    assert len(finished) >= 4
    assert (finished["end_year"] > finished["start_year"]).all()
    assert (finished["logical_compute"] > 0).all() and (finished["gpus"] > 0).all()
    assert set(finished["chips"]) <= {"H100", "B200"}
    # the served model's compute at the end is the lab's best finished run (or its start)
    labs = result.lab_summary.set_index("lab")
    best = finished.groupby("lab", observed=True)["logical_compute"].max()
    for lab, flop in best.items():
        assert labs.loc[lab, "final_compute"] >= flop * (1 - 1e-12)
        assert labs.loc[lab, "largest_run_flop"] == pytest.approx(flop)
    frontier = result.tables["economy"]["frontier_run_flop"]
    assert frontier.is_monotonic_increasing
    assert frontier.iloc[-1] == pytest.approx(finished["logical_compute"].max())


def test_training_flop_is_the_gpus_work_and_software_raises_only_logical_compute():
    gamma, run_years = 1.0, 0.5
    scenario = closed_form_dict(gamma, STEPS_PER_YEAR, 3.0)
    scenario["labs"][0]["training"] = {"run_years": run_years}  # gains fixed at each start
    runs = run_scenario(build(scenario)).tables["training_runs"]
    gpu_work = 100_000 * 989e12 * 0.40 * law.SECONDS_PER_YEAR * run_years  # fleet x MFU x time
    assert len(runs) == 6
    assert runs["training_flop"].to_numpy() == pytest.approx(gpu_work, rel=1e-12)
    multiplier = 2.0 ** (gamma * (runs["start_year"] - runs["start_year"].iloc[0]))
    assert runs["logical_compute"].to_numpy() == pytest.approx(gpu_work * multiplier, rel=1e-12)


def test_a_compute_cap_binds_each_run_not_the_lab_history():
    scenario = closed_form_dict(1.0, STEPS_PER_YEAR, 3.0)
    scenario["labs"][0]["training"] = {"run_years": 0.5}
    cap = 4e26
    scenario["policy"] = {"compute_threshold": {"flop": cap, "cap": True}}
    runs = run_scenario(build(scenario)).tables["training_runs"]
    assert len(runs) == 6
    assert (runs["logical_compute"] <= cap * (1 + 1e-12)).all()
    assert ((runs["logical_compute"] / cap - 1).abs() < 1e-9).all()  # every run hits the cap
    # the GPU work counted stops where the cap stops the run
    assert (runs["training_flop"] <= runs["logical_compute"] * (1 + 1e-12)).all()
    assert runs["training_flop"].is_monotonic_decreasing


def test_training_config_errors_name_the_field():
    scenario = closed_form_dict(1.0)
    scenario["labs"][0]["training"] = {"usable_share": 1.5}
    with pytest.raises(ValueError, match=r"labs\.0\.training\.usable_share"):
        parse_scenario(scenario)


def test_law_cli_prints_the_optimal_run_length():
    out = subprocess.run(
        [sys.executable, "-m", "sim.cli", "law", "optimal-run-length", "--gamma", "2"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "0.721348" in out
    bad = subprocess.run(
        [sys.executable, "-m", "sim.cli", "law", "optimal-run-length", "--usable-share", "2"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 2 and "usable_share" in bad.stderr and "Traceback" not in bad.stderr


def test_baseline_labs_train_runs_of_about_nine_months():
    scenario = load_scenario("experiments/baseline.yaml").model_copy(update={"years": 3.0})
    runs = run_scenario(scenario).tables["training_runs"]
    first = runs[runs["finished"]].groupby("lab", observed=True).head(2)
    assert 0.4 <= first["years"].median() <= 1.5  # Epoch AI: several months, ~9 optimal


def test_run_length_sweep_writes_the_chosen_length_per_run(tmp_path):
    from sim.cli.main import main

    assert main(["sweep", "experiments/run_length.yaml", "--results", str(tmp_path)]) == 0
    runs = pd.read_parquet(tmp_path / "run_length" / "runs.parquet")
    gammas = runs["labs.0.software_gamma"].to_numpy()
    assert sorted(gammas) == [0.5, 1.0, 2.0, 3.0]
    expected = [law.optimal_run_length(g) for g in gammas]
    assert runs["run_length_years"].to_numpy() == pytest.approx(expected, abs=1 / 12)
