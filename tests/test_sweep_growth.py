"""Sweeps can grow: more replications or Sobol samples run only the new runs."""

from pathlib import Path

import pandas as pd
import pytest

from tests.builders import sweep_quietly, tiny_experiment

TIMING = ["duration_s"]


SOBOL = {
    "design": "sobol",
    "levers": [
        {"path": "policy.carbon_tax", "low": 0.0, "high": 100.0},
        {"path": "policy.rd_subsidy_rate", "low": 0.0, "high": 0.5},
    ],
    "replications": 1,
}


def _runs(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "runs.parquet").drop(columns=TIMING)


@pytest.mark.parametrize(
    ("small", "large", "stored", "planned"),
    [
        ({"replications": 2}, {"replications": 3}, 4, 6),
        ({**SOBOL, "samples": 2}, {**SOBOL, "samples": 4}, 8, 16),
    ],
    ids=["replications", "sobol-samples"],
)
def test_a_grown_sweep_reuses_the_stored_runs_and_equals_a_fresh_one(
    tmp_path, capsys, small, large, stored, planned
):
    assert sweep_quietly(tiny_experiment(tmp_path / "a", **small), tmp_path / "grown") == 0
    capsys.readouterr()
    assert sweep_quietly(tiny_experiment(tmp_path / "b", **large), tmp_path / "grown") == 0
    out = capsys.readouterr().out
    assert f"{planned} runs planned, {stored} already stored, {planned - stored} run" in out
    assert sweep_quietly(tiny_experiment(tmp_path / "b", **large), tmp_path / "fresh") == 0
    pd.testing.assert_frame_equal(
        _runs(tmp_path / "fresh" / "tiny"), _runs(tmp_path / "grown" / "tiny")
    )


def test_a_shrunk_sweep_keeps_its_runs_table_to_the_planned_runs(tmp_path, capsys):
    assert sweep_quietly(tiny_experiment(tmp_path / "a", replications=3), tmp_path / "r") == 0
    assert sweep_quietly(tiny_experiment(tmp_path / "b", replications=2), tmp_path / "r") == 0
    assert "4 runs planned, 4 already stored, 0 run" in capsys.readouterr().out
    assert sorted(_runs(tmp_path / "r" / "tiny")["replicate"].unique()) == [0, 1]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"master_seed": 43}, "master_seed: 42 -> 43"),
        ({"design": "lhs", "samples": 4, "levers": SOBOL["levers"]}, "samples: 2 -> 4"),
    ],
    ids=["another-seed", "lhs-resampled"],
)
def test_a_genuinely_different_experiment_is_refused_naming_the_fields(
    tmp_path, capsys, change, named
):
    first = {**change, "samples": 2} if "samples" in change else {}
    assert sweep_quietly(tiny_experiment(tmp_path / "a", **first), tmp_path / "r") == 0
    capsys.readouterr()
    assert sweep_quietly(tiny_experiment(tmp_path / "b", **change), tmp_path / "r") == 2
    err = capsys.readouterr().err
    assert "the experiment differs in: " in err and named in err, err
    assert "choose another --out or remove the folder" in err
