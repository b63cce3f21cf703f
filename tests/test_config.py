"""Scenario schema and ``race run`` input handling.

A scenario is the only way into a run, so bad input must be rejected up front,
with every problem named by its field path and allowed range, and the CLI must
turn it into exit code 2 and a readable message, never a traceback.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.config.scenario import ConfigError, load_scenario, parse_scenario, scenario_json_schema
from tests.builders import small_economy_dict

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "experiments" / "baseline.yaml"


def _problems(data: dict[str, Any]) -> list[str]:
    """The ConfigError problem lines for ``data`` (fails if it is accepted)."""
    with pytest.raises(ConfigError) as caught:
        parse_scenario(data)
    assert caught.value.problems, "a ConfigError must list at least one problem"
    return caught.value.problems


def _mentions(problems: list[str], *needles: str) -> bool:
    return any(all(needle in line for needle in needles) for line in problems)


# --------------------------------------------------------------- baseline


def test_baseline_yaml_loads_with_the_calibrated_shape():
    """The calibrated default is valid and has the size docs/model.md section 6 describes."""
    scenario = load_scenario(BASELINE)
    assert len(scenario.labs) >= 8
    assert len({lab.region for lab in scenario.labs}) >= 3
    assert len(scenario.chip_suppliers) >= 2
    assert len(scenario.energy_suppliers) >= 3
    assert scenario.start_year == 2025
    assert scenario.years == 10
    assert scenario.steps_per_year == 12


def test_small_economy_is_valid():
    """The builders' base scenario parses (the other cases below break it one way each)."""
    assert parse_scenario(small_economy_dict()).name == "small"


# ------------------------------------------------------- field-level errors


@pytest.mark.parametrize(
    ("path", "mutate"),
    [
        ("bogus", lambda d: d.update(bogus=1)),
        ("labs.0.bogus", lambda d: d["labs"][0].update(bogus=1)),
        ("hardware.mfu_typo", lambda d: d["hardware"].update(mfu_typo=0.4)),
        ("policy.carbon_taxes", lambda d: d.setdefault("policy", {}).update(carbon_taxes=5)),
        ("energy_suppliers.2.colour", lambda d: d["energy_suppliers"][2].update(colour="red")),
    ],
)
def test_unknown_keys_are_rejected_with_their_path(path, mutate):
    """A typo in a key must not be silently ignored (it would switch a lever off)."""
    data = small_economy_dict()
    mutate(data)
    problems = _problems(data)
    assert _mentions(problems, path), problems


