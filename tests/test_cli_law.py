"""End-to-end tests of ``race law``: output read back against the closed form."""

import subprocess
import sys

import pytest

from sim import law
from sim.cli.main import main


def _rows(output: str) -> list[list[str]]:
    lines = [line.split() for line in output.strip().splitlines()]
    return lines[1:]


def test_time_to_target_table(capsys):
    assert main(["law", "time-to-target", "--gamma", "0", "2", "--r-target", "0.68"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert len(rows) == 2
    for r_target, gamma, kappa, years in rows:
        expected = law.time_to_target(float(r_target), float(gamma), float(kappa))
        assert float(years) == pytest.approx(expected, rel=1e-5)


def test_relative_loss_table(capsys):
    assert main(["law", "relative-loss", "--t", "10", "--gamma", "1", "--kappa", "0.1"]) == 0
    (row,) = _rows(capsys.readouterr().out)
    assert float(row[3]) == pytest.approx(law.relative_loss(10, 1, 0.1), rel=1e-5)


def test_fleet_factor(capsys):
    assert main(["law", "fleet-factor", "--r-target", "0.68"]) == 0
    (row,) = _rows(capsys.readouterr().out)
    assert float(row[2]) == pytest.approx(0.68**-20, rel=1e-5)


def test_optimal(capsys):
    assert main(["law", "optimal", "--compute", "1e24", "--params", "tokens20"]) == 0
    (row,) = _rows(capsys.readouterr().out)
    assert row[0] == "tokens20"
    assert float(row[4]) == pytest.approx(20.0)
    assert float(row[2]) == pytest.approx((1e24 / 120) ** 0.5, rel=1e-5)


def test_params_lists_every_set(capsys):
    assert main(["law", "params"]) == 0
    out = capsys.readouterr().out
    for name in law.PARAMETER_SETS:
        assert name in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["law", "time-to-target", "--r-target", "1.5"], "r_target"),
        (["law", "time-to-target", "--gamma", "-1"], "gamma"),
        (["law", "relative-loss", "--kappa", "nan"], "kappa"),
        (["law", "optimal", "--params", "nope"], "params"),
        (["law", "time-to-target", "--gamma", "abc"], "--gamma"),
        (["law", "frobnicate"], "invalid choice"),
        (["validate", "--kappa", "0"], "kappa"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, needle):
    result = subprocess.run(
        [sys.executable, "-m", "sim.cli", *argv], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert needle in lines[0]
