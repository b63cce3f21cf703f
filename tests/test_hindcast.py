"""race hindcast: the economy of 2020 run to 2025 against the published training runs."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.calibrate import (
    TARGET_SOFTWARE_GAMMA,
    fit_funding_scale,
    fit_knowledge_stock,
    with_rnd,
)
from sim.analysis.hindcast import (
    COLUMNS,
    LAST_IN_SAMPLE_YEAR,
    PACKAGED_HINDCAST,
    PUBLISHED_RUNS,
    hindcast,
    log_errors,
    record_by_end_of,
    rms_log_error,
)
from sim.cli.main import main
from sim.config.scenario import load_scenario
from sim.experiments.design import replicate_seeds

ROOT = Path(__file__).resolve().parents[1]
HINDCAST = ROOT / "experiments" / "hindcast_2020.yaml"


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    """``race hindcast`` as a user runs it: the packaged scenario, 20 seeds, figures on."""
    root = tmp_path_factory.mktemp("hindcast")
    assert main(["hindcast", "--results", str(root)]) == 0
    return root / "hindcast_2020_hindcast"


def test_the_table_has_exactly_the_columns_and_years_2020_to_2025(written):
    table = pd.read_csv(written / "hindcast.csv")
    assert tuple(table.columns) == COLUMNS
    assert table["year"].tolist() == list(range(2020, 2026))
    low, median, high = (table[f"frontier_run_flop{s}"] for s in ("_p05", "", "_p95"))
    assert (low > 0).all() and (low <= median).all() and (median <= high).all()
    assert median.is_monotonic_increasing  # "finished by the end of the year" only accumulates


def test_the_figure_is_written_beside_the_table(written):
    for suffix in ("png", "svg"):
        assert (written / f"hindcast.{suffix}").stat().st_size > 10_000


def test_the_packaged_hindcast_is_the_experiment_file():
    assert PACKAGED_HINDCAST.read_text() == HINDCAST.read_text(), (
        "cp experiments/hindcast_2020.yaml sim/data/hindcast_2020.yaml"
    )


def test_calibration_data_end_in_2022_and_later_runs_are_out_of_sample():
    assert {run.in_sample for run in PUBLISHED_RUNS if run.year < 2023} == {True}
    assert {run.in_sample for run in PUBLISHED_RUNS if run.year >= 2023} == {False}
    assert record_by_end_of(2020) == 3.1e23  # GPT-3
    assert record_by_end_of(2022) == 2.7e24  # Minerva
    table = pd.DataFrame({"year": [2021, 2024], "frontier_run_flop": [1.2e25, 5e24]})
    errors = log_errors(table)
    assert errors["in_sample"].tolist() == [True, False]
    np.testing.assert_allclose(errors["log10_ratio"], [1.0, -1.0])
    assert rms_log_error(table, in_sample=True) == pytest.approx(1.0)
    assert rms_log_error(table, in_sample=False) == pytest.approx(1.0)
    assert LAST_IN_SAMPLE_YEAR == 2022


def test_the_shipped_budgets_are_the_in_sample_optimum_and_fit_the_2020_22_record():
    """docs/calibration.md section 12: the budget scale is the one input fitted to 2020-2022."""
    scenario = load_scenario(HINDCAST)
    fit = fit_funding_scale(scenario, [0.8, 1.0, 1.25], replicate_seeds(scenario.seed, 20))
    best = fit.loc[fit["rms_log10_in_sample"].idxmin(), "scale"]
    assert best == 1.0
    assert fit.loc[fit["scale"] == 1.0, "rms_log10_in_sample"].item() < 0.3  # within 2x


def test_logical_compute_counts_the_software_gains_training_flop_does_not():
    scenario = load_scenario(HINDCAST)
    seeds = replicate_seeds(scenario.seed, 3)
    training = hindcast(scenario, seeds)
    logical = hindcast(scenario, seeds, logical=True)
    ratio = logical["frontier_run_flop"] / training["frontier_run_flop"]
    assert (ratio >= 1 - 1e-12).all()
    assert ratio.iloc[-1] > 4 * ratio.iloc[0]  # years of software doublings since 2020


def test_the_knowledge_stock_fit_reproduces_the_shipped_r_and_d_defaults():
    """Refitted from other starting values on the 2025 baseline and the 2020 hindcast, the
    fixed point is the schema's productivity and ideas_harder (docs/calibration.md 10)."""
    late = load_scenario(ROOT / "experiments" / "baseline.yaml")
    shipped = late.rnd
    fit = fit_knowledge_stock(
        with_rnd(late, productivity=1.17, ideas_harder=0.29), load_scenario(HINDCAST)
    )
    assert fit.productivity == pytest.approx(shipped.productivity, rel=0.02)
    assert fit.ideas_harder == pytest.approx(shipped.ideas_harder, rel=0.02)
    assert fit.late_gamma == pytest.approx(TARGET_SOFTWARE_GAMMA, abs=0.02)
    assert fit.early_gamma == pytest.approx(TARGET_SOFTWARE_GAMMA, abs=0.02)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seeds", "0"], "--seeds must be in [1, 1000]"),
        (["--set", "years=-1"], "years"),
        (["--compute", "physical"], "invalid choice: 'physical'"),
    ],
)
def test_bad_input_exits_2_naming_the_field(argv, message, tmp_path, capsys):
    assert main(["hindcast", *argv, "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())
