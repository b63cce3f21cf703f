"""``race export``: every exported column documented, exact round trips, tidy shape, errors."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from sim.analysis.export import TIDY_COLUMNS, id_columns, parameter_path, read_results
from sim.cli.main import main
from sim.economy.outputs import target_column
from sim.economy.tables import (
    ECONOMY_COLUMNS,
    EDGE_COLUMNS,
    LAB_COLUMNS,
    LEDGER_COLUMNS,
    MARKET_COLUMNS,
)
from sim.experiments.design import SUMMARY_OUTPUTS
from sim.experiments.dictionary import OUTPUT_COLUMNS, describe_output
from tests.builders import small_economy_dict, sweep_quietly

DOCS = Path(__file__).resolve().parents[1] / "docs" / "model.md"
LEVERS = ("policy.carbon_tax", "labs.*.spend_rate", "labs.0.cash", "policy.power_caps.us")
KINDS = ("run", "sweep")


def _tiny_scenario() -> dict:
    return {**small_economy_dict(), "years": 0.25}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """A real tiny ``race run`` folder and a tiny ``race sweep`` folder with step tables."""
    root = tmp_path_factory.mktemp("results")
    scenario = root.parent / "small.yaml"
    scenario.write_text(yaml.safe_dump(_tiny_scenario()))
    assert main(["run", str(scenario), "--results", str(root), "--no-figures"]) == 0
    experiment = {
        "name": "tiny-sweep",
        "base": _tiny_scenario(),
        "levers": [
            {"path": "policy.carbon_tax", "values": [0.0, 100.0]},
            {"path": "labs.*.spend_rate", "values": [0.4]},
            {"path": "labs.0.cash", "values": [2e10]},
            {"path": "policy.power_caps.us", "values": [1e4]},
        ],
        "replications": 2,
        "record_steps": True,
    }
    path = root.parent / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment))
    assert sweep_quietly(path, root, "--backend", "serial") == 0
    return {"run": root / "small", "sweep": root / "tiny-sweep"}


def _export(folder: Path, fmt: str, *extra: str) -> Path:
    assert main(["export", str(folder), "--format", fmt, *extra]) == 0
    tidy = "-tidy" if "--tidy" in extra else ""
    return folder / f"export-{fmt}{tidy}"


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def _exported_tables(folder: Path) -> dict[str, pd.DataFrame]:
    files = [p for p in folder.iterdir() if p.suffix in (".csv", ".parquet")]
    return {p.stem: _read(p) for p in files if p.name != "data_dictionary.csv"}


# ------------------------------------------------------------------ documentation


@pytest.mark.parametrize("tidy", [False, True], ids=["wide", "tidy"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_exported_column_has_a_unit_and_description(folders, kind, tidy):
    extra = ("--tidy",) if tidy else ()
    out = _export(folders[kind], "csv", *extra)
    dictionary = pd.read_csv(out / "data_dictionary.csv", keep_default_na=False)
    assert list(dictionary.columns) == ["table", "column", "unit", "description"]
    documented = {(row.table, row.column): row for row in dictionary.itertuples()}
    source = read_results(folders[kind]).tables
    tables = _exported_tables(out)
    assert set(tables) == set(source)
    for table, frame in tables.items():
        for column in [*frame.columns, *source[table].columns]:
            row = documented.get((table, column))
            assert row is not None, f"{table}.{column} is missing from the data dictionary"
            assert row.unit.strip(), f"{table}.{column} has no unit"
            assert row.description.strip(), f"{table}.{column} has no description"


def _field_metadata(path: Path) -> dict[str, dict[bytes, bytes]]:
    return {field.name: dict(field.metadata or {}) for field in pq.read_schema(path)}


@pytest.mark.parametrize("kind", KINDS)
def test_every_parquet_file_written_carries_unit_and_description_per_column(folders, kind):
    """race run, race sweep (parts, runs.parquet) and race export (wide, tidy) files."""
    _export(folders[kind], "parquet")
    _export(folders[kind], "parquet", "--tidy")
    files = sorted(folders[kind].rglob("*.parquet"))
    written = {p.relative_to(folders[kind]).parts[0] for p in files}
    expected = {"labs.parquet", "summary.parquet"} if kind == "run" else {"runs.parquet", "steps"}
    assert expected | {"export-parquet", "export-parquet-tidy"} <= written
    for path in files:
        for column, metadata in _field_metadata(path).items():
            assert metadata.get(b"unit", b"").strip(), f"{path}: {column} has no unit"
            assert metadata.get(b"description", b"").strip(), f"{path}: {column} no description"


def test_field_metadata_is_the_data_dictionarys(folders):
    run = _field_metadata(folders["run"] / "labs.parquet")
    description = b"L(C) of the model the lab serves (its latest finished run)"
    loss = {b"unit": b"nats/token", b"description": description}
    assert run["loss"] == loss
    runs = _field_metadata(folders["sweep"] / "runs.parquet")
    assert runs["policy.carbon_tax"][b"unit"] == b"USD/tCO2"
    assert b"scenario parameter policy.carbon_tax" in runs["policy.carbon_tax"][b"description"]
    unit, description = describe_output("runs", "min_final_loss[region=cn]")
    assert runs["min_final_loss[region=cn]"] == {b"unit": unit.encode(),
                                                  b"description": description.encode()}  # fmt: skip
    tidy = _field_metadata(_export(folders["sweep"], "parquet", "--tidy") / "runs.parquet")
    assert tidy["value"][b"unit"] == TIDY_COLUMNS["value"][0].encode()


def test_sweep_export_holds_runs_and_step_tables_with_levers_described(folders):
    out = _export(folders["sweep"], "csv")
    assert {"runs", "labs", "economy"} <= set(_exported_tables(out))
    dictionary = pd.read_csv(out / "data_dictionary.csv", keep_default_na=False)
    levers = dictionary[dictionary["table"] == "runs"].set_index("column").loc[list(LEVERS)]
    assert levers["unit"].tolist() == ["USD/tCO2", "1/yr", "USD", "MW"]
    assert levers["description"].str.contains("scenario parameter").all()


def test_registry_covers_every_declared_output():
    declared = {
        "labs": [*LAB_COLUMNS, "realized_gamma_trailing"],
        "markets": MARKET_COLUMNS,
        "edges": EDGE_COLUMNS,
        "economy": ECONOMY_COLUMNS,
        "ledger": LEDGER_COLUMNS,
        "runs": ["run_id", "point", "replicate", "seed", "status", "error", "leader",
                 *SUMMARY_OUTPUTS, "duration_s"],
        "lab_summary": [target_column(0.9), target_column(0.85)],
    }  # fmt: skip
    for table, columns in declared.items():
        for column in columns:
            assert describe_output(table, column), f"{table}.{column} is not registered"


def _documented_units() -> dict[tuple[str, str], str]:
    """(table, column) -> unit from the tables of docs/model.md section 5."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## 5. Outputs") : text.index("## 6.")]
    units, table = {}, None
    for line in section.splitlines():
        heading = re.match(r"### 5\.\d+ `(\w+)`", line)
        table = heading.group(1) if heading else table
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if table is None or len(cells) < 3 or not cells[0].startswith("`"):
            continue
        for column in re.findall(r"`([^`]+)`", cells[0]):
            if cells[1] != "as above" and "<" not in column:
                units[(table, column)] = cells[1]
    return units


