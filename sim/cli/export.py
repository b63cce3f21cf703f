"""``race export``: a run or sweep results folder as CSV or Parquet, with a data dictionary."""

from __future__ import annotations

import argparse

FORMATS = ("csv", "parquet")  # = sim.analysis.export.FORMATS, not imported: `race` starts light


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``race export`` to the ``race`` parser."""
    parser = commands.add_parser(
        "export",
        help="export a run or sweep folder's tables as CSV or Parquet with a data dictionary",
        description=(
            "Write every table of a race run or race sweep results folder in the chosen "
            "format, plus data_dictionary.csv (table, column, unit, description)."
        ),
    )
    parser.add_argument("results_dir", metavar="RESULTS_DIR", help="a race run or sweep folder")
    parser.add_argument("--format", dest="fmt", choices=FORMATS, required=True)
    parser.add_argument(
        "--tidy",
        action="store_true",
        help="long tables: id columns, then variable, value and unit per measured column",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="export folder inside RESULTS_DIR's parent (default RESULTS_DIR/export-FORMAT)",
    )
    parser.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from sim.analysis.export import export_results

    report = export_results(args.results_dir, args.fmt, tidy=args.tidy, out=args.out)
    tables = ", ".join(f"{name} ({rows} rows)" for name, rows in report.rows.items())
    print(f"exported {tables} and data_dictionary.csv to {report.folder}/")
    return 0
