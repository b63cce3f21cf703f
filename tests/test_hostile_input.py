"""Hostile input: nothing escapes the results root, YAML is safe, bad values exit 2 clearly.

Every rejection must be one message on stderr, exit code 2 and no traceback.
The property tests mutate a valid small scenario or experiment (a bad number,
a missing required key, an unknown key, an empty or oversized list, a wrong
type) and feed it through the CLI: a few examples in a subprocess (the real
``python -m sim.cli``), many more in-process through :func:`sim.cli.main.main`.
"""

from __future__ import annotations

import copy
import math
import os
import subprocess
import sys
import tempfile
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import annotated_types
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import sim.experiments.design
from sim.cli.main import main
from sim.config.scenario import Scenario
from sim.experiments.design import Experiment
from tests.builders import small_economy_dict

ROOT = Path(__file__).resolve().parents[1]
HUGE = 10_001  # longer than every bounded list of the schemas (levers' values: 10_000)


def _scenario() -> dict[str, Any]:
    """A fresh copy (small_economy_dict shares its H100 mapping between calls)."""
    return copy.deepcopy({**small_economy_dict(), "years": 0.25})


def _experiment() -> dict[str, Any]:
    return {
        "name": "tiny",
        "base": _scenario(),
        "levers": [
            {"path": "policy.carbon_tax", "values": [0.0, 100.0]},
            {"path": "labs.*.spend_rate", "low": 0.2, "high": 0.8, "levels": 2},
        ],
        "replications": 1,
        "master_seed": 3,
        "outputs": ["mean_final_loss", "hhi_compute"],
        "backend": "serial",
    }


def _write(folder: Path, data: Any, name: str = "config.yaml") -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def _argv(kind: str, config: Path, results: Path, *extra: str) -> list[str]:
    quiet = ["--quiet"] if kind == "sweep" else ["--no-figures"]
    return [kind, str(config), "--results", str(results), *quiet, *extra]


