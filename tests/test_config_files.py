"""Config files as a user writes them (issue 15, items 7, 11 and 14).

Duplicate keys, horizons of zero steps, YAML syntax errors and files of the
wrong kind are refused with exit 2 and a message that says where; ``race law``
answers at t = inf with the limit. Every case goes through the ``race`` CLI or
the Python API.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim import law
from sim.cli import build_parser, main
from sim.config import ConfigError, parse_scenario, read_yaml
from tests.builders import small_economy_dict

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
BASELINE = EXPERIMENTS / "baseline.yaml"


def _rejected(argv: list[str], capsys) -> str:
    """Run ``race`` in-process; assert exit 2 and a clean message; return stderr."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("race: error:") and "Traceback" not in err
    return err


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------ duplicate keys


def _with_second_policy(tmp_path: Path) -> Path:
    """The baseline with a second top-level ``policy:`` block appended."""
    text = BASELINE.read_text(encoding="utf-8")
    assert "\npolicy:" not in text
    text += "policy:\n  carbon_tax: 50\npolicy:\n  carbon_tax: 0\n"
    return _write(tmp_path / "twice.yaml", text)


def test_a_duplicate_key_is_refused_naming_the_key_and_both_lines(tmp_path, capsys):
    """PyYAML keeps the last of two equal keys: the carbon tax of 50 would vanish."""
    path = _with_second_policy(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    first, second = [i + 1 for i, line in enumerate(lines) if line == "policy:"]
    err = _rejected(["run", str(path), "--results", str(tmp_path / "r")], capsys)
    assert f"line {second}, column 1: not valid YAML: duplicate key 'policy'" in err
    assert f"(first given at line {first})" in err
    assert not (tmp_path / "r").exists()


def test_a_duplicate_key_in_a_sweeps_base_is_refused(tmp_path, capsys):
    _with_second_policy(tmp_path)
    experiment = {"name": "dup", "base": "twice.yaml",
                  "levers": [{"path": "policy.carbon_tax", "values": [0, 10]}]}  # fmt: skip
    path = _write(tmp_path / "dup.yaml", yaml.safe_dump(experiment))
    err = _rejected(["sweep", str(path), "--results", str(tmp_path / "r"), "--quiet"], capsys)
    assert "twice.yaml" in err and "duplicate key 'policy'" in err


def test_a_nested_duplicate_key_is_refused(tmp_path):
    path = _write(tmp_path / "x.yaml", "a:\n  b: 1\n  c: 2\n  b: 3\n")
    with pytest.raises(ConfigError, match=r"line 4, column 3: .*duplicate key 'b'"):
        read_yaml(path)


def test_a_merge_key_may_still_be_overridden(tmp_path):
    """``<<: *anchor`` then a key of the anchor is YAML's override, not a duplicate."""
    path = _write(tmp_path / "x.yaml", "a: &a {x: 1, y: 2}\nb:\n  <<: *a\n  x: 3\n")
    assert read_yaml(path) == {"a": {"x": 1, "y": 2}, "b": {"x": 3, "y": 2}}


def test_a_duplicate_key_in_a_set_value_is_refused(tmp_path, capsys):
    override = "policy={carbon_tax: 1, carbon_tax: 2}"
    err = _rejected(["run", str(BASELINE), "--set", override, "--results", str(tmp_path)], capsys)
    assert "duplicate key 'carbon_tax'" in err


# ---------------------------------------------------------------- zero steps


def test_a_horizon_of_zero_steps_is_refused(tmp_path, capsys):
    """0.01 years at 12 steps a year rounds to 0 steps: a run with no step at all."""
    argv = ["run", str(BASELINE), "--set", "years=0.01", "--results", str(tmp_path)]
    err = _rejected(argv, capsys)
    assert "years: 0.01 years at 12 steps per year is 0.12 steps, which rounds to 0" in err
    assert not any(tmp_path.iterdir())


def test_one_step_is_enough():
    data = {**small_economy_dict(), "years": 1 / 12}
    assert parse_scenario(data).n_steps == 1
    with pytest.raises(ConfigError, match="rounds to 0"):
        parse_scenario({**data, "years": 0.4 / 12})


# ------------------------------------------------------------- law at t = inf


def _law_rows(argv: list[str], capsys) -> list[list[str]]:
    assert main(["law", *argv]) == 0
    captured = capsys.readouterr()
    assert "Warning" not in captured.err, captured.err
    return [line.split() for line in captured.out.strip().splitlines()[1:]]


def test_race_law_relative_loss_at_t_inf_is_the_limit_zero(capsys):
    """R(t) -> 0 as t -> inf for every gamma >= 0 (kappa > 0); it printed nan."""
    rows = _law_rows(["relative-loss", "--t", "inf", "--gamma", "0", "0.5", "3"], capsys)
    assert [row[3] for row in rows] == ["0", "0", "0"]


def test_race_law_at_infinite_gamma_is_the_limit(capsys):
    """Infinitely fast efficiency: no time to any target, R = 0 after any t > 0."""
    rows = _law_rows(["time-to-target", "--gamma", "inf", "--r-target", "0.68"], capsys)
    assert rows[0][3] == "0"
    rows = _law_rows(["relative-loss", "--t", "0", "1", "--gamma", "inf"], capsys)
    assert [row[3] for row in rows] == ["1", "0"]


def test_the_law_functions_give_their_limits_at_infinity():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert law.relative_loss(np.inf, 0.5, 0.05) == 0.0
        assert law.compute_growth(np.inf, 0.0) == np.inf
        assert law.efficiency_integral(np.inf, 1 / 12, 0.0) == pytest.approx(1 / 12)
        assert law.efficiency_integral(5.0, 0.0, np.inf) == 0.0
        assert law.loss_at_time(np.inf, 1.0, 0.05, 3.0, 1.5) == 1.5
        finite = law.relative_loss(np.array([0.0, 10.0, np.inf]), 1.0, 0.05)
    assert finite[0] == 1.0 and finite[1] == pytest.approx(law.relative_loss(10.0, 1.0, 0.05))
    assert finite[2] == 0.0


# ------------------------------------------------------------------ messages


def test_a_scenario_given_to_race_sweep_is_named_as_the_wrong_kind(tmp_path, capsys):
    err = _rejected(["sweep", str(BASELINE), "--results", str(tmp_path)], capsys)
    assert err == f"race: error: {BASELINE} is a scenario, not an experiment: use race run\n"


@pytest.mark.parametrize("command", ["sensitivity", "sweep"])
def test_every_experiment_command_names_a_scenario_as_such(tmp_path, capsys, command):
    err = _rejected([command, str(BASELINE), "--results", str(tmp_path)], capsys)
    assert "is a scenario, not an experiment: use race run" in err


def test_an_experiment_given_to_race_run_is_named_as_the_wrong_kind(tmp_path, capsys):
    sweep = EXPERIMENTS / "power_cap_sweep.yaml"
    err = _rejected(["run", str(sweep), "--results", str(tmp_path)], capsys)
    assert err == f"race: error: {sweep} is an experiment, not a scenario: use race sweep\n"
    argv = ["compare", str(BASELINE), str(sweep), "--results", str(tmp_path)]
    assert "is an experiment, not a scenario: use race sweep" in _rejected(argv, capsys)


def test_an_experiment_as_the_base_of_an_experiment_is_named_as_such(tmp_path, capsys):
    sweep = EXPERIMENTS / "power_cap_sweep.yaml"
    path = _write(tmp_path / "x.yaml", f"name: x\nbase: {sweep}\n")
    err = _rejected(["sweep", str(path), "--results", str(tmp_path / "r")], capsys)
    assert f"{sweep} is an experiment, not a scenario: use a scenario as the base of" in err


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("name: broken\nlabs: [1, 2\n", "line 3, column 1: not valid YAML: expected ',' or ']'"),
        ("name: b\n  years: 1\n", "line 2, column 8: not valid YAML: mapping values are not"),
        ("name: b\npolicy: {carbon_tax: 1\n", "line 3, column 1: not valid YAML"),
    ],
)
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_yaml_syntax_errors_give_line_and_column(tmp_path, capsys, command, text, where):
    path = _write(tmp_path / "broken.yaml", text)
    err = _rejected([command, str(path), "--results", str(tmp_path / "r")], capsys)
    assert str(path) in err and where in err


def _schema(argv: list[str], capsys) -> dict:
    assert main(["schema", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_race_schema_prints_the_scenario_schema_by_default(capsys):
    assert _schema([], capsys)["title"] == "Scenario"
    assert _schema(["scenario"], capsys)["title"] == "Scenario"
    assert _schema(["experiment"], capsys)["title"] == "Experiment"


def _commands(parser: argparse.ArgumentParser, prefix: list[str]) -> list[list[str]]:
    """Every command line of the parser: ``[]``, ``["run"]``, ``["law", "params"]``, ..."""
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, [*prefix, name])
    return found


COMMANDS = _commands(build_parser(), [])


def test_every_command_is_walked():
    assert len(COMMANDS) > 15 and ["sensitivity"] in COMMANDS and ["law", "params"] in COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "race")
def test_no_help_shows_a_literal_double_percent(capsys, command):
    """argparse %-formats help= strings but not description=, so 95%% showed as is."""
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: race") and "%%" not in out
