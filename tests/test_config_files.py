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
from sim.cli.main import build_parser, main
from sim.config.scenario import ConfigError, load_scenario, parse_scenario, read_yaml
from sim.experiments.design import load_experiment
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
    """The baseline (which ends with its status-quo ``policy:``) with a second one appended."""
    text = BASELINE.read_text(encoding="utf-8")
    assert text.count("\npolicy:") == 1
    text += "policy:\n  carbon_tax: 0\n"
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


# ------------------------------------------------------- --set on experiments


CARBON_TAX_SWEEP = EXPERIMENTS / "carbon_tax_sweep.yaml"
POWER_CAP_SWEEP = EXPERIMENTS / "power_cap_sweep.yaml"


def test_set_on_an_experiment_applies_a_scenario_path_to_the_base():
    """Issue case: --set policy.carbon_tax=50 on a sweep said "Extra inputs are not permitted"."""
    experiment, base = load_experiment(POWER_CAP_SWEEP, ["policy.carbon_tax=50"])
    assert base["policy"]["carbon_tax"] == 50
    assert experiment.levers[0].path == "policy.power_caps.us"


def test_set_routes_experiment_fields_to_the_experiment_and_base_prefix_to_the_base():
    overrides = ["replications=1", "description=mine", "base.description=the base's",
                 "labs.*.spend_rate=0.2"]  # fmt: skip
    experiment, base = load_experiment(POWER_CAP_SWEEP, overrides)
    assert experiment.replications == 1 and experiment.description == "mine"
    assert base["description"] == "the base's"
    assert {lab["spend_rate"] for lab in base["labs"]} == {0.2}


def test_a_base_override_reaches_every_run(tmp_path, capsys):
    sets = ["policy.carbon_tax=50", "replications=1", "levers.0.values=[8000]", "years=0.25"]
    argv = ["sweep", str(POWER_CAP_SWEEP), *(a for s in sets for a in ("--set", s))]
    argv += ["--results", str(tmp_path), "--backend", "serial", "--quiet", "--no-figures"]
    assert main(argv) == 0, capsys.readouterr().err
    manifest = json.loads((tmp_path / "power_cap_sweep" / "manifest.json").read_text("utf-8"))
    assert manifest["config"]["base"]["policy"]["carbon_tax"] == 50


@pytest.mark.parametrize(
    "override", ["policy.carbon_tax=50", "base.policy.carbon_tax=50", "policy={carbon_tax: 5}"]
)
def test_a_set_on_a_lever_of_the_sweep_is_refused(tmp_path, capsys, override):
    argv = ["sweep", str(CARBON_TAX_SWEEP), "--set", override, "--results", str(tmp_path)]
    err = _rejected(argv, capsys)
    assert "policy.carbon_tax (levers.0) is varied by the design, so every run would" in err
    assert not any(tmp_path.iterdir())


def test_a_set_of_a_field_every_run_overwrites_is_refused(tmp_path, capsys):
    argv = ["sweep", str(CARBON_TAX_SWEEP), "--set", "seed=3", "--results", str(tmp_path)]
    assert "use --set master_seed=N" in _rejected(argv, capsys)


def test_a_set_of_a_path_in_neither_is_named(tmp_path, capsys):
    argv = ["sweep", str(CARBON_TAX_SWEEP), "--set", "polcy.carbon_tax=5",
            "--results", str(tmp_path)]  # fmt: skip
    err = _rejected(argv, capsys)
    assert "base" in err and "polcy: Extra inputs are not permitted" in err


# ------------------------------------------------------------------ extends


def _scenario_file(folder: Path, name: str, data: dict) -> Path:
    return _write(folder / name, yaml.safe_dump(data, sort_keys=False))


def test_a_scenario_extends_another_with_a_deep_merge(tmp_path):
    """Mappings merge key by key; lists are replaced whole."""
    (tmp_path / "sub").mkdir()
    _scenario_file(tmp_path, "parent.yaml", small_economy_dict())
    child = {"extends": "../parent.yaml", "name": "child",
             "policy": {"carbon_tax": 30.0}, "rnd": {"productivity": 1.0},
             "labs": [small_economy_dict()["labs"][0]]}  # fmt: skip
    scenario = load_scenario(_scenario_file(tmp_path / "sub", "child.yaml", child))
    parent = small_economy_dict()
    assert scenario.name == "child" and scenario.policy.carbon_tax == 30.0
    assert scenario.rnd.productivity == 1.0 and scenario.rnd.noise == parent["rnd"]["noise"]
    assert [lab.name for lab in scenario.labs] == [parent["labs"][0]["name"]]
    assert scenario.hardware.chips[1].name == "B200"


