"""``race hindcast [CONFIG]``: the 2020 economy run to 2025 against the published training runs."""

from __future__ import annotations

import argparse

from sim.cli.sweep import add_results_options, add_set_option

MAX_SEEDS = 1000
COMPUTE_MEASURES = ("training", "logical")


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``race hindcast`` to the ``race`` parser."""
    parser = commands.add_parser(
        "hindcast",
        help="run the 2020 economy to 2025 and compare its largest runs with the published ones",
        description=(
            "Run CONFIG (default: the packaged hindcast_2020, January 2020 to the end of 2025) "
            "over several seeds and write hindcast.csv (year, frontier_run_flop and its 5th "
            "and 95th percentiles over seeds) and a figure with the published runs. Runs "
            "published through 2022 are calibration data; later ones are out of sample."
        ),
    )
    parser.add_argument("config", nargs="?", default=None, help="scenario YAML (default hindcast)")
    parser.add_argument("--seeds", type=int, default=20, help=f"runs, in [1, {MAX_SEEDS}]")
    parser.add_argument(
        "--compute", choices=COMPUTE_MEASURES, default="training",
        help="what a run's size counts: training FLOP (the GPUs' work, as published estimates "
        "count it; default) or logical compute (with the software efficiency gained since "
        "the start)",
    )  # fmt: skip
    parser.add_argument("--no-figures", action="store_true", help="write the table only")
    add_set_option(parser)
    add_results_options(parser)
    parser.set_defaults(handler=_hindcast)


def _hindcast(args: argparse.Namespace) -> int:
    from sim.analysis.hindcast import PACKAGED_HINDCAST, hindcast, log_errors, rms_log_error
    from sim.config.scenario import load_scenario
    from sim.experiments.design import replicate_seeds
    from sim.experiments.io import atomic_write_csv
    from sim.experiments.paths import output_folder
    from sim.experiments.staging import replace_outputs

    if not 1 <= args.seeds <= MAX_SEEDS:
        raise ValueError(f"--seeds must be in [1, {MAX_SEEDS}], got {args.seeds}")
    scenario = load_scenario(args.config or PACKAGED_HINDCAST, args.overrides)
    folder = output_folder(args.results, args.out, f"{scenario.name}_hindcast")
    logical = args.compute == "logical"
    table = hindcast(scenario, replicate_seeds(scenario.seed, args.seeds), logical=logical)
    with replace_outputs(folder, "race hindcast") as staging:
        atomic_write_csv(table, staging / "hindcast.csv")
        if not args.no_figures:
            from sim.viz.hindcast_plot import hindcast_figure
            from sim.viz.plots import save_figures

            unit = "logical FLOP" if logical else "training FLOP"
            save_figures({"hindcast": hindcast_figure(table, unit)}, staging)
    errors = log_errors(table)
    print(_format(errors))
    print(
        f"rms log10 error: {rms_log_error(table, True):.2f} in sample (2020-2022), "
        f"{rms_log_error(table, False):.2f} out of sample"
    )
    print(f"wrote {folder}/hindcast.csv")
    return 0


def _format(errors) -> str:
    lines = ["year  model median  record by then  model/record  sample"]
    for row in errors.itertuples():
        sample = "calibration" if row.in_sample else "out of sample"
        lines.append(
            f"{row.year}  {row.model:12.3g}  {row.record:14.3g}  {10**row.log10_ratio:12.2f}  "
            f"{sample}"
        )
    return "\n".join(lines)