def test_registry_units_agree_with_docs_model_md():
    units = _documented_units()
    assert len(units) > 80
    for (table, column), unit in units.items():
        assert OUTPUT_COLUMNS[table][column][0] == unit, f"{table}.{column}"


@pytest.mark.parametrize(
    ("lever", "parameter"),
    [
        ("labs.*.spend_rate", "labs[].spend_rate"),
        ("labs.0.cash", "labs[].cash"),
        ("policy.carbon_tax", "policy.carbon_tax"),
        ("policy.power_caps.us", "policy.power_caps"),
        ("hardware.chips.1.price", "hardware.chips[].price"),
        ("labs.*.fleet.0.units", "labs[].fleet[].units"),
        ("law.relative_targets.0", "law.relative_targets"),
        ("labs.0", None),
        ("policy.carbon_tax.x", None),
        ("nowhere.at_all", None),
    ],
)
def test_lever_paths_map_to_documented_parameters(lever, parameter):
    assert parameter_path(lever) == parameter


# ------------------------------------------------------------------ round trips


def _source_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """The source tables read directly (run files, or the sweep store's parts)."""
    from sim.experiments.store import SweepStore

    if (folder / "summary.parquet").exists():
        return {p.stem: pd.read_parquet(p) for p in folder.glob("*.parquet")}
    store = SweepStore(folder)
    return {"runs": store.read_runs(), "labs": store.read_steps("labs"),
            "economy": store.read_steps("economy")}  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_parquet_export_equals_the_source_tables(folders, kind):
    out = _export(folders[kind], "parquet")
    source = _source_tables(folders[kind])
    exported = _exported_tables(out)
    assert set(exported) == set(source)
    for name, frame in source.items():
        pd.testing.assert_frame_equal(exported[name], frame, obj=name)