def _rejected(argv: list[str], capsys) -> str:
    """Run the CLI in-process; assert exit 2 and one clean message; return stderr."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, f"exit {code} for {argv}: {err}"
    assert err.startswith("race") and err.strip(), err
    assert "Traceback" not in err
    return err


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")} if folder.exists() else set()


# ------------------------------------------------------------------ names and paths


@pytest.mark.parametrize("kind", ["run", "sweep"])
@pytest.mark.parametrize("name", ["../escaped", "/tmp/escaped", "a/../../escaped", "..", ""])
def test_names_cannot_escape_the_results_root(tmp_path, capsys, kind, name):
    data = _scenario() if kind == "run" else _experiment()
    config = _write(tmp_path, {**data, "name": name})
    err = _rejected(_argv(kind, config, tmp_path / "results"), capsys)
    assert "name" in err and "pattern" in err
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "results").exists()


@pytest.mark.parametrize("kind", ["run", "sweep"])
def test_name_set_on_the_command_line_cannot_escape(tmp_path, capsys, kind):
    data = _scenario() if kind == "run" else _experiment()
    config = _write(tmp_path, data)
    argv = _argv(kind, config, tmp_path / "results", "--set", "name=../../escaped")
    assert "pattern" in _rejected(argv, capsys)
    assert not (tmp_path / "escaped").exists()


@pytest.mark.parametrize("kind", ["run", "sweep"])
@pytest.mark.parametrize("out", ["../escaped", "/tmp/escaped-hostile", "x/../../escaped", "."])
def test_out_cannot_escape_the_results_root(tmp_path, capsys, kind, out):
    data = _scenario() if kind == "run" else _experiment()
    config = _write(tmp_path, data)
    results = tmp_path / "results"
    err = _rejected(_argv(kind, config, results, "--out", out), capsys)
    assert "--out" in err
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/escaped-hostile").exists()
    assert _files_under(results) == set()


@pytest.mark.parametrize("kind", ["run", "sweep"])
@pytest.mark.parametrize("out", ["taken", "taken/inside"])
def test_out_naming_an_existing_file_is_refused(tmp_path, capsys, kind, out):
    data = _scenario() if kind == "run" else _experiment()
    config = _write(tmp_path, data)
    results = tmp_path / "results"
    results.mkdir()
    (results / "taken").write_text("keep me")
    err = _rejected(_argv(kind, config, results, "--out", out), capsys)
    assert "--out" in err and "existing file" in err and str(results / "taken") in err
    assert (results / "taken").read_text() == "keep me"
    assert _files_under(results) == {results / "taken"}


def test_a_results_root_that_is_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "results").write_text("keep me")
    err = _rejected(_argv("run", _write(tmp_path, _scenario()), tmp_path / "results"), capsys)
    assert "--results" in err and "existing file" in err
    assert (tmp_path / "results").read_text() == "keep me"


def test_out_through_a_symlink_leaving_the_root_is_refused(tmp_path, capsys):
    results, outside = tmp_path / "results", tmp_path / "outside"
    results.mkdir()
    outside.mkdir()
    (results / "link").symlink_to(outside, target_is_directory=True)
    config = _write(tmp_path, _scenario())
    _rejected(_argv("run", config, results, "--out", "link/run"), capsys)
    assert _files_under(outside) == set()


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """A real tiny run to export."""
    root = tmp_path_factory.mktemp("hostile-results")
    config = _write(root.parent, _scenario(), "hostile-small.yaml")
    assert main(_argv("run", config, root)) == 0
    return root / "small"


@pytest.mark.parametrize("out", ["../escaped", "/tmp/escaped-hostile", "small/../../escaped", "."])
def test_export_out_cannot_escape_the_results_root(run_folder, capsys, out):
    before = _files_under(run_folder.parent)
    argv = ["export", str(run_folder), "--format", "csv", "--out", out]
    assert "--out" in _rejected(argv, capsys)
    assert _files_under(run_folder.parent) == before
    assert not (run_folder.parent.parent / "escaped").exists()


@pytest.mark.parametrize("out", ["taken", "taken/inside", None])
def test_export_out_naming_an_existing_file_is_refused(run_folder, capsys, out):
    taken = run_folder.parent / "taken" if out else run_folder / "export-csv"
    taken.write_text("keep me")
    try:
        before = _files_under(run_folder.parent)
        argv = ["export", str(run_folder), "--format", "csv", *(["--out", out] if out else [])]
        err = _rejected(argv, capsys)
        assert "--out" in err and "existing file" in err and str(taken) in err
        assert _files_under(run_folder.parent) == before
        assert taken.read_text() == "keep me"
    finally:
        taken.unlink()


@pytest.mark.parametrize(
    "out", ["../escaped.html", "/tmp/escaped-hostile.html", "small/../../escaped.html", "."]
)
def test_report_out_cannot_escape_the_results_root(run_folder, capsys, out):
    before = _files_under(run_folder.parent)
    assert "--out" in _rejected(["report", str(run_folder), "--out", out], capsys)
    assert _files_under(run_folder.parent) == before
    assert not (run_folder.parent.parent / "escaped.html").exists()
    assert not Path("/tmp/escaped-hostile.html").exists()


def test_report_out_inside_the_results_root_is_written_there(run_folder, capsys):
    assert main(["report", str(run_folder), "--out", "small/summary.html"]) == 0
    assert (run_folder / "summary.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("target", ["/", "/etc", "..", "../../.."])
def test_export_of_folders_that_are_not_results_is_refused(capsys, target):
    _rejected(["export", target, "--format", "parquet"], capsys)


# ------------------------------------------------------------------ YAML safety

EXPLOITS = (
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:subprocess.check_output [['touch', '{marker}']]",
    "!!python/name:os.system",
)


@pytest.mark.parametrize("exploit", EXPLOITS)
@pytest.mark.parametrize("where", ["run", "sweep", "sweep-base-file", "--set"])
def test_yaml_tags_are_rejected_and_never_executed(tmp_path, capsys, where, exploit):
    marker = tmp_path / "MARKER"
    payload = exploit.format(marker=marker)
    kind = "run" if where == "run" else "sweep"
    extra: list[str] = []
    if where == "run":
        config = _write(tmp_path, yaml.safe_dump(_scenario()) + f"description: {payload}\n")
    elif where == "sweep":
        config = _write(tmp_path, yaml.safe_dump(_experiment()) + f"description: {payload}\n")
    elif where == "sweep-base-file":
        _write(tmp_path, f"name: evil\nyears: {payload}\n", "base.yaml")
        config = _write(tmp_path, {**_experiment(), "base": "base.yaml"})
    else:
        config = _write(tmp_path, _experiment())
        extra = ["--set", f"description={payload}"]
    err = _rejected(_argv(kind, config, tmp_path / "results", *extra), capsys)
    assert "YAML" in err
    assert not marker.exists()


def test_yaml_exploit_in_a_subprocess_does_not_run(tmp_path):
    marker = tmp_path / "MARKER"
    config = _write(
        tmp_path, f"name: evil\nyears: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    result = _cli("run", config, tmp_path / "results")
    assert result.returncode == 2 and result.stderr.strip()
    assert "Traceback" not in result.stderr
    assert not marker.exists()


UNREADABLE = {
    "deep-nesting": "name: x\ndescription: " + "[" * 5000 + "]" * 5000 + "\n",
    "huge-integer": "name: x\nseed: " + "9" * 5000 + "\n",
    "not-utf8": b"\xff\xfe\x00name: x\n",
}


@pytest.mark.parametrize("case", UNREADABLE)
@pytest.mark.parametrize("kind", ["run", "sweep"])
def test_unparsable_yaml_is_rejected_naming_the_file(tmp_path, capsys, kind, case):
    config = tmp_path / "config.yaml"
    content = UNREADABLE[case]
    config.write_bytes(content if isinstance(content, bytes) else content.encode())
    err = _rejected(_argv(kind, config, tmp_path / "results"), capsys)
    assert str(config) in err


def _bounded_cli(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``race`` in a subprocess with a timeout (a read without limit would hang the suite)."""
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *argv], capture_output=True, text=True, cwd=cwd,
        timeout=30, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("where", ["config", "base"])
