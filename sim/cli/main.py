"""The ``race`` command line: one entry point, one subcommand per job.

Every user error (bad flag, out-of-range value, invalid file) ends with a
one-line message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from sim import __version__
from sim.cli import compare as cli_compare
from sim.cli import dashboard as cli_dashboard
from sim.cli import export as cli_export
from sim.cli import facts as cli_facts
from sim.cli import hindcast as cli_hindcast
from sim.cli import law as cli_law
from sim.cli import report as cli_report
from sim.cli import sensitivity as cli_analysis
from sim.cli import sweep as cli_sweep

USAGE_ERROR = 2


class UsageError(Exception):
    """A user mistake that the CLI reports in one line with exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _add_validate(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "validate",
        help="reproduce the race-to-efficiency paper's analytical results",
        description="Write figure1/figure3/table2/chinchilla CSVs, figures and report.md.",
    )
    cli_sweep.add_results_options(parser)
    parser.add_argument("--kappa", type=float, default=0.05, help="scaling exponent, (0, 0.9]")
    parser.add_argument("--dt", type=float, default=1 / 12, help="model step in years, [1/365, 1]")
    parser.set_defaults(handler=_run_validate)


def _run_validate(args: argparse.Namespace) -> int:

    from sim.experiments.paths import output_folder
    from sim.validate import check_inputs, format_summary, run_validation

    check_inputs(args.kappa, args.dt)

    out_dir = output_folder(args.results, args.out, "validation")
    table2 = run_validation(out_dir, kappa=args.kappa, dt=args.dt)
    print(format_summary(table2))
    print(f"wrote {out_dir}/ (figure1, figure3, table2, chinchilla, report.md)")
    return 0


def _add_run(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "run",
        help="run one scenario and write its tables and figures",
        description="Run a scenario YAML; write Parquet tables and figures to results/<name>/.",
    )
    parser.add_argument("config", help="scenario YAML file (e.g. experiments/baseline.yaml)")
    parser.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    cli_sweep.add_set_option(parser)
    cli_sweep.add_results_options(parser)
    parser.add_argument("--no-figures", action="store_true", help="write tables only")
    parser.set_defaults(handler=_run_scenario)


def _run_scenario(args: argparse.Namespace) -> int:

    from sim.config.scenario import load_scenario
    from sim.experiments.paths import output_folder
    from sim.experiments.runs import run_scenario
    from sim.viz.figures import write_run

    overrides = list(args.overrides) + ([] if args.seed is None else [f"seed={args.seed}"])
    scenario = load_scenario(args.config, overrides)
    out_dir = output_folder(args.results, args.out, scenario.name)
    result = run_scenario(scenario)
    written = write_run(result, out_dir, figures=not args.no_figures)
    print(_format_run(result))
    print(f"wrote {len(written)} files to {out_dir}/")
    return 0


def _format_run(result) -> str:
    columns = ["lab", "strategy", "final_loss", "realized_gamma", "final_market_share"]
    table = result.lab_summary[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}")
    s = result.summary
    return (
        f"{s['scenario']} (seed {s['seed']}, {s['steps']} steps): leader {s['leader']}, "
        f"HHI compute {s['hhi_compute']:.3f}, emissions {s['total_emissions_t']:.3g} tCO2\n" + table
    )


def build_parser() -> argparse.ArgumentParser:
    """The full ``race`` parser with every subcommand registered."""
    parser = _Parser(prog="race", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_validate(commands)
    _add_run(commands)
    cli_law.register(commands)
    cli_sweep.register(commands)
    cli_dashboard.register(commands)
    cli_analysis.register(commands)
    cli_report.register(commands)
    cli_compare.register(commands)
    cli_export.register(commands)
    cli_facts.register(commands)
    cli_hindcast.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``race`` and return its exit code (0 success, 2 usage or input error)."""
    try:
        args = build_parser().parse_args(argv)
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except (UsageError, ValueError) as error:
        print(f"race: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:
        sys.stderr.close()  # the reader (e.g. `| head`) went away: nothing left to say
        return 0


if __name__ == "__main__":
    sys.exit(main())