def test_extends_chains_and_set_applies_after_the_merge(tmp_path):
    _scenario_file(tmp_path, "a.yaml", small_economy_dict())
    _scenario_file(tmp_path, "b.yaml", {"extends": "a.yaml", "name": "b", "years": 2})
    _scenario_file(tmp_path, "c.yaml", {"extends": "b.yaml", "name": "c", "seed": 9})
    scenario = load_scenario(tmp_path / "c.yaml", ["years=1"])
    assert (scenario.name, scenario.seed, scenario.years) == ("c", 9, 1)


def test_a_cycle_of_extends_is_refused(tmp_path, capsys):
    _scenario_file(tmp_path, "a.yaml", {"extends": "b.yaml", "name": "a"})
    _scenario_file(tmp_path, "b.yaml", {"extends": "a.yaml", "name": "b"})
    err = _rejected(["run", str(tmp_path / "a.yaml"), "--results", str(tmp_path / "r")], capsys)
    assert "extends: a cycle of files: a.yaml -> b.yaml -> a.yaml" in err
    _scenario_file(tmp_path, "self.yaml", {"extends": "self.yaml", "name": "s"})
    err = _rejected(["run", str(tmp_path / "self.yaml"), "--results", str(tmp_path)], capsys)
    assert "self.yaml -> self.yaml" in err


@pytest.mark.parametrize(
    ("child", "message"),
    [
        ({"extends": "missing.yaml", "name": "x"}, "missing.yaml: invalid scenario\n  cannot read"),
        ({"extends": 3, "name": "x"}, "extends: expected a scenario file path, got 3"),
        ({"extends": "parent.yaml"}, "name: a scenario that extends another needs its own name"),
        ({"extends": "parent.yaml", "name": "x", "years": -1}, "years: Input should be greater"),
    ],
)
def test_a_bad_extends_is_refused_naming_the_file(tmp_path, capsys, child, message):
    _scenario_file(tmp_path, "parent.yaml", small_economy_dict())
    path = _scenario_file(tmp_path, "child.yaml", child)
    err = _rejected(["run", str(path), "--results", str(tmp_path / "r")], capsys)
    assert message in err
    assert not (tmp_path / "r").exists()


def test_extending_an_experiment_is_refused(tmp_path, capsys):
    path = _scenario_file(tmp_path, "x.yaml", {"extends": str(POWER_CAP_SWEEP), "name": "x"})
    err = _rejected(["run", str(path), "--results", str(tmp_path / "r")], capsys)
    assert f"{POWER_CAP_SWEEP} is an experiment, not a scenario" in err


def test_an_experiment_base_may_extend(tmp_path):
    _scenario_file(tmp_path, "parent.yaml", small_economy_dict())
    _scenario_file(tmp_path, "child.yaml", {"extends": "parent.yaml", "name": "child",
                                            "policy": {"carbon_tax": 7.0}})  # fmt: skip
    inline = {"extends": "parent.yaml", "policy": {"carbon_tax": 8.0}}
    for base, tax in (("child.yaml", 7.0), (inline, 8.0)):
        experiment = {"name": "x", "base": base, "levers": [
            {"path": "rnd.productivity", "values": [1.0, 2.0]}]}  # fmt: skip
        _, resolved = load_experiment(_scenario_file(tmp_path, "x.yaml", experiment))
        assert resolved["policy"]["carbon_tax"] == tax and "extends" not in resolved
        assert resolved["labs"] == small_economy_dict()["labs"]


def test_the_shipped_export_controls_scenario_extends_the_baseline():
    """It was a 200-line copy of baseline.yaml; now a few lines of overrides."""
    path = EXPERIMENTS / "baseline_no_export_controls.yaml"
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 15
    assert read_yaml(path)["extends"] == "baseline.yaml"
