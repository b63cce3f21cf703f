"""End-to-end tests of the paper validation (sim.validate) and the atomic writers.

The writers are :mod:`sim.experiments.io`'s.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiments.io import atomic_write_csv, atomic_write_text
from sim.law import fleet_factor, relative_loss, time_to_target
from sim.validate import SCENARIOS, TABLE2_COLUMNS, format_summary, run_validation

OUTPUTS = (
    "figure1.csv",
    "figure1.png",
    "figure3.csv",
    "figure3.png",
    "table2.csv",
    "chinchilla.csv",
    "report.md",
)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
KAPPA = 0.05


@pytest.fixture(scope="module")
def validation(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    out_dir = tmp_path_factory.mktemp("validation") / "nested" / "out"
    return out_dir, run_validation(out_dir, kappa=KAPPA, dt=1 / 12)


def _read(out_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out_dir / name)


def test_every_output_is_written(validation: tuple[Path, pd.DataFrame]) -> None:
    out_dir, _ = validation
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(OUTPUTS)


def test_pngs_are_valid(validation: tuple[Path, pd.DataFrame]) -> None:
    out_dir, _ = validation
    for name in ("figure1.png", "figure3.png"):
        data = (out_dir / name).read_bytes()
        assert len(data) > 1000
        assert data.startswith(PNG_MAGIC)


def test_figure1_matches_relative_loss(validation: tuple[Path, pd.DataFrame]) -> None:
    frame = _read(validation[0], "figure1.csv")
    assert list(frame.columns) == ["gamma", "t_years", "R"]
    assert sorted(frame["gamma"].unique()) == [0.0, 0.5, 1.0, 2.0, 3.0]
    assert frame["t_years"].min() == 0.0 and frame["t_years"].max() == 20.0
    expected = relative_loss(frame["t_years"].to_numpy(), frame["gamma"].to_numpy(), KAPPA)
    np.testing.assert_allclose(frame["R"], expected, rtol=1e-12, atol=0)


def test_figure3_matches_time_to_target(validation: tuple[Path, pd.DataFrame]) -> None:
    frame = _read(validation[0], "figure3.csv")
    assert list(frame.columns) == ["R_target", "gamma", "years"]
    assert sorted(frame["R_target"].unique()) == [0.6, 0.68, 0.7, 0.8, 0.9]
    assert frame["gamma"].min() == 0.0 and frame["gamma"].max() == 3.0
    expected = time_to_target(frame["R_target"].to_numpy(), frame["gamma"].to_numpy(), KAPPA)
    np.testing.assert_allclose(frame["years"], expected, rtol=1e-12, atol=0)
    static = frame[(frame["gamma"] == 0.0) & (frame["R_target"] == 0.6)]["years"].iloc[0]
    assert static > 1000


def test_table2_shape_and_closed_form(validation: tuple[Path, pd.DataFrame]) -> None:
    out_dir, returned = validation
    table = _read(out_dir, "table2.csv")
    assert tuple(table.columns) == TABLE2_COLUMNS
    assert list(table["scenario"]) == [s.name for s in SCENARIOS]
    pd.testing.assert_frame_equal(table, returned, check_exact=False, rtol=1e-15)
    np.testing.assert_allclose(table["R_target"], 0.68 / table["L0"], rtol=1e-15)
    timed = table[table["scenario"] != "unfold_in_space"]
    expected = time_to_target(timed["R_target"].to_numpy(), timed["gamma"].to_numpy(), KAPPA)
    np.testing.assert_allclose(timed["years_closed_form"], expected, rtol=1e-15)
    np.testing.assert_allclose(table["years_simulated"], table["years_closed_form"], rtol=1e-6)


def test_table2_paper_inputs(validation: tuple[Path, pd.DataFrame]) -> None:
    table = _read(validation[0], "table2.csv").set_index("scenario")
    factor = float(fleet_factor(0.68, KAPPA))
    assert table.loc["unfold_in_space", "years_closed_form"] == 1.0
    assert table.loc["unfold_in_space", "gpus"] == pytest.approx(100_000 * factor, rel=1e-12)
    assert table.loc["turtle", ["gpus", "gamma", "L0"]].tolist() == [10_000, 3.0, 1.12]
    assert table.loc["hare", ["gpus", "gamma", "L0"]].tolist() == [150_000, 2.0, 0.95]
    assert table.loc["baseline", "years_closed_form"] == pytest.approx(19.2, abs=0.01)
    assert table.loc["hare", "years_closed_form"] == pytest.approx(5.06, abs=0.005)


def test_gpu_factor_only_for_static_rows(validation: tuple[Path, pd.DataFrame]) -> None:
    out_dir, _ = validation
    table = _read(out_dir, "table2.csv")
    static = table["gamma"] == 0.0
    np.testing.assert_allclose(table.loc[static, "gpu_factor"], fleet_factor(0.68, KAPPA))
    assert table.loc[~static, "gpu_factor"].isna().all()
    lines = (out_dir / "table2.csv").read_text().splitlines()
    assert all(line.endswith(",") for line in lines[3:])


def test_chinchilla_tokens_per_param(validation: tuple[Path, pd.DataFrame]) -> None:
    frame = _read(validation[0], "chinchilla.csv")
    assert list(frame.columns) == ["params", "compute", "N", "D", "tokens_per_param", "loss"]
    assert sorted(frame["compute"].unique()) == [10.0**e for e in range(21, 28)]
    np.testing.assert_allclose(frame["compute"], 6 * frame["N"] * frame["D"], rtol=1e-12)
    at = frame[frame["compute"] == 1e24].set_index("params")["tokens_per_param"]
    assert at["hoffmann2022"] == pytest.approx(98, rel=0.05)
    assert at["besiroglu2024"] == pytest.approx(18, rel=0.05)
    assert at["tokens20"] == pytest.approx(20, rel=1e-9)


def test_report_mentions_everything(validation: tuple[Path, pd.DataFrame]) -> None:
    report = (validation[0] / "report.md").read_text()
    for scenario in SCENARIOS:
        assert scenario.name in report
    assert "kappa = 0.05" in report
    assert f"{float(fleet_factor(0.68, KAPPA)):,.1f}" in report
    assert "3,000" in report
    for number in ("1.1220", "0.9799", "5.059", "2.78", "97.7", "18.1"):
        assert number in report


def test_format_summary(validation: tuple[Path, pd.DataFrame]) -> None:
    summary = format_summary(validation[1])
    lines = summary.splitlines()
    assert len(lines) == 2 + len(SCENARIOS)
    assert "closed-form" in lines[0] and "simulated" in lines[0]
    for scenario, line in zip(SCENARIOS, lines[2:], strict=True):
        assert line.startswith(scenario.name)
        assert line.rstrip().endswith("-") == (scenario.gamma > 0)


def test_other_kappa_changes_the_numbers(
    tmp_path: Path, validation: tuple[Path, pd.DataFrame]
) -> None:
    kappa = 0.1
    table = run_validation(tmp_path, kappa=kappa, dt=1 / 4)
    expected = time_to_target(table["R_target"].to_numpy(), table["gamma"].to_numpy(), kappa)
    np.testing.assert_allclose(table["years_closed_form"][1:], expected[1:], rtol=1e-15)
    np.testing.assert_allclose(table["years_simulated"], table["years_closed_form"], rtol=1e-6)
    assert table["gpu_factor"].iloc[0] == pytest.approx(0.68**-10, rel=1e-12)
    assert (table["years_closed_form"][1:] < validation[1]["years_closed_form"][1:]).all()
    figure1 = _read(tmp_path, "figure1.csv")
    np.testing.assert_allclose(
        figure1["R"], relative_loss(figure1["t_years"], figure1["gamma"], kappa), rtol=1e-12
    )
    assert "kappa = 0.1" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize("kappa", [0.0, -0.05, math.nan, math.inf, 2.0])
def test_invalid_kappa_writes_nothing(tmp_path: Path, kappa: float) -> None:
    out_dir = tmp_path / "out"
    with pytest.raises(ValueError, match=r"kappa must be in \(0.0, 0.9\], got"):
        run_validation(out_dir, kappa=kappa)
    assert not out_dir.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dt", "1e-9"], "dt must be in [1/365, 1] years"),
        (["--dt", "0"], "dt must be in [1/365, 1] years"),
        (["--dt", "5"], "dt must be in [1/365, 1] years"),
        (["--dt", "nan"], "dt must be in [1/365, 1] years"),
        (["--kappa", "2"], "kappa must be in (0.0, 0.9]"),
        (["--kappa", "0.01"], "at most 200,000 are allowed: raise kappa or dt"),
        (["--dt", "0.0028"], "at most 200,000 are allowed: raise kappa or dt"),
    ],
)
def test_validate_refuses_inputs_that_would_hang_or_break_it(tmp_path, argv, message):
    command = [sys.executable, "-m", "sim.cli", "validate", "--results", str(tmp_path), *argv]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "validation").exists()


class _ExplodingFrame:
    """A DataFrame stand-in whose ``to_csv`` fails after writing part of its output."""

    def to_csv(self, handle, **kwargs) -> None:
        handle.write("partial,row\n")
        raise RuntimeError("disk on fire")


def test_atomic_csv_keeps_original_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "table.csv"
    atomic_write_csv(pd.DataFrame({"a": [1, 2]}), target)
    original = target.read_bytes()
    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write_csv(_ExplodingFrame(), target)
    assert target.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_atomic_text_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "note.txt"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second ü")
    assert target.read_text(encoding="utf-8") == "second ü"
    assert [p.name for p in tmp_path.iterdir()] == ["note.txt"]