@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "folder"])
def test_special_files_are_refused_without_reading_them(tmp_path, where, special):
    target = {"/dev/zero": Path("/dev/zero"), "fifo": tmp_path / "fifo", "folder": tmp_path}
    if special == "fifo":
        os.mkfifo(target["fifo"])  # opening it would block until a writer comes
    config = target[special]
    kind = "run"
    if where == "base":
        config, kind = _write(tmp_path, {**_experiment(), "base": str(target[special])}), "sweep"
    result = _bounded_cli([kind, str(config), "--results", str(tmp_path / "r")], tmp_path)
    assert result.returncode == 2, result.stderr
    assert "not a regular file" in result.stderr and str(target[special]) in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", ["run", "sweep"])
def test_config_files_over_10_mb_are_refused_naming_the_limit(tmp_path, capsys, kind):
    config = tmp_path / "config.yaml"
    with config.open("w") as handle:
        handle.write("name: x\n")
        handle.write("#" * (10 * 1024 * 1024) + "\n")
    err = _rejected(_argv(kind, config, tmp_path / "results"), capsys)
    assert str(config) in err and "at most 10 MB" in err


# ------------------------------------------------------------------ bad values, clear messages

RUN_CASES = [
    ("years", math.nan, "years", "finite"),
    ("years", math.inf, "years", "finite"),
    ("years", 10**6, "years", "<= 200"),
    ("steps_per_year", 10**6, "steps_per_year", "<= 365"),
    ("steps_per_year", 0, "steps_per_year", ">= 1"),
    ("seed", -1, "seed", ">= 0"),
    ("labs", [], "labs", "at least 1"),
    ("energy_suppliers", [], "energy_suppliers", "at least 1"),
    ("labs.0.fleet.0.units", -1, "labs.0.fleet.0.units", ">= 0"),
    ("labs.0.cash", -math.inf, "labs.0.cash", "finite"),
    ("energy_suppliers.0.capacity_mw", 1e300, "energy_suppliers.0.capacity_mw", "<= 1"),
    ("hardware.chips.0.flops", math.nan, "hardware.chips.0.flops", "finite"),
    ("policy.power_caps", {"us": math.nan}, "policy.power_caps.us", "finite"),
    ("policy.power_caps", {"us": 1e8}, "policy.power_caps", "[0, 1e+07]"),
    ("policy.tariffs", {"cn": -1}, "policy.tariffs", "[0, 10]"),
    ("law.relative_targets", [], "law.relative_targets", "at least 1"),
    ("labs", [small_economy_dict()["labs"][0]] * 1025, "labs", "at most 1024"),
]

SWEEP_CASES = [
    ("replications", 10**9, "replications", "<= 10000"),
    ("replications", -1, "replications", ">= 1"),
    ("replications", math.nan, "replications", "finite"),
    ("samples", 10**9, "samples", "<= 100000"),
    ("samples", -1, "samples", ">= 1"),
    ("master_seed", -1, "master_seed", ">= 0"),
    ("levers.0.values", [], "levers.0.values", "at least 1"),
    ("levers.0.values", [0.0, math.nan], "levers.0.values.1", "finite"),
    ("levers.0.values", [0.0, math.inf], "levers.0.values.1", "finite"),
    ("levers.0.values", [-1.0], "levers.0 (policy.carbon_tax=-1)", ">= 0"),
    ("levers.1.levels", 10**6, "levers.1.levels", "<= 10000"),
    ("levers.1.high", math.inf, "levers.1.high", "finite"),
    ("levers.1.high", 1e300, "levers.1 (labs.*.spend_rate=1e+300)", "<= 12"),
    ("outputs", [], "outputs", "at least 1"),
    ("base.years", 10**6, "base", "<= 200"),
    ("base.steps_per_year", 10**6, "base", "<= 365"),
    ("base.labs", [], "base", "at least 1"),
]


