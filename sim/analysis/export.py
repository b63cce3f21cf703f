"""Export a results folder to CSV or Parquet with a data dictionary.

A ``race run`` folder (``summary.parquet`` and the step tables) or a
``race sweep`` folder (``manifest.json``, ``runs/part-*.parquet``,
``steps/<table>/part-*.parquet``) is read back, each table is written in the
chosen format, wide or tidy (long), and ``data_dictionary.csv`` lists every
exported column with its unit and description:

- output columns from the registry :data:`sim.experiments.dictionary.OUTPUT_COLUMNS`;
- a sweep's lever columns from the scenario parameter they set
  (``labs.*.spend_rate`` and ``labs.0.spend_rate`` are ``labs[].spend_rate``
  of :func:`sim.config.paramdoc.parameter_rows`);
- a sweep's bookkeeping columns from :data:`sim.experiments.dictionary.RUN_COLUMNS`.

A column the registry does not know gets an empty unit and description, which
``tests/test_export.py`` turns into a failure: a new output must be documented.
Every file is written atomically (:mod:`sim.experiments.io`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa

from sim.experiments.dictionary import Entry, describe_lever, describe_output
from sim.experiments.dictionary import (
    parameter_path as parameter_path,  # re-exported: the lever-to-parameter map
)
from sim.experiments.io import atomic_write_csv, atomic_write_parquet
from sim.experiments.paths import output_path, refuse_files
from sim.experiments.store import STEP_TABLES, SweepStore

Format = Literal["csv", "parquet"]
FORMATS: tuple[str, ...] = ("csv", "parquet")
RUN_TABLES = (
    "labs", "markets", "edges", "economy", "ledger", "training_runs", "lab_summary", "summary",
)  # fmt: skip
ID_COLUMNS = ("run_id", "point", "replicate", "seed", "step", "year", "t")
"""Numeric columns that identify a row rather than measure something (kept as ids when tidy)."""
DICTIONARY_COLUMNS = ("table", "column", "unit", "description")
DICTIONARY_FILE = "data_dictionary.csv"
TIDY_COLUMNS: dict[str, Entry] = {
    "variable": ("-", "name of the measured column; its unit and meaning are listed above"),
    "value": ("see unit", "value of the variable, as a float"),
    "unit": ("-", "unit of value"),
}


@dataclass
class Results:
    """The tables of one results folder.

    Attributes:
        kind: ``run`` or ``sweep``.
        folder: the results folder (resolved).
        tables: table name -> DataFrame, in export order.
        levers: lever columns of the sweep's runs table (empty for a run).
    """

    kind: Literal["run", "sweep"]
    folder: Path
    tables: dict[str, pd.DataFrame]
    levers: list[str] = field(default_factory=list)


@dataclass
class ExportReport:
    """What an export wrote: the folder, the files and each table's row count."""

    folder: Path
    files: list[Path]
    rows: dict[str, int]


# ------------------------------------------------------------------ reading


def detect_kind(folder: Path) -> Literal["run", "sweep"]:
    """Whether ``folder`` holds a ``race run`` or a ``race sweep``, by the files present.

    Raises:
        ValueError: if the folder is missing or holds neither.
    """
    if not folder.exists():
        raise ValueError(f"results folder {folder} does not exist")
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    runs_parts = any((folder / "runs").glob("part-*.parquet"))
    if (folder / "manifest.json").is_file() or (folder / "runs.parquet").is_file() or runs_parts:
        return "sweep"
    if (folder / "summary.parquet").is_file():
        return "run"
    raise ValueError(
        f"{folder} is not a race run or race sweep results folder "
        "(expected summary.parquet, or manifest.json and runs)"
    )


def read_results(folder: str | Path) -> Results:
    """Read every table of a run or sweep results folder.

    Raises:
        ValueError: missing or unrecognised folder, or an unreadable table.
    """
    path = Path(folder).resolve()
    kind = detect_kind(path)
    try:
        if kind == "run":
            return Results("run", path, _run_tables(path))
        tables = _sweep_tables(path)
    except (OSError, KeyError, pa.ArrowException) as error:
        # a damaged folder (truncated Parquet, a part without run_id) is the user's input
        raise ValueError(f"cannot read the tables of {path}: {error!r}") from None
    return Results("sweep", path, tables, _lever_columns(tables["runs"]))


def _run_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """The run's tables: the known ones in their usual order, then any other Parquet file."""
    names = [name for name in RUN_TABLES if (folder / f"{name}.parquet").is_file()]
    others = sorted(p.stem for p in folder.glob("*.parquet") if p.stem not in RUN_TABLES)
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in [*names, *others]}


def _sweep_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """The runs table (from the store's parts) and the step tables that hold rows."""
    store = SweepStore(folder)
    if any((folder / "runs").glob("part-*.parquet")):
        runs = store.read_runs()
    elif (folder / "runs.parquet").is_file():
        runs = pd.read_parquet(folder / "runs.parquet")
    else:
        raise ValueError(f"{folder} holds no runs yet (no runs/part-*.parquet, no runs.parquet)")
    tables = {"runs": runs}
    for name in STEP_TABLES:
        steps = store.read_steps(name)
        if not steps.empty:
            tables[name] = steps
    return tables


