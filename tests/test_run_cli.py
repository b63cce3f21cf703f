"""End-to-end: ``race run`` writes every table, the scenario and figures, read back here."""

import pandas as pd
import pytest
import yaml

from sim.cli.main import main
from sim.economy.tables import LAB_COLUMNS, MARKET_COLUMNS
from tests.builders import small_economy_dict

TABLES = ("labs", "markets", "edges", "economy", "ledger", "lab_summary", "summary")
FIGURES = ("loss", "market_share", "compute", "chip_market", "energy")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    config = folder / "small.yaml"
    config.write_text(yaml.safe_dump({**small_economy_dict(), "years": 1}))
    out = folder / "out"
    assert main(["run", str(config), "--seed", "11", "--results", str(folder), "--out", "out"]) == 0
    return out


def test_every_table_is_written_and_readable(run_dir):
    for name in TABLES:
        assert not pd.read_parquet(run_dir / f"{name}.parquet").empty
    labs = pd.read_parquet(run_dir / "labs.parquet")
    assert list(labs.columns) == [*LAB_COLUMNS, "realized_gamma_trailing"]
    assert labs["step"].max() == 12
    assert set(labs["lab"]) == {"us_hare", "us_turtle", "cn_base", "cn_adapt"}
    markets = pd.read_parquet(run_dir / "markets.parquet")
    assert list(markets.columns) == list(MARKET_COLUMNS)


def test_summary_is_one_row_with_the_seed_used(run_dir):
    summary = pd.read_parquet(run_dir / "summary.parquet")
    assert len(summary) == 1
    assert summary.loc[0, "seed"] == 11
    assert summary.loc[0, "leader"] in {"us_hare", "us_turtle", "cn_base", "cn_adapt"}
    lab_summary = pd.read_parquet(run_dir / "lab_summary.parquet")
    assert len(lab_summary) == 4
    assert lab_summary["realized_gamma"].notna().all()


def test_scenario_is_saved_with_defaults_filled_in(run_dir):
    saved = yaml.safe_load((run_dir / "scenario.yaml").read_text())
    assert saved["seed"] == 11
    assert saved["hardware"]["mfu"] == 0.4
    assert saved["policy"]["carbon_tax"] == 0.0


def test_figures_are_png(run_dir):
    for name in FIGURES:
        data = (run_dir / f"{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(data) > 10_000


def test_default_output_folder_is_results_slash_name(tmp_path, monkeypatch):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**small_economy_dict(), "name": "tiny", "years": 0.25}))
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(config), "--no-figures"]) == 0
    assert (tmp_path / "results" / "tiny" / "labs.parquet").exists()
    assert not (tmp_path / "results" / "tiny" / "loss.png").exists()


@pytest.mark.parametrize("out", ["../escape", "/tmp/elsewhere", "a/../../b", "."])
def test_output_folder_cannot_leave_the_results_root(tmp_path, out):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**small_economy_dict(), "years": 0.25}))
    argv = ["run", str(config), "--results", str(tmp_path / "results"), "--out", out]
    assert main(argv) == 2
    assert not (tmp_path / "escape").exists()


def test_set_overrides_any_field(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({**small_economy_dict(), "years": 0.25}))
    argv = ["run", str(config), "--results", str(tmp_path), "--out", "o", "--no-figures"]
    assert main([*argv, "--set", "policy.carbon_tax=75", "--set", "labs.*.spend_rate=0.2"]) == 0
    saved = yaml.safe_load((tmp_path / "o" / "scenario.yaml").read_text())
    assert saved["policy"]["carbon_tax"] == 75
    assert {lab["spend_rate"] for lab in saved["labs"]} == {0.2}
    assert main([*argv, "--set", "policy.carbon_tax=-1"]) == 2
    assert main([*argv, "--set", "policy.no_such_lever=1"]) == 2
    assert main([*argv, "--set", "labs.9.cash=1"]) == 2


def test_rerun_replaces_outputs_atomically(run_dir, tmp_path):
    before = pd.read_parquet(run_dir / "labs.parquet")
    config = tmp_path / "again.yaml"
    config.write_text(yaml.safe_dump({**small_economy_dict(), "years": 1}))
    argv = ["run", str(config), "--seed", "11", "--no-figures"]
    assert main([*argv, "--results", str(run_dir.parent), "--out", run_dir.name]) == 0
    pd.testing.assert_frame_equal(before, pd.read_parquet(run_dir / "labs.parquet"))
    assert not list(run_dir.glob("*.tmp"))