def _set(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    *parents, leaf = dotted.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    node[int(leaf) if isinstance(node, list) else leaf] = value
    return data


@pytest.mark.parametrize(("path", "value", "field", "bound"), RUN_CASES, ids=lambda v: str(v)[:30])
def test_bad_scenario_values_name_the_field_and_range(tmp_path, capsys, path, value, field, bound):
    config = _write(tmp_path, _set(_scenario(), path, value))
    err = _rejected(_argv("run", config, tmp_path / "results"), capsys)
    assert field in err and bound in err, err


@pytest.mark.parametrize(
    ("path", "value", "field", "bound"), SWEEP_CASES, ids=lambda v: str(v)[:30]
)
def test_bad_experiment_values_name_the_field_and_range(
    tmp_path, capsys, path, value, field, bound
):
    config = _write(tmp_path, _set(_experiment(), path, value))
    err = _rejected(_argv("sweep", config, tmp_path / "results"), capsys)
    assert field in err and bound in err, err
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("kind", "change", "heading"),
    [
        ("sweep", {"replications": 0}, "invalid experiment"),
        ("sweep", {"levers": [{"path": "policy.carbon_tax", "values": [-1.0]}]},
         "invalid experiment"),
        ("sweep", {"base": {**_scenario(), "years": -1}}, "base: invalid scenario"),
        ("run", {"years": -1}, "invalid scenario"),
    ],
)  # fmt: skip
def test_the_error_heading_names_the_kind_of_file(tmp_path, capsys, kind, change, heading):
    data = {**(_scenario() if kind == "run" else _experiment()), **change}
    config = _write(tmp_path, data)
    err = _rejected(_argv(kind, config, tmp_path / "results"), capsys)
    assert err.splitlines()[0] == f"race: error: {config}: {heading}"


def test_a_grid_of_too_many_runs_is_rejected(tmp_path, capsys):
    data = _set(_experiment(), "levers.1.levels", 10_000)
    data["levers"].append({"path": "rnd.noise", "low": 0.0, "high": 1.0, "levels": 10_000})
    err = _rejected(_argv("sweep", _write(tmp_path, data), tmp_path / "results"), capsys)
    assert "at most 1000000" in err


def test_a_lever_list_of_a_million_values_is_rejected(tmp_path, capsys, monkeypatch):
    """10**6 values (parsed without YAML, which alone would take ~30 s) and 20_001 via YAML."""
    data = _set(_experiment(), "levers.0.values", [1.0] * 10**6)
    monkeypatch.setattr(sim.experiments.design, "read_yaml", lambda path: copy.deepcopy(data))
    err = _rejected(_argv("sweep", tmp_path / "unused.yaml", tmp_path / "results"), capsys)
    assert "levers.0.values" in err and "at most 10000" in err
    monkeypatch.undo()
    config = _write(tmp_path, _set(_experiment(), "levers.0.values", [1.0] * 20_001))
    err = _rejected(_argv("sweep", config, tmp_path / "results"), capsys)
    assert "levers.0.values" in err and "at most 10000" in err


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("chip_suppliers.1.chips", ["H100"] * 10**5),
        ("policy.export_controls", {"exporter_regions": ["us"] * 10**5}),
        ("policy.power_caps", {f"r{i}": 1.0 for i in range(10**5)}),
        ("policy.tariffs", {f"r{i}": 0.1 for i in range(10**5)}),
    ],
    ids=["chips", "exporter_regions", "power_caps", "tariffs"],
)
def test_absurdly_long_lists_and_maps_are_rejected(tmp_path, capsys, monkeypatch, path, value):
    data = _set(_scenario(), path, value)
    monkeypatch.setattr(yaml, "load", lambda text, Loader: copy.deepcopy(data))
    err = _rejected(_argv("run", _write(tmp_path, "name: x\n"), tmp_path / "results"), capsys)
    assert path.split(".")[-1] in err or path in err