def _lever_columns(runs: pd.DataFrame) -> list[str]:
    """Columns of the runs table that are not registered outputs: the levers."""
    return [c for c in runs.columns if describe_output("runs", c) is None]


# ------------------------------------------------------------------ dictionary


def describe_column(table: str, column: str, levers: list[str]) -> Entry:
    """``(unit, description)`` of an exported column; empty strings if undocumented."""
    entry = describe_lever(column) if column in levers else describe_output(table, column)
    return entry or ("", "")


def data_dictionary(results: Results, tidy: bool = False) -> pd.DataFrame:
    """One row per (table, column) of the export: unit and description.

    In tidy form each table also lists its ``variable``, ``value`` and ``unit`` columns;
    the measured columns stay listed as the variables they became.
    """
    rows = []
    for table, frame in results.tables.items():
        for column in frame.columns:
            unit, description = describe_column(table, column, results.levers)
            rows.append((table, column, unit, description))
        if tidy:
            rows.extend((table, name, *entry) for name, entry in TIDY_COLUMNS.items())
    return pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS))


# ------------------------------------------------------------------ tidy


def id_columns(frame: pd.DataFrame, levers: list[str]) -> list[str]:
    """Columns kept as identifiers in tidy form: keys, levers and every non-numeric column."""
    numeric = set(frame.select_dtypes("number").columns)
    return [
        c for c in frame.columns if c in ID_COLUMNS or c in levers or c not in numeric
    ]  # fmt: skip


def to_tidy(frame: pd.DataFrame, units: dict[str, str], levers: list[str]) -> pd.DataFrame:
    """Long form: the id columns, then ``variable``, ``value`` (float) and ``unit``.

    Rows are grouped by variable (all rows of the first measured column, then the
    next). Built by hand rather than with ``DataFrame.melt``, which refuses a
    measured column named ``value`` (``edges`` has one).

    Args:
        frame: a wide table.
        units: unit of each measured column.
        levers: the sweep's lever columns (kept as ids).
    """
    ids = id_columns(frame, levers)
    measured = [c for c in frame.columns if c not in ids]
    base = frame[ids].reset_index(drop=True)
    parts = [
        base.assign(variable=column, value=frame[column].to_numpy(dtype="float64"),
                    unit=units.get(column, ""))
        for column in measured
    ]  # fmt: skip
    if not parts:
        return base.iloc[:0].assign(variable="", value=0.0, unit="")
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------ writing


def default_out(folder: Path, fmt: str, tidy: bool) -> str:
    """The default export folder, relative to the results root: ``<run>/export-<fmt>``."""
    return f"{folder.name}/export-{fmt}" + ("-tidy" if tidy else "")


def export_folder(folder: Path, fmt: str, tidy: bool, out: str | None) -> Path:
    """Where the export goes, kept inside the results root (the results folder's parent).

    Raises:
        ValueError: if ``out`` leaves the root or names the results folder itself.
    """
    try:
        target = output_path(folder.parent, out, default_out(folder, fmt, tidy))
    except ValueError:
        raise ValueError(
            f"--out {out!r} must name a folder inside the results root {folder.parent} "
            "(RESULTS_DIR's parent), not the root itself nor anything outside it"
        ) from None
    if target == folder:
        raise ValueError(f"--out {out!r} is the results folder itself; choose another folder")
    refuse_files(target, folder.parent)
    return target


def write_table(
    frame: pd.DataFrame, path_stem: Path, fmt: str, fields: dict[str, Entry] | None = None
) -> Path:
    """Write one table as ``<stem>.csv`` or ``<stem>.parquet`` atomically.

    Args:
        frame: the table.
        path_stem: the file without its suffix.
        fmt: ``csv`` or ``parquet``.
        fields: column -> ``(unit, description)``, the Parquet field metadata.
    """
    path = path_stem.with_name(f"{path_stem.name}.{fmt}")
    if fmt == "csv":
        atomic_write_csv(frame, path)
    else:
        atomic_write_parquet(frame, path, fields=fields)
    return path


def export_results(
    folder: str | Path, fmt: str, tidy: bool = False, out: str | None = None
) -> ExportReport:
    """Export a run or sweep folder's tables and data dictionary.

    Args:
        folder: the ``race run`` or ``race sweep`` results folder.
        fmt: ``csv`` or ``parquet``.
        tidy: write long tables (ids, ``variable``, ``value``, ``unit``).
        out: export folder relative to the results root (default ``<folder>/export-<fmt>``).

    Raises:
        ValueError: bad format, unrecognised folder, unreadable table or escaping ``out``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    results = read_results(folder)
    target = export_folder(results.folder, fmt, tidy, out)
    dictionary = data_dictionary(results, tidy)
    target.mkdir(parents=True, exist_ok=True)
    files, rows = [], {}
    for name, frame in results.tables.items():
        entries = {c: describe_column(name, c, results.levers) for c in frame.columns}
        if tidy:
            frame = to_tidy(frame, {c: unit for c, (unit, _) in entries.items()}, results.levers)
            entries |= TIDY_COLUMNS
        fields = {c: entry for c, entry in entries.items() if c in frame.columns and all(entry)}
        files.append(write_table(frame, target / name, fmt, fields))
        rows[name] = len(frame)
    dictionary_path = target / DICTIONARY_FILE
    atomic_write_csv(dictionary, dictionary_path)
    files.append(dictionary_path)
    return ExportReport(target, files, rows)
