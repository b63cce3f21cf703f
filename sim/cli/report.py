"""``race report``: a self-contained HTML report of a run or sweep results folder."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``race report`` to the ``race`` parser."""
    parser = commands.add_parser(
        "report",
        help="write one self-contained HTML report of a run or sweep results folder",
        description=(
            "Write an HTML file with the figures (embedded), key tables and the scenario or "
            "manifest of a race run or race sweep folder; it opens from disk, offline."
        ),
    )
    parser.add_argument("results_dir", metavar="RESULTS_DIR", help="a run or sweep results folder")
    parser.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="HTML file inside RESULTS_DIR's parent, e.g. run/summary.html "
        "(default RESULTS_DIR/report.html)",
    )
    parser.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from sim.viz.report import write_report

    path = write_report(args.results_dir, args.out)
    print(f"wrote {path}")
    return 0
