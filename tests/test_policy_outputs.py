"""Per-lab and per-region outputs: stored by sweeps, selectable in compare, sensitivity and
experiments, refused by name when they do not exist (issue 15 item 12)."""

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli.main import main
from sim.economy.outputs import breakdown_names, region_reduce
from sim.experiments.dictionary import describe_output
from tests.builders import build, small_economy_dict

CN_LABS = ("cn_base", "cn_adapt")
US_LABS = ("us_hare", "us_turtle")


def _base(**changes) -> dict:
    return {**small_economy_dict(), "years": 0.5, **changes}


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A 2-point x 2-replicate sweep of the small economy (two regions, four labs)."""
    folder = tmp_path_factory.mktemp("policy")
    data = {
        "name": "policy",
        "base": _base(),
        "levers": [{"path": "policy.carbon_tax", "values": [0.0, 150.0]}],
        "replications": 2,
        "backend": "serial",
        "outputs": ["min_final_loss[region=cn]", "final_loss[lab=us_hare]"],
    }
    path = folder / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["sweep", str(path), "--results", str(folder), "--quiet", "--no-figures"]) == 0
    return folder, pd.read_parquet(folder / "policy" / "runs.parquet")


def test_sweep_stores_every_per_lab_and_per_region_output(swept):
    _, runs = swept
    scenario = build(_base())
    names = breakdown_names(scenario)
    assert set(names) <= set(runs.columns)
    assert "years_to_R0.9[lab=cn_base]" in names and "sum_final_compute[region=us]" in names
    assert "sum_final_loss[region=cn]" not in names, "a loss does not add up over labs"
    for name in names:
        assert describe_output("runs", name), f"{name} has no unit and description"


def test_region_aggregates_are_over_the_regions_labs(swept):
    _, runs = swept
    cn = runs[[f"final_loss[lab={lab}]" for lab in CN_LABS]]
    assert runs["min_final_loss[region=cn]"].tolist() == cn.min(axis=1).tolist()
    assert runs["mean_final_loss[region=cn]"].to_numpy() == pytest.approx(cn.mean(axis=1))
    us = runs[[f"final_compute[lab={lab}]" for lab in US_LABS]].sum(axis=1)
    assert runs["sum_final_compute[region=us]"].to_numpy() == pytest.approx(us.to_numpy())
    every = runs[[f"final_loss[lab={lab}]" for lab in (*CN_LABS, *US_LABS)]].min(axis=1)
    assert runs["leader_final_loss"].tolist() == every.tolist()


def test_per_lab_outputs_match_the_lab_summary_of_race_run(swept, tmp_path):
    _, runs = swept
    row = runs.iloc[-1]
    scenario = tmp_path / "one.yaml"
    scenario.write_text(yaml.safe_dump(_base(name="one")))
    argv = ["run", str(scenario), "--results", str(tmp_path), "--no-figures",
            "--set", f"seed={int(row['seed'])}",
            "--set", f"policy.carbon_tax={row['policy.carbon_tax']}"]  # fmt: skip
    assert main(argv) == 0
    labs = pd.read_parquet(tmp_path / "one" / "lab_summary.parquet").set_index("lab")
    for lab in (*CN_LABS, *US_LABS):
        assert row[f"final_loss[lab={lab}]"] == labs.loc[lab, "final_loss"]
        years = labs.loc[lab, "years_to_R0.9"]
        stored = row[f"years_to_R0.9[lab={lab}]"]
        assert (math.isnan(years) and math.isnan(stored)) or stored == years


def test_years_to_target_over_a_region_are_nan_unless_every_lab_reached_it():
    years = np.array([[1.0, np.nan, 3.0], [2.0, 4.0, 9.0]])
    mask = np.array([[True, True, False], [True, True, False]])
    assert region_reduce("min", years, mask, strict=False).tolist() == [1.0, 2.0]
    assert np.isnan(region_reduce("max", years, mask, strict=True)[0])
    assert region_reduce("max", years, mask, strict=True)[1] == 4.0
    assert region_reduce("mean", years, mask, strict=False).tolist() == [1.0, 3.0]
    nothing = np.zeros((1, 2), dtype=bool)
    assert np.isnan(region_reduce("sum", np.ones((1, 2)), nothing, strict=False)[0])


def _scenarios(folder):
    base = folder / "base.yaml"
    alt = folder / "alt.yaml"
    base.write_text(yaml.safe_dump(_base(name="base")))
    alt.write_text(yaml.safe_dump(_base(name="alt", policy={"carbon_tax": 200.0})))
    return base, alt


def test_compare_takes_per_lab_and_per_region_outputs(tmp_path, capsys):
    base, alt = _scenarios(tmp_path)
    wanted = ["min_final_loss[region=cn]", "sum_total_spend[region=us]",
              "years_to_R0.9[lab=us_hare]"]  # fmt: skip
    argv = ["compare", str(base), str(alt), "--replications", "2", "--results", str(tmp_path),
            "--out", "cmp", "--quiet", "--outputs", *wanted]  # fmt: skip
    assert main(argv) == 0
    assert "min_final_loss[region=cn]" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "cmp" / "compare.csv").set_index("output")
    assert table.index.tolist() == wanted
    pairs = pd.read_csv(tmp_path / "cmp" / "pairs.csv")
    spend = table.loc["sum_total_spend[region=us]"]
    differences = pairs["sum_total_spend[region=us]_diff"]
    assert spend["mean_difference"] == pytest.approx(differences.mean())
    assert spend["n"] == 2


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("final_loss[lab=nope]", "no lab 'nope'"),
        ("min_final_loss[region=eu]", "region 'eu'"),
        ("sum_final_loss[region=cn]", "final_loss over a region takes min, max, mean"),
        ("mean_final_loss[lab=cn_base]", "a single lab takes no aggregate"),
        ("years_to_R0.5[lab=cn_base]", "no lab quantity 'years_to_R0.5'"),
        ("best_loss", "not a run output"),
    ],
)
def test_compare_refuses_an_unknown_output_listing_the_names(tmp_path, capsys, name, reason):
    base, alt = _scenarios(tmp_path)
    argv = ["compare", str(base), str(alt), "--results", str(tmp_path), "--outputs", name]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "race: error: --outputs: unknown outputs" in err and reason in err
    assert "LAB one of us_hare, us_turtle, cn_base, cn_adapt; REGION one of us, cn" in err
    assert "Traceback" not in err


def test_an_experiment_naming_an_unknown_output_is_exit_2(tmp_path, capsys):
    data = {"name": "bad", "base": _base(), "outputs": ["final_loss[lab=cn_hare]"]}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["sweep", str(path), "--results", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "outputs" in err and "no lab 'cn_hare'" in err and "LAB one of us_hare" in err
    assert not (tmp_path / "bad").exists()


@pytest.fixture(scope="module")
def sobol(tmp_path_factory):
    folder = tmp_path_factory.mktemp("policy_sobol")
    data = {
        "name": "policy_sobol",
        "base": _base(years=0.25),
        "levers": [
            {"path": "policy.carbon_tax", "low": 0.0, "high": 200.0},
            {"path": "policy.rd_subsidy_rate", "low": 0.0, "high": 1.0},
        ],
        "design": "sobol",
        "samples": 4,
        "backend": "serial",
        "outputs": ["mean_realized_gamma[region=cn]"],
    }
    path = folder / "sobol.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, folder


def test_sensitivity_analyses_per_region_outputs(sobol, capsys):
    path, folder = sobol
    argv = ["sensitivity", str(path), "--results", str(folder), "--quiet"]
    assert main(argv) == 0
    indices = pd.read_csv(folder / "policy_sobol" / "sensitivity.csv")
    assert set(indices["output"]) == {"mean_realized_gamma[region=cn]"}
    assert main([*argv, "--outputs", "sum_total_spend[region=us]", "final_cash[lab=cn_base]"]) == 0
    assert "16 already stored, 0 run" in capsys.readouterr().out
    indices = pd.read_csv(folder / "policy_sobol" / "sensitivity.csv")
    assert set(indices["output"]) == {"sum_total_spend[region=us]", "final_cash[lab=cn_base]"}
    assert main([*argv, "--outputs", "final_cash[lab=mars]"]) == 2
    assert "no lab 'mars'" in capsys.readouterr().err


def test_sweep_writes_a_points_table_of_the_outputs_mean_per_point(swept):
    folder, runs = swept
    points = pd.read_csv(folder / "policy" / "points.csv")
    outputs = ["min_final_loss[region=cn]", "final_loss[lab=us_hare]"]
    assert list(points.columns) == ["point", "policy.carbon_tax", "runs_ok", *outputs]
    assert points["policy.carbon_tax"].tolist() == [0.0, 150.0]
    assert points["runs_ok"].tolist() == [2, 2]
    means = runs.groupby("point")[outputs].mean()
    assert points[outputs].to_numpy() == pytest.approx(means.to_numpy(), rel=1e-12)
    stored = pd.read_parquet(folder / "policy" / "points.parquet")
    assert list(stored.columns) == list(points.columns)
    assert stored[outputs].to_numpy() == pytest.approx(points[outputs].to_numpy(), rel=1e-12)


@pytest.mark.parametrize(
    "changes",
    [
        {"point_names": ["one"]},
        {"point_names": ["a", "b"], "design": "grid", "points": None,
         "levers": [{"path": "policy.carbon_tax", "values": [0, 1]}]},
    ],
)  # fmt: skip
def test_point_names_must_name_each_point_of_a_points_design(tmp_path, capsys, changes):
    points = [{"policy.carbon_tax": 0.0}, {"policy.carbon_tax": 9.0}]
    data = {"name": "named", "base": _base(), "design": "points", "points": points, **changes}
    path = tmp_path / "named.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in data.items() if v is not None}))
    assert main(["sweep", str(path), "--results", str(tmp_path), "--quiet"]) == 2
    assert "point_names" in capsys.readouterr().err
