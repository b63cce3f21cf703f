"""race sensitivity: Sobol and Morris indices on known functions, and end to end on the model."""

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from SALib.test_functions import Ishigami

from sim.analysis.sensitivity import INDEX_COLUMNS, MissingRuns, sensitivity_indices
from sim.cli.main import main
from sim.experiments.design import Experiment, design_points
from tests.builders import small_economy_dict, sweep_quietly

Y = "mean_final_loss"  # any summary output name will do for a synthetic response


def _experiment(design: str = "sobol", bounds=((0.0, 1.0), (0.0, 1.0)), **changes) -> Experiment:
    levers = [{"path": f"x{i + 1}", "low": lo, "high": hi} for i, (lo, hi) in enumerate(bounds)]
    data = {"name": "synthetic", "base": {}, "levers": levers, "design": design,
            "samples": 512, "master_seed": 3, "outputs": [Y], **changes}  # fmt: skip
    return Experiment.model_validate(data)


def _runs(experiment: Experiment, response, replicate_noise=(0.0,)) -> pd.DataFrame:
    """A runs table as the store holds it: one row per design point and replicate."""
    points = pd.DataFrame(design_points(experiment))
    x = points.to_numpy()
    rows = []
    for r, noise in enumerate(replicate_noise):
        frame = points.assign(point=range(len(points)), replicate=r, status="ok")
        rows.append(frame.assign(**{Y: response(x) + noise}))
    return pd.concat(rows, ignore_index=True)


def _values(indices: pd.DataFrame, index: str) -> pd.Series:
    return indices[indices["index"] == index].set_index("lever")["value"]


def test_sobol_of_a_linear_function():
    experiment = _experiment()
    indices = sensitivity_indices(_runs(experiment, lambda x: 4 * x[:, 0] + x[:, 1]), experiment)
    assert list(indices.columns) == INDEX_COLUMNS
    assert _values(indices, "S1")["x1"] == pytest.approx(16 / 17, abs=0.03)
    assert _values(indices, "S1")["x2"] == pytest.approx(1 / 17, abs=0.03)
    assert _values(indices, "ST")["x1"] == pytest.approx(16 / 17, abs=0.03)
    assert (indices["conf"] > 0).all() and np.isfinite(indices["conf"]).all()


def test_sobol_of_ishigami_with_second_order():
    pi = math.pi
    experiment = _experiment(bounds=[(-pi, pi)] * 3, samples=1024, second_order=True)
    indices = sensitivity_indices(_runs(experiment, Ishigami.evaluate), experiment)
    s1, st = _values(indices, "S1"), _values(indices, "ST")
    assert s1.to_numpy() == pytest.approx([0.314, 0.442, 0.0], abs=0.06)
    assert st.to_numpy() == pytest.approx([0.558, 0.442, 0.244], abs=0.06)
    s2 = _values(indices, "S2")
    assert list(s2.index) == ["x1 & x2", "x1 & x3", "x2 & x3"]
    assert s2["x1 & x3"] == pytest.approx(0.244, abs=0.1)


def test_morris_of_a_linear_function():
    experiment = _experiment("morris", samples=20)
    indices = sensitivity_indices(_runs(experiment, lambda x: 4 * x[:, 0] + x[:, 1]), experiment)
    assert _values(indices, "mu_star").to_numpy() == pytest.approx([4.0, 1.0])
    assert _values(indices, "sigma").to_numpy() == pytest.approx([0.0, 0.0], abs=1e-9)
    mu_star = indices[indices["index"] == "mu_star"]
    assert np.isfinite(mu_star["conf"]).all()
    assert indices[indices["index"] == "sigma"]["conf"].isna().all()


def test_replicates_are_averaged_per_point():
    experiment = _experiment(samples=64)
    response = lambda x: 4 * x[:, 0] + x[:, 1]  # noqa: E731
    clean = sensitivity_indices(_runs(experiment, response), experiment)
    noisy = sensitivity_indices(_runs(experiment, response, (-5.0, 5.0)), experiment)
    pd.testing.assert_frame_equal(clean, noisy)