def test_design_points_are_validated_before_anything_runs(tmp_path, capsys):
    data = {**_experiment(), "design": "points", "levers": []}
    data["points"] = [{"policy.carbon_tax": -5.0}]
    err = _rejected(_argv("sweep", _write(tmp_path, data), tmp_path / "results"), capsys)
    assert "policy.carbon_tax" in err and ">= 0" in err
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("design", ["lhs", "sobol", "morris"])
def test_a_sampled_design_on_an_integer_field_is_rejected_up_front(tmp_path, capsys, design):
    data = {**_experiment(), "design": design, "samples": 2}
    data["levers"] = [{"path": "steps_per_year", "low": 4, "high": 12}]
    err = _rejected(_argv("sweep", _write(tmp_path, data), tmp_path / "results"), capsys)
    assert "levers.0 (steps_per_year): takes whole numbers" in err
    assert "design grid" in err and "points" in err
    assert not (tmp_path / "results").exists()


def test_a_grid_of_fractional_values_on_an_integer_field_is_rejected(tmp_path, capsys):
    data = _experiment()
    data["levers"] = [{"path": "steps_per_year", "low": 4, "high": 12, "levels": 4}]
    err = _rejected(_argv("sweep", _write(tmp_path, data), tmp_path / "results"), capsys)
    assert "levers.0 (steps_per_year): takes whole numbers" in err and "6.66667" in err
    assert not (tmp_path / "results").exists()


def test_a_grid_of_whole_values_on_an_integer_field_runs(tmp_path, capsys):
    data = {**_experiment(), "levers": [{"path": "steps_per_year", "low": 4, "high": 12}]}
    assert main(_argv("sweep", _write(tmp_path, data), tmp_path / "results")) == 0
    assert "3 ok, 0 failed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "allowed"),
    [
        (["--workers", "-1"], "[1, 1024]"),
        (["--workers", "0"], "[1, 1024]"),
        (["--workers", "1025"], "[1, 1024]"),
        (["--workers", "100000"], "[1, 1024]"),
        (["--flush-every", "0"], "[1, 100000]"),
        (["--dask-workers", "1025"], "[1, 1024]"),
        (["--dask-workers", "10000000"], "[1, 1024]"),
    ],
)
def test_bad_sweep_options_are_rejected(tmp_path, capsys, extra, allowed):
    config = _write(tmp_path, _experiment())
    err = _rejected(_argv("sweep", config, tmp_path / "results", *extra), capsys)
    assert extra[0] in err and allowed in err


def test_the_cli_workers_range_is_the_schema_range(tmp_path, capsys):
    config = _write(tmp_path, {**_experiment(), "workers": 1025})
    assert "workers" in _rejected(_argv("sweep", config, tmp_path / "results"), capsys)
    sobol = {**_experiment(), "design": "sobol", "samples": 2}
    sobol["levers"] = [{"path": "policy.carbon_tax", "low": 0.0, "high": 100.0}]
    valid = _write(tmp_path, sobol, "sobol.yaml")
    scenario = _write(tmp_path, _scenario(), "scenario.yaml")
    for argv in (
        ["sensitivity", str(valid), "--workers", "1025"],
        ["compare", str(scenario), str(scenario), "--workers", "1025"],
    ):
        assert "--workers must be in [1, 1024], got 1025" in _rejected(argv, capsys)


# ------------------------------------------------------------------ property tests

Path_ = tuple[Any, ...]


def _nested(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """``(model, is_list)`` when a field holds a model, an optional model or a list of models."""
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        annotation = members[0] if len(members) == 1 else annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item, True
    return None, False


def _fields(model: type[BaseModel], data: dict, path: Path_ = ()) -> Iterator[tuple]:
    """``(path, field, value, submodel_nodes)`` of every schema field present in ``data``."""
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            continue
        here = (*path, key)
        yield here, field, value
        sub, is_list = _nested(field.annotation)
        if model is Experiment and key == "base" and isinstance(value, dict):
            sub, is_list = Scenario, False
        if sub is not None and is_list and isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    yield from _fields(sub, item, (*here, i))
        elif sub is not None and isinstance(value, dict):
            yield from _fields(sub, value, here)


def _model_nodes(model: type[BaseModel], data: dict) -> list[Path_]:
    """Paths of every mapping validated by a model (unknown keys are errors there)."""
    nodes: list[Path_] = [()]
    for path, field, value in _fields(model, data):
        sub, is_list = _nested(field.annotation)
        if model is Experiment and path == ("base",):
            sub = Scenario
        if sub is not None and isinstance(value, dict):
            nodes.append(path)
        elif sub is not None and is_list and isinstance(value, list):
            nodes.extend((*path, i) for i, item in enumerate(value) if isinstance(item, dict))
    return nodes


def _length_limits(field) -> tuple[int, int | None]:
    low, high = 0, None
    for item in field.metadata:
        if isinstance(item, annotated_types.MinLen):
            low = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            high = item.max_length
    return low, high


def _leaves(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, i))
    else:
        yield path, node


