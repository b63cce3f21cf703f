"""``race facts [CONFIG]``: the scenario's 2025-2026 stylised facts against real-world values."""

from __future__ import annotations

import argparse

from sim.cli.sweep import add_results_options, add_set_option

MAX_SEEDS = 1000


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``race facts`` to the ``race`` parser."""
    parser = commands.add_parser(
        "facts",
        help="compare a scenario's 2025-2026 quantities with real-world values",
        description=(
            "Run CONFIG (default: the packaged baseline) over several seeds and write "
            "facts.csv: quantity, unit, year, model (median over seeds), reference, source, "
            "ratio (model / reference)."
        ),
    )
    parser.add_argument("config", nargs="?", default=None, help="scenario YAML (default baseline)")
    parser.add_argument("--seeds", type=int, default=5, help=f"runs, in [1, {MAX_SEEDS}]")
    add_set_option(parser)
    add_results_options(parser)
    parser.set_defaults(handler=_facts)


def _facts(args: argparse.Namespace) -> int:
    from sim.analysis.facts import credible, stylised_facts
    from sim.config.scenario import PACKAGED_BASELINE, load_scenario
    from sim.experiments.design import replicate_seeds
    from sim.experiments.io import atomic_write_csv
    from sim.experiments.paths import output_folder
    from sim.experiments.staging import replace_outputs

    if not 1 <= args.seeds <= MAX_SEEDS:
        raise ValueError(f"--seeds must be in [1, {MAX_SEEDS}], got {args.seeds}")
    scenario = load_scenario(args.config or PACKAGED_BASELINE, args.overrides)
    folder = output_folder(args.results, args.out, f"{scenario.name}_facts")
    table = stylised_facts(scenario, replicate_seeds(scenario.seed, args.seeds))
    with replace_outputs(folder, "race facts") as staging:
        atomic_write_csv(table, staging / "facts.csv")
    print(_format(table, credible(table)))
    print(f"wrote {folder}/facts.csv")
    return 0


def _format(table, ok) -> str:
    lines = []
    for row, fine in zip(table.itertuples(), ok, strict=True):
        mark = "" if fine else "   outside [1/3, 3]"
        lines.append(
            f"{row.quantity:<34} {row.year}  model {row.model:10.3g}  "
            f"reference {row.reference:10.3g} {row.unit:<13} ratio {row.ratio:6.2f}{mark}"
        )
    return "\n".join(lines)