def test_failed_runs_are_skipped_and_points_without_ok_runs_named():
    experiment = _experiment(samples=64)
    runs = _runs(experiment, lambda x: 4 * x[:, 0] + x[:, 1], (0.0, 0.0))
    runs.loc[(runs["point"] == 5) & (runs["replicate"] == 0), ["status", Y]] = ["failed", np.nan]
    assert len(sensitivity_indices(runs, experiment)) == 4
    runs.loc[(runs["point"].isin([5, 9])), "status"] = "failed"
    with pytest.raises(MissingRuns, match=r"2 of 256 design points .*point 5 \(x1=.*point 9"):
        sensitivity_indices(runs, experiment)


def test_other_designs_and_unknown_outputs_are_rejected():
    grid = Experiment.model_validate(
        {"name": "g", "base": {}, "levers": [{"path": "x1", "values": [0, 1]}]}
    )
    with pytest.raises(ValueError, match="sobol or morris"):
        sensitivity_indices(pd.DataFrame(), grid)
    with pytest.raises(ValueError, match="unknown"):
        sensitivity_indices(pd.DataFrame(), _experiment(), ["no_such_output"])


# ------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sensitivity")
    data = {
        "name": "tiny_sobol",
        "base": {**small_economy_dict(), "years": 0.25},
        "levers": [
            {"path": "policy.carbon_tax", "low": 0.0, "high": 200.0},
            {"path": "policy.rd_subsidy_rate", "low": 0.0, "high": 1.0},
        ],
        "design": "sobol",
        "samples": 4,
        "master_seed": 11,
        "backend": "serial",
        "outputs": ["total_emissions_t", "mean_final_loss"],
    }
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, folder / "results"


def _run(path, results, *extra):
    return main(["sensitivity", str(path), "--results", str(results), "--quiet", *extra])


def test_cli_writes_indices_and_figure(tiny, capsys):
    path, results = tiny
    assert _run(path, results) == 0
    out = capsys.readouterr().out
    assert "16 runs planned" in out and "S1" in out and "ST" in out
    folder = results / "tiny_sobol"
    indices = pd.read_csv(folder / "sensitivity.csv")
    assert list(indices.columns) == INDEX_COLUMNS
    assert len(indices) == 2 * 2 * 2  # outputs x levers x (S1, ST)
    assert set(indices["index"]) == {"S1", "ST"}
    assert set(indices["lever"]) == {"policy.carbon_tax", "policy.rd_subsidy_rate"}
    assert (folder / "sensitivity.png").read_bytes().startswith(b"\x89PNG")
    assert len(pd.read_parquet(folder / "runs.parquet")) == 16


def test_cli_reuses_stored_runs_and_takes_outputs(tiny, capsys):
    path, results = tiny
    assert sweep_quietly(path, results, "--out", "swept") == 0
    capsys.readouterr()
    assert _run(path, results, "--out", "swept", "--outputs", "hhi_compute") == 0
    assert "16 already stored, 0 run" in capsys.readouterr().out
    indices = pd.read_csv(results / "swept" / "sensitivity.csv")
    assert set(indices["output"]) == {"hhi_compute"}


def test_cli_exits_1_naming_points_without_ok_runs(tiny, monkeypatch, capsys):
    import sim.experiments.sweep

    real = sim.experiments.sweep.run_scenario_data

    def fail_point_3(base, run, name):
        if run.point == 3:
            raise RuntimeError("boom")
        return real(base, run, name)

    monkeypatch.setattr(sim.experiments.sweep, "run_scenario_data", fail_point_3)
    path, results = tiny
    assert _run(path, results, "--out", "failing") == 1
    assert "1 of 16 design points have no successful run: point 3 (policy.carbon_tax=" in (
        capsys.readouterr().err
    )
    assert not (results / "failing" / "sensitivity.csv").exists()


@pytest.mark.parametrize(
    "extra", [["--set", "design=grid"], ["--outputs", "nope"], ["--workers", "0"], ["--out", ".."]]
)
def test_cli_usage_errors_exit_2(tiny, extra, capsys):
    path, results = tiny
    assert _run(path, results, *extra) == 2
    assert "race: error:" in capsys.readouterr().err