@pytest.mark.parametrize(
    ("path", "value", "bound"),
    [
        ("labs.0.cash", -1.0, ">= 0"),
        ("labs.1.funding_growth", -0.95, ">= -0.9"),
        ("hardware.mfu", 1.5, "<= 1"),
        ("years", 0, "> 0"),
        ("steps_per_year", 0, ">= 1"),
        ("energy_suppliers.0.scarcity_knee", 1.0, "< 1"),
        ("chip_suppliers.1.capacity_per_year", 0.0, "> 0"),
        ("policy.carbon_tax", -5.0, ">= 0"),
    ],
)
def test_out_of_range_values_name_the_field_and_the_bound(path, value, bound):
    """The message names the field path and the allowed bound, so the user can fix it."""
    data = small_economy_dict()
    _set(data, path, value)
    problems = _problems(data)
    assert _mentions(problems, path, bound), problems


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``data[a][0][b] = value`` for ``dotted == "a.0.b"`` (creating dicts as needed)."""
    *parents, leaf = dotted.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    node[leaf] = value


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    "path",
    [
        "labs.0.cash",
        "hardware.mfu",
        "policy.carbon_tax",
        "energy_suppliers.1.capacity_mw",
        "market.growth",
    ],
)
def test_nan_and_infinity_are_rejected(path, bad):
    """NaN compares false with every bound, so it must be rejected explicitly."""
    data = small_economy_dict()
    _set(data, path, bad)
    assert _mentions(_problems(data), path)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0])
@pytest.mark.parametrize("field", ["power_caps", "tariffs"])
def test_bad_values_in_policy_maps_are_rejected(field, bad):
    """Per-region maps (MW caps, tariff rates) are checked value by value too."""
    data = small_economy_dict()
    data["policy"] = {field: {"us": bad}}
    assert _mentions(_problems(data), f"policy.{field}")


def test_nan_in_yaml_is_rejected(tmp_path):
    """YAML spells NaN ``.nan``; it must not slip through the file loader."""
    data = small_economy_dict()
    text = yaml.safe_dump(data).replace("cash: 10000000000.0", "cash: .nan", 1)
    assert ".nan" in text
    path = tmp_path / "nan.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert _mentions(caught.value.problems, "labs.0.cash")


# ---------------------------------------------------- cross-reference errors


def test_unknown_chip_in_a_fleet_is_rejected():
    """A fleet may only hold chip models of the roadmap."""
    data = small_economy_dict()
    data["labs"][2]["fleet"][0]["chip"] = "TPUv9"
    assert _mentions(_problems(data), "labs.2.fleet.0.chip", "TPUv9")


def test_lab_region_without_energy_supplier_is_rejected():
    """A lab in a region with no power supplier could never run its GPUs."""
    data = small_economy_dict()
    data["labs"][1]["region"] = "eu"
    assert _mentions(_problems(data), "labs.1.region", "eu")


@pytest.mark.parametrize("group", ["labs", "chip_suppliers", "energy_suppliers"])
def test_duplicate_names_are_rejected(group):
    """Names key the ledger accounts and output tables, so they must be unique."""
    data = small_economy_dict()
    data[group][1]["name"] = data[group][0]["name"]
    assert _mentions(_problems(data), group, "duplicate", data[group][0]["name"])


@pytest.mark.parametrize(
    ("group", "other"),
    [("chip_suppliers", "labs"), ("energy_suppliers", "labs"),
     ("energy_suppliers", "chip_suppliers")],
)  # fmt: skip
def test_names_shared_across_labs_and_suppliers_are_rejected(group, other):
    """Labs and suppliers are ledger accounts of one namespace: a shared name merges them."""
    data = small_economy_dict()
    taken = data[other][0]["name"]
    data[group][1]["name"] = taken
    problems = _problems(data)
    assert _mentions(problems, f"{group}.1.name", repr(taken), f"{other}.0.name")


@pytest.mark.parametrize("name", ["investors", "customers", "workforce", "government"])
@pytest.mark.parametrize("group", ["labs", "chip_suppliers", "energy_suppliers"])
def test_reserved_ledger_account_names_are_rejected(group, name):
    """The outside-world and government accounts cannot be a lab's or supplier's name."""
    data = small_economy_dict()
    data[group][1]["name"] = name
    assert _mentions(_problems(data), f"{group}.1.name", "reserved ledger account", name)


def test_every_account_name_problem_is_listed_with_its_path():
    data = small_economy_dict()
    data["labs"][0]["name"] = "government"
    data["chip_suppliers"][0]["name"] = data["labs"][1]["name"]
    data["energy_suppliers"][2]["name"] = "east"
    problems = _problems(data)
    assert _mentions(problems, "labs.0.name", "reserved")
    assert _mentions(problems, "chip_suppliers.0.name", "labs.1.name")
    assert _mentions(problems, "energy_suppliers.2.name", "chip_suppliers.1.name")
    assert len([p for p in problems if ".name:" in p]) == 3


def test_duplicate_chip_names_are_rejected():
    """Two roadmap chips with one name would make fleets ambiguous."""
    data = small_economy_dict()
    data["hardware"]["chips"][1]["name"] = "H100"
    assert _mentions(_problems(data), "hardware.chips", "duplicate")


def test_shock_on_unknown_supplier_is_rejected():
    """A supply shock on a misspelt supplier would silently do nothing."""
    data = small_economy_dict()
    data["policy"] = {"supply_shock": {"supplier": "nvidia"}}
    assert _mentions(_problems(data), "policy.supply_shock.supplier", "nvidia")


@pytest.mark.parametrize(
    ("path", "mutate"),
    [
        ("labs.0", lambda d: d["labs"][0].update(fleet=[])),
        (
            "chip_suppliers.0.chips",
            lambda d: d["chip_suppliers"][0].update(chips=[], extrapolate=False),
        ),
    ],
)
def test_scenarios_the_model_cannot_build_are_rejected_by_the_schema(path, mutate):
    """A lab with no GPUs and no initial_compute has no loss, and a supplier selling no
    chip has no roadmap: RaceModel refuses both, so validation must catch them first,
    with the field path, instead of accepting a scenario that cannot run."""
    data = small_economy_dict()
    mutate(data)
    assert _mentions(_problems(data), path)


def test_every_cross_reference_problem_is_reported():
    """Like field errors, cross-reference errors are all listed at once, so one
    edit fixes a file instead of one round trip per mistake."""
    data = small_economy_dict()
    data["labs"][0]["fleet"][0]["chip"] = "TPUv9"
    data["policy"] = {"supply_shock": {"supplier": "nvidia"}}
    problems = _problems(data)
    assert _mentions(problems, "labs.0.fleet.0.chip"), problems
    assert _mentions(problems, "policy.supply_shock.supplier"), problems


# ------------------------------------------------------------------ schema


def _number_fields(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """Every property of every model in the schema: (dotted name, property, numeric kind).

    kind is "scalar" (number/integer, possibly nullable), "container" (an array or a
    mapping of numbers) or "" (not numeric).
    """
    models = {"Scenario": schema, **schema.get("$defs", {})}
    found = []
    for model_name, model in models.items():
        for name, prop in model.get("properties", {}).items():
            found.append((f"{model_name}.{name}", prop, _numeric_kind(prop)))
    return found


def _is_number(prop: dict[str, Any]) -> bool:
    return prop.get("type") in ("number", "integer")


def _numeric_kind(prop: dict[str, Any]) -> str:
    options = prop.get("anyOf", [prop])
    if any(_is_number(option) for option in options):
        return "scalar"
    for option in options:
        inner = option.get("items") or option.get("additionalProperties")
        if isinstance(inner, dict) and _is_number(inner):
            return "container"
    return ""


def test_schema_walk_finds_the_numeric_fields():
    """Guard on the walker itself: it must see the known numeric fields."""
    kinds = {name: kind for name, _, kind in _number_fields(scenario_json_schema())}
    assert kinds["Scenario.years"] == "scalar"
    assert kinds["LabSpec.cash"] == "scalar"
    assert kinds["LawConfig.kappa"] == "scalar"
    assert kinds["PolicyConfig.power_caps"] == "container"
    assert sum(kind == "scalar" for kind in kinds.values()) > 50


def test_every_numeric_field_has_a_unit_and_a_description():
    """Units are declared once in the schema; a bare number is ambiguous (MW or MWh?)."""
    missing = [
        name
        for name, prop, kind in _number_fields(scenario_json_schema())
        if kind == "scalar" and not (prop.get("unit") and prop.get("description"))
    ]
    assert not missing, f"numeric fields without unit or description: {missing}"


def test_every_list_or_map_of_numbers_has_a_unit_and_a_description():
    """Numbers inside lists and per-region maps (power caps in MW, tariff rates,
    relative loss targets) need a unit just as much as scalar fields do."""
    missing = [
        name
        for name, prop, kind in _number_fields(scenario_json_schema())
        if kind == "container" and not (prop.get("unit") and prop.get("description"))
    ]
    assert not missing, f"numeric lists/maps without unit or description: {missing}"


# --------------------------------------------------------------------- CLI


def _race_run(path: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", str(path)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def _assert_usage_error(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    assert result.stderr.strip(), "the error message goes to stderr"
    return output


def test_cli_reports_every_problem_of_a_bad_file(tmp_path):
    """``race run`` exits 2 and lists all problems with their paths, not just the first."""
    data = small_economy_dict()
    data["labs"][0]["cash"] = -1.0
    data["hardware"]["mfu"] = 2.0
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    output = _assert_usage_error(_race_run(path, tmp_path))
    assert "labs.0.cash" in output and ">= 0" in output, output
    assert "hardware.mfu" in output and "<= 1" in output, output
    assert not (tmp_path / "results").exists(), "nothing is written for an invalid scenario"


def test_cli_missing_file_exits_2_with_one_message(tmp_path):
    """A typo in the path gives one line saying the file cannot be read."""
    missing = tmp_path / "nope.yaml"
    output = _assert_usage_error(_race_run(missing, tmp_path))
    assert "nope.yaml" in output
    assert "cannot read" in output.lower() or "no such file" in output.lower(), output


def test_cli_invalid_yaml_syntax_exits_2_with_one_message(tmp_path):
    """Broken YAML is reported as such, naming the file."""
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nlabs: [1, 2\n")
    output = _assert_usage_error(_race_run(path, tmp_path))
    assert "broken.yaml" in output
    assert "yaml" in output.lower(), output


@pytest.mark.parametrize(
    "text",
    [
        '!!python/object/apply:os.system ["echo PWNED"]\n',
        'name: x\nseed: !!python/object/apply:os.system ["echo PWNED"]\n',
    ],
)
def test_cli_refuses_python_object_tags(tmp_path, text):
    """Scenario files are data: the safe loader must refuse to construct objects,
    so the embedded command never runs and the file is rejected with exit 2."""
    path = tmp_path / "evil.yaml"
    path.write_text(text)
    result = _race_run(path, tmp_path)
    output = _assert_usage_error(result)
    assert "PWNED" not in result.stdout
    assert "evil.yaml" in output