def _as_text_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical and string columns as plain Python strings (how CSV reads them back)."""
    labels = frame.select_dtypes(exclude=["number", "bool"]).columns
    return frame.astype({c: object for c in labels}).astype({c: str for c in labels})


@pytest.mark.parametrize("kind", KINDS)
def test_csv_export_equals_the_source_tables(folders, kind):
    out = _export(folders[kind], "csv")
    source = _source_tables(folders[kind])
    for name, frame in source.items():
        labels = frame.select_dtypes(exclude=["number", "bool"]).columns
        numbers = [c for c in frame.columns if c not in labels]
        exported = pd.read_csv(
            out / f"{name}.csv", keep_default_na=False, na_values={c: [""] for c in numbers},
            dtype={c: str for c in labels},
        )  # fmt: skip
        pd.testing.assert_frame_equal(
            _as_text_labels(exported), _as_text_labels(frame), check_dtype=False, obj=name
        )


# ------------------------------------------------------------------ tidy


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("kind", KINDS)
def test_tidy_tables_have_one_row_per_row_and_measured_column(folders, kind, fmt):
    results = read_results(folders[kind])
    out = _export(folders[kind], fmt, "--tidy")
    exported = _exported_tables(out)
    for name, wide in results.tables.items():
        ids = id_columns(wide, results.levers)
        measured = [c for c in wide.columns if c not in ids]
        tidy = exported[name]
        assert list(tidy.columns) == [*ids, *TIDY_COLUMNS]
        assert len(tidy) == len(wide) * len(measured)
        assert list(pd.unique(tidy["variable"])) == measured
        assert (tidy["unit"].astype(str).str.len() > 0).all()


def test_tidy_values_pivot_back_to_the_wide_table(folders):
    results = read_results(folders["run"])
    out = _export(folders["run"], "parquet", "--tidy")
    for name in ("labs", "edges"):
        wide = results.tables[name]
        tidy = pd.read_parquet(out / f"{name}.parquet")
        for column in ("cash", "loss") if name == "labs" else ("value", "quantity"):
            values = tidy.loc[tidy["variable"] == column, "value"].to_numpy()
            pd.testing.assert_series_equal(
                pd.Series(values), wide[column].astype(float).reset_index(drop=True),
                check_names=False,
            )  # fmt: skip
    units = tidy.drop_duplicates("variable").set_index("variable")["unit"]
    assert units["value"] == "USD" and units["quantity"] == "GPU or MWh"


# ------------------------------------------------------------------ errors


def _fails(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("race") and "Traceback" not in err
    return err


def test_missing_folder_is_an_error(tmp_path, capsys):
    err = _fails(["export", str(tmp_path / "missing"), "--format", "csv"], capsys)
    assert "does not exist" in err


def test_folder_without_results_is_an_error(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    err = _fails(["export", str(tmp_path), "--format", "parquet"], capsys)
    assert "not a race run or race sweep results folder" in err
    file_err = _fails(["export", str(tmp_path / "notes.txt"), "--format", "csv"], capsys)
    assert "not a folder" in file_err


def test_corrupt_table_is_an_error(tmp_path, capsys):
    (tmp_path / "summary.parquet").write_bytes(b"not parquet at all")
    err = _fails(["export", str(tmp_path), "--format", "csv"], capsys)
    assert "cannot read" in err


def test_damaged_sweep_folder_is_an_error(tmp_path, capsys):
    (tmp_path / "runs").mkdir()
    pd.DataFrame({"x": [1]}).to_parquet(tmp_path / "runs" / "part-000001.parquet")
    err = _fails(["export", str(tmp_path), "--format", "csv"], capsys)
    assert "cannot read" in err and "run_id" in err


def test_bad_format_and_out_escaping_the_root_are_errors(folders, capsys):
    run = str(folders["run"])
    assert "invalid choice" in _fails(["export", run, "--format", "xlsx"], capsys)
    for out in ("../escaped", "/tmp/escaped", "small"):
        _fails(["export", run, "--format", "csv", "--out", out], capsys)
    assert not (folders["run"].parent.parent / "escaped").exists()


def test_out_inside_the_results_root_is_used(folders):
    run = folders["run"]
    assert main(["export", str(run), "--format", "parquet", "--out", "exports/small"]) == 0
    assert (run.parent / "exports" / "small" / "data_dictionary.csv").is_file()