def _get(data: Any, path: Path_) -> Any:
    for key in path:
        data = data[key]
    return data


def _put(data: Any, path: Path_, value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def _delete(data: Any, path: Path_) -> None:
    del _get(data, path[:-1])[path[-1]]


WRONG_FOR_NUMBER = ("not-a-number", {"unexpected": 1}, [1, 2])
WRONG_FOR_TEXT = (12.5, {"unexpected": 1}, [["nested"]])
WRONG_FOR_BOOL = ("maybe", {"unexpected": 1}, 2)
BAD_NUMBERS = (math.nan, math.inf, -math.inf, -1, 1e300)


@st.composite
def bad_configs(draw) -> tuple[str, dict[str, Any], str]:
    """A valid small scenario or experiment with one mutation that makes it invalid."""
    kind = draw(st.sampled_from(["run", "sweep"]))
    model = Scenario if kind == "run" else Experiment
    data = _scenario() if kind == "run" else _experiment()
    fields = list(_fields(model, data))
    leaves = list(_leaves(data))
    lists = [(p, f, v) for p, f, v in fields if isinstance(v, list)]
    mutations = {
        "bad number": [p for p, v in leaves if type(v) in (int, float)],
        "required key": [p for p, f, _ in fields if f.is_required()],
        "unknown key": _model_nodes(model, data),
        "empty list": [p for p, f, _ in lists if _length_limits(f)[0] >= 1],
        "huge list": [p for p, f, v in lists if v and (_length_limits(f)[1] or HUGE) < HUGE],
        "wrong type": [p for p, _ in leaves],
    }
    mutation = draw(st.sampled_from(sorted(mutations)))
    path = draw(st.sampled_from(mutations[mutation]))
    if mutation == "bad number":
        _put(data, path, draw(st.sampled_from(BAD_NUMBERS)))
    elif mutation == "required key":
        _delete(data, path)
    elif mutation == "unknown key":
        key = draw(st.from_regex(r"zz_[a-z]{1,8}", fullmatch=True))
        _get(data, path)[key] = draw(st.sampled_from([1, "x", None, [1]]))
    elif mutation == "empty list":
        _put(data, path, [])
    elif mutation == "huge list":
        _put(data, path, [_get(data, path)[0]] * HUGE)
    else:
        value = _get(data, path)
        wrong = (
            WRONG_FOR_BOOL
            if isinstance(value, bool)
            else WRONG_FOR_NUMBER
            if isinstance(value, int | float)
            else WRONG_FOR_TEXT
        )
        _put(data, path, draw(st.sampled_from(wrong)))
    return kind, data, f"{mutation} at {'.'.join(map(str, path)) or '(top)'}"


def _cli(kind: str, config: Path, results: Path) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "sim.cli", kind, str(config), "--results", str(results)]
    argv.append("--quiet" if kind == "sweep" else "--no-figures")
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)


@settings(max_examples=15, deadline=None, database=None)
@given(case=bad_configs())
def test_bad_configs_exit_2_in_a_subprocess(case):
    kind, data, what = case
    with tempfile.TemporaryDirectory() as folder:
        config = _write(Path(folder), data)
        result = _cli(kind, config, Path(folder) / "results")
    assert result.returncode == 2, f"{what}: exit {result.returncode}\n{result.stderr}"
    assert result.stderr.strip(), what
    assert "Traceback" not in result.stderr, f"{what}\n{result.stderr}"


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=bad_configs())
def test_bad_configs_exit_2_in_process(capsys, case):
    kind, data, what = case
    with tempfile.TemporaryDirectory() as folder:
        config = _write(Path(folder), data)
        code = main(_argv(kind, config, Path(folder) / "results"))
        err = capsys.readouterr().err
        assert not (Path(folder) / "results").exists(), what
    assert code == 2, f"{what}: exit {code}\n{err}"
    assert err.strip() and "Traceback" not in err, f"{what}\n{err}"
