"""``race sensitivity EXPERIMENT.yaml``: Sobol or Morris indices of a sweep's outputs.

The sweep runs exactly as ``race sweep`` would (same results folder, same
store, so stored runs are reused and an interrupted sweep resumes), then
:mod:`sim.analysis.sensitivity` turns the runs into indices, written next to the runs
as ``sensitivity.csv`` and ``sensitivity.png`` (and ``.svg``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.cli.sweep import (
    RUNS_FAILED,
    add_results_options,
    add_set_option,
    check_workers,
    run_experiment,
)
from sim.experiments.paths import output_folder


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``race sensitivity`` to the ``race`` parser."""
    parser = commands.add_parser(
        "sensitivity",
        help="Sobol or Morris sensitivity indices of an experiment's outputs (SALib)",
        description="Run (or resume) a sobol/morris experiment's sweep, then compute its "
        "sensitivity indices with 95% confidence intervals.",
    )
    parser.add_argument("experiment", help="experiment YAML with design sobol or morris")
    parser.add_argument(
        "--outputs", nargs="+", default=None, help="outputs to analyse (default: the experiment's)"
    )
    add_set_option(parser)
    add_results_options(parser)
    parser.add_argument("--backend", choices=["serial", "processes", "dask"], default=None)
    parser.add_argument("--workers", type=int, default=None, help="worker processes")
    parser.add_argument("--scheduler", default=None, help="Dask scheduler, tcp://HOST:PORT")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_sensitivity)


def _sensitivity(args: argparse.Namespace) -> int:
    from sim.analysis.sensitivity import (
        MissingRuns,
        format_indices,
        require_sensitivity_design,
        resolve_outputs,
        sensitivity_indices,
    )
    from sim.config.scenario import parse_scenario
    from sim.experiments.design import load_experiment
    from sim.experiments.store import SweepStore

    check_workers("--workers", args.workers)
    experiment, base = load_experiment(args.experiment, args.overrides)
    require_sensitivity_design(experiment)
    outputs = resolve_outputs(args.outputs or experiment.outputs, parse_scenario(base))
    folder = output_folder(args.results, args.out, experiment.name)
    code = run_experiment(
        experiment, base, folder, backend=args.backend, workers=args.workers,
        scheduler=args.scheduler, quiet=args.quiet, figures=False,
    )  # fmt: skip
    if code not in (0, RUNS_FAILED):
        return code
    runs = SweepStore(folder).read_runs()
    try:
        indices = sensitivity_indices(runs, experiment, outputs)
    except MissingRuns as error:
        print(f"race: error: {error}", file=sys.stderr)
        return RUNS_FAILED
    _write(indices, folder)
    print(format_indices(indices))
    print(f"wrote {folder}/ (sensitivity.csv, sensitivity.png)")
    failed = int((runs["status"] != "ok").sum())
    if failed:
        print(f"{failed} runs failed; their points use the remaining replicates", file=sys.stderr)
    return RUNS_FAILED if failed else 0


def _write(indices, folder: Path) -> None:
    from sim.experiments.io import atomic_write_csv
    from sim.viz.plots import save_figures, sensitivity_figure

    atomic_write_csv(indices, folder / "sensitivity.csv")
    save_figures({"sensitivity": sensitivity_figure(indices)}, folder)
