"""Categorical and log-scale levers and explicit value lists, through ``race sweep`` and the API."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli.main import main
from sim.experiments.design import design_points, load_experiment, plan_runs
from tests.builders import small_economy_dict, sweep_quietly


def _base() -> dict[str, Any]:
    """A four-lab economy over one quarter: runs in well under a second."""
    return {**small_economy_dict(), "years": 0.25}


def _write(folder: Path, levers: list[dict[str, Any]], **fields: Any) -> Path:
    experiment = {"name": "levers", "base": _base(), "levers": levers, "backend": "serial"}
    path = folder / "levers.yaml"
    path.write_text(yaml.safe_dump({**experiment, **fields}, sort_keys=False))
    return path


def _refused(path: Path, tmp_path: Path, capsys) -> str:
    """Run ``race sweep``; assert exit 2 without a traceback; return stderr."""
    capsys.readouterr()
    assert sweep_quietly(path, tmp_path / "results") == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def _runs(tmp_path: Path) -> pd.DataFrame:
    return pd.read_parquet(tmp_path / "results" / "levers" / "runs.parquet")


# ------------------------------------------------------------------ categorical


def test_categorical_levers_sweep_every_combination(tmp_path):
    levers = [
        {"path": "law.params", "values": ["kaplan", "hoffmann2022"]},
        {"path": "labs.0.strategy", "values": ["hare", "turtle"]},
    ]
    assert sweep_quietly(_write(tmp_path, levers), tmp_path / "results") == 0
    runs = _runs(tmp_path)
    pairs = set(zip(runs["law.params"], runs["labs.0.strategy"], strict=True))
    assert pairs == {("kaplan", "hare"), ("kaplan", "turtle"),
                     ("hoffmann2022", "hare"), ("hoffmann2022", "turtle")}  # fmt: skip
    assert (runs["status"] == "ok").all()
    loss = runs.groupby("law.params")["mean_final_loss"].mean()
    assert loss["kaplan"] != pytest.approx(loss["hoffmann2022"]), "the category took effect"


def test_a_switch_is_a_categorical_lever(tmp_path):
    levers = [{"path": "labs.*.buys_projects", "values": [True, False]}]
    experiment, _ = load_experiment(_write(tmp_path, levers))
    assert experiment.levers[0].categorical
    assert [point["labs.*.buys_projects"] for point in design_points(experiment)] == [True, False]


def test_a_bad_category_names_the_field_and_the_allowed_values(tmp_path, capsys):
    levers = [{"path": "law.params", "values": ["kaplan", "kaplann"]}]
    err = _refused(_write(tmp_path, levers), tmp_path, capsys)
    assert "levers.0 (law.params=kaplann)" in err
    for allowed in ("kaplan", "hoffmann2022", "besiroglu2024", "tokens20"):
        assert allowed in err


def test_a_bad_category_in_explicit_points_is_refused(tmp_path, capsys):
    points = [{"labs.0.strategy": "hare"}, {"labs.0.strategy": "tortoise"}]
    err = _refused(_write(tmp_path, [], design="points", points=points), tmp_path, capsys)
    assert "points.1" in err and "tortoise" in err and "turtle" in err


def test_points_take_categories(tmp_path):
    points = [{"law.params": "kaplan", "policy.carbon_tax": 0},
              {"law.params": "hoffmann2022", "policy.carbon_tax": "1e2"}]  # fmt: skip
    experiment, _ = load_experiment(_write(tmp_path, [], design="points", points=points))
    assert design_points(experiment) == [
        {"law.params": "kaplan", "policy.carbon_tax": 0.0},
        {"law.params": "hoffmann2022", "policy.carbon_tax": 100.0},
    ]


@pytest.mark.parametrize("design", ["sobol", "morris"])
def test_sobol_and_morris_refuse_categories_and_value_lists(tmp_path, capsys, design):
    levers = [
        {"path": "law.params", "values": ["kaplan", "hoffmann2022"]},
        {"path": "policy.carbon_tax", "values": [0, 50, 100]},
    ]
    err = _refused(_write(tmp_path, levers, design=design), tmp_path, capsys)
    assert f"levers.0 (law.params): design {design}" in err
    assert "cannot take categories" in err and "grid, points or lhs" in err


def test_lhs_draws_categories_evenly(tmp_path):
    levers = [
        {"path": "labs.0.strategy", "values": ["hare", "turtle", "adaptive"]},
        {"path": "policy.carbon_tax", "low": 0, "high": 100},
    ]
    experiment, _ = load_experiment(_write(tmp_path, levers, design="lhs", samples=12))
    points = design_points(experiment)
    drawn = pd.Series([p["labs.0.strategy"] for p in points]).value_counts()
    assert drawn.to_dict() == {"hare": 4, "turtle": 4, "adaptive": 4}, "LHS stratifies categories"
    taxes = [p["policy.carbon_tax"] for p in points]
    assert all(isinstance(t, float) and 0 <= t <= 100 for t in taxes)


# ------------------------------------------------------------------ numbers


def test_a_number_written_as_text_is_a_number(tmp_path):
    """YAML reads 1e7 (no dot) as text: a numeric field still gets the number."""
    path = tmp_path / "levers.yaml"
    path.write_text(yaml.safe_dump({"name": "levers", "base": _base(), "backend": "serial"})
                    + "levers:\n  - path: policy.carbon_tax\n    values: [0, 1e2]\n")  # fmt: skip
    experiment, _ = load_experiment(path)
    assert experiment.levers[0].values == [0.0, 100.0]
    assert not experiment.levers[0].categorical


def test_a_name_on_a_numeric_field_is_refused(tmp_path, capsys):
    levers = [{"path": "policy.carbon_tax", "values": [0, "high"]}]
    err = _refused(_write(tmp_path, levers), tmp_path, capsys)
    assert "policy.carbon_tax takes numbers, got 'high'" in err


# ------------------------------------------------------------------ log scale


def test_log_grid_levels_are_even_in_log10(tmp_path):
    levers = [{"path": "policy.carbon_tax", "low": 1, "high": 1000, "levels": 4, "scale": "log"}]
    assert sweep_quietly(_write(tmp_path, levers), tmp_path / "results") == 0
    taxes = sorted(_runs(tmp_path)["policy.carbon_tax"])
    assert taxes == pytest.approx([1.0, 10.0, 100.0, 1000.0])


@pytest.mark.parametrize("design", ["lhs", "sobol", "morris"])
def test_log_samples_are_uniform_in_log10(tmp_path, design):
    levers = [
        {"path": "policy.carbon_tax", "low": 0.1, "high": 1000, "scale": "log"},
        {"path": "labs.*.spend_rate", "low": 0.2, "high": 0.6},
    ]
    fields = {"design": design, "samples": 64}
    experiment, _ = load_experiment(_write(tmp_path, levers, **fields))
    taxes = np.array([p["policy.carbon_tax"] for p in design_points(experiment)])
    assert taxes.min() >= 0.1 and taxes.max() <= 1000
    decades = np.histogram(np.log10(taxes), bins=4, range=(-1, 3))[0] / len(taxes)
    assert decades.min() > 0.15, f"each decade gets about a quarter, got {decades}"
    assert np.median(taxes) < 100, "a linear draw would put the median near 500"


@pytest.mark.parametrize(
    ("lever", "message"),
    [
        ({"low": 0, "high": 100, "scale": "log"}, "scale log needs low > 0"),
        ({"low": -1, "high": 100, "scale": "log"}, "scale log needs low > 0"),
        ({"values": [0, 10, 100], "scale": "log"}, "scale log needs values > 0"),
    ],
)
def test_log_scale_refuses_values_at_or_below_zero(tmp_path, capsys, lever, message):
    err = _refused(_write(tmp_path, [{"path": "policy.carbon_tax", **lever}]), tmp_path, capsys)
    assert "levers.0" in err and message in err


def test_scale_must_fit_the_values(tmp_path, capsys):
    levers = [{"path": "law.params", "values": ["kaplan", "tokens20"], "scale": "log"}]
    err = _refused(_write(tmp_path, levers), tmp_path, capsys)
    assert "scale log needs numbers" in err
    levers = [{"path": "policy.carbon_tax", "low": 0, "high": 10, "scale": "categorical"}]
    assert "scale categorical needs a values list" in _refused(
        _write(tmp_path, levers), tmp_path, capsys
    )


def test_sensitivity_runs_on_a_log_lever(tmp_path, capsys):
    levers = [
        {"path": "policy.carbon_tax", "low": 1, "high": 1000, "scale": "log"},
        {"path": "labs.*.spend_rate", "low": 0.2, "high": 0.6},
    ]
    path = _write(tmp_path, levers, design="morris", samples=4, outputs=["mean_final_loss"])
    argv = ["sensitivity", str(path), "--results", str(tmp_path / "results"), "--quiet"]
    assert main([*argv, "--backend", "serial"]) == 0
    indices = pd.read_csv(tmp_path / "results" / "levers" / "sensitivity.csv")
    mu = indices[indices["index"] == "mu_star"].set_index("lever")["value"]
    assert set(mu.index) == {"policy.carbon_tax", "labs.*.spend_rate"}
    assert all(math.isfinite(v) for v in mu)
    runs = pd.read_parquet(tmp_path / "results" / "levers" / "runs.parquet")
    assert runs["policy.carbon_tax"].between(1, 1000).all()
    assert len(plan_runs(load_experiment(path)[0])) == len(runs)
