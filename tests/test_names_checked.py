"""Every name a scenario refers to must exist in it (issue 15, item 1).

A power cap, tariff or export control keyed by a region nobody is in, a supply
shock on a missing supplier or a fleet of an unknown chip used to run with no
effect and exit 0. Each case from the issue is reproduced through the ``race``
CLI (exit 2, the field path and the names that exist, no traceback) and
through the Python API (:class:`sim.config.scenario.Scenario`, :func:`load_experiment`).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from sim.cli.main import main
from sim.config.scenario import ConfigError, Scenario, load_scenario, parse_scenario
from sim.experiments.design import load_experiment
from tests.builders import small_economy_dict

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "experiments" / "baseline.yaml"
POWER_CAP_SWEEP = ROOT / "experiments" / "power_cap_sweep.yaml"


def _rejected(argv: list[str], capsys) -> str:
    """Run ``race`` in-process; assert exit 2 and a clean message; return stderr."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("race: error:") and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "policy.power_caps.US=1000",
            "policy.power_caps.US: unknown region 'US'; regions with energy suppliers are: "
            "cn, eu, us (names are case-sensitive: did you mean 'us'?)",
        ),
        (
            "policy.tariffs.mars=0.5",
            "policy.tariffs.mars: unknown region 'mars'; regions with labs are: cn, eu, us "
            "(names are case-sensitive)",
        ),
        (
            "policy.export_controls.restricted_regions=[china]",
            "policy.export_controls.restricted_regions.0: unknown region 'china'; "
            "regions with labs are: cn, eu, us",
        ),
        (
            "policy.export_controls.exporter_regions=[us, tw]",
            "policy.export_controls.exporter_regions.1: unknown region 'tw'; "
            "regions with chip suppliers are: cn, us",
        ),
        (
            "policy.supply_shock.supplier=nvidia",
            "policy.supply_shock.supplier: unknown chip supplier 'nvidia'; chip suppliers are: "
            "cn_domestic_vendor, us_gpu_vendor",
        ),
        (
            "labs.0.fleet.0.chip=h100",
            "labs.0.fleet.0.chip: unknown chip 'h100'; chips are: A100, B200, CN910, GB200, "
            "H100, H200 (names are case-sensitive: did you mean 'H100'?)",
        ),
        (
            "chip_suppliers.1.chips=[CN910, CN920]",
            "chip_suppliers.1.chips.1: unknown chip 'CN920'; chips are: A100,",
        ),
    ],
)
def test_race_run_refuses_a_name_that_does_not_exist(tmp_path, capsys, override, expected):
    err = _rejected(
        ["run", str(BASELINE), "--set", override, "--results", str(tmp_path), "--no-figures"],
        capsys,
    )
    assert expected in err
    assert not any(tmp_path.iterdir()), "nothing is written for a refused scenario"


def test_a_region_without_what_the_lever_acts_on_has_no_effect_and_is_refused(capsys, tmp_path):
    """The baseline's eu has labs and power but no chip supplier: controls on its exports
    would do nothing, so the message says so instead of calling the region unknown."""
    override = "policy.export_controls.exporter_regions=[eu]"
    err = _rejected(["run", str(BASELINE), "--set", override, "--results", str(tmp_path)], capsys)
    assert (
        "policy.export_controls.exporter_regions.0: region 'eu' is not one of the regions "
        "with chip suppliers, so it would have no effect; regions with chip suppliers are: "
        "cn, us" in err
    )


def test_every_bad_name_is_listed_at_once():
    data = small_economy_dict()
    data["policy"] = {
        "power_caps": {"US": 100.0, "us": 100.0},
        "tariffs": {"EU": 0.1},
        "export_controls": {"restricted_regions": ["cn", "CN"]},
    }
    with pytest.raises(ConfigError) as caught:
        parse_scenario(data)
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == [
        "policy.power_caps.US",
        "policy.tariffs.EU",
        "policy.export_controls.restricted_regions.1",
    ]


def test_existing_names_are_accepted():
    """The same levers on regions that exist validate (and keep their values)."""
    overrides = [
        "policy.power_caps.us=1000",
        "policy.tariffs.cn=0.5",
        "policy.export_controls.restricted_regions=[cn]",
        "policy.export_controls.exporter_regions=[us]",
        "policy.supply_shock.supplier=us_gpu_vendor",
    ]
    policy = load_scenario(BASELINE, overrides).policy
    assert policy.power_caps == {"us": 1000}
    assert policy.tariffs == {"cn": 0.5}
    assert policy.export_controls.restricted_regions == ["cn"]
    assert policy.export_controls.exporter_regions == ["us"]


def test_the_python_api_refuses_unknown_names():
    """Scenario itself checks names, so every entry point (run, sweep, compare, the
    dashboard, scripts) gets the check."""
    data = copy.deepcopy(small_economy_dict())
    data["policy"] = {"power_caps": {"xx": 10.0}}
    with pytest.raises(ValidationError, match=r"policy\.power_caps\.xx: unknown region 'xx'"):
        Scenario.model_validate(data)


def _sweep_over(tmp_path: Path, lever_path: str) -> Path:
    experiment = yaml.safe_load(POWER_CAP_SWEEP.read_text(encoding="utf-8"))
    experiment["base"] = str(BASELINE)
    experiment["levers"][0]["path"] = lever_path
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(experiment), encoding="utf-8")
    return path


def test_a_sweep_over_an_unknown_region_is_refused_before_any_run(tmp_path, capsys):
    """Issue case: a lever policy.power_caps.xx gave 27 identical runs."""
    results = tmp_path / "results"
    sweep = _sweep_over(tmp_path, "policy.power_caps.xx")
    err = _rejected(["sweep", str(sweep), "--results", str(results), "--quiet"], capsys)
    assert "levers.0 (policy.power_caps.xx=4000): policy.power_caps.xx: unknown region 'xx'" in err
    assert err.count("unknown region 'xx'") == 1, "one line, not one per extreme"
    assert not results.exists()


def test_load_experiment_refuses_an_unknown_region_in_its_base(tmp_path):
    data = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    data["policy"] = {"tariffs": {"mars": 0.5}}
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    experiment = {"name": "x", "base": "base.yaml", "levers": [
        {"path": "policy.carbon_tax", "values": [0, 10]}]}  # fmt: skip
    (tmp_path / "x.yaml").write_text(yaml.safe_dump(experiment), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"policy\.tariffs\.mars: unknown region 'mars'"):
        load_experiment(tmp_path / "x.yaml")


def test_race_compare_refuses_an_unknown_region(tmp_path, capsys):
    argv = ["compare", str(BASELINE), str(BASELINE), "--set", "policy.power_caps.US=1000",
            "--replications", "1", "--results", str(tmp_path)]  # fmt: skip
    assert "policy.power_caps.US: unknown region 'US'" in _rejected(argv, capsys)
