"""``race compare BASE.yaml ALT.yaml``: paired what-if differences with confidence intervals."""

from __future__ import annotations

import argparse
import json
import platform
from datetime import UTC, datetime

from sim.cli.sweep import add_results_options, add_set_option, check_workers
from sim.experiments.paths import output_folder

RUNS_FAILED = 1
COMPARE_KNOWN_FILES = ("report.html",)
"""Files a compare folder may hold besides this comparison's own (the old report): stale."""


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``race compare`` to the ``race`` parser."""
    parser = commands.add_parser(
        "compare",
        help="paired differences between two scenarios (same seeds) with 95%% CIs",
        description="Run BASE and ALT with the same seeds; report alt - base per output.",
    )
    parser.add_argument("base", help="base scenario YAML")
    parser.add_argument("alt", help="alternative scenario YAML")
    parser.add_argument("--replications", type=int, default=5, help="paired runs, >= 1")
    parser.add_argument("--master-seed", type=int, default=0, help="root of the shared seeds")
    parser.add_argument(
        "--outputs", nargs="+", default=None, help="outputs to compare (default: the key outputs)"
    )
    parser.add_argument("--backend", choices=["serial", "processes", "dask"], default="serial")
    parser.add_argument("--workers", type=int, default=None, help="worker processes")
    parser.add_argument("--scheduler", default=None, help="Dask scheduler, tcp://HOST:PORT")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_set_option(parser)
    add_results_options(parser)
    parser.set_defaults(handler=_compare)


def _compare(args: argparse.Namespace) -> int:
    from sim.analysis.whatif import (
        DEFAULT_OUTPUTS,
        known_outputs,
        paired_differences,
        paired_runs,
        pairs_table,
    )
    from sim.config.scenario import load_scenario
    from sim.experiments.io import atomic_write_csv, atomic_write_text
    from sim.experiments.staging import replace_outputs
    from sim.experiments.sweep import default_workers

    if args.outputs is None:  # the default lives with sim.analysis.whatif, imported only here
        args.outputs = list(DEFAULT_OUTPUTS)
    if not 1 <= args.replications <= 10_000:
        raise ValueError(f"--replications must be in [1, 10000], got {args.replications}")
    if not 0 <= args.master_seed < 2**63:
        raise ValueError(f"--master-seed must be in [0, 2^63), got {args.master_seed}")
    check_workers("--workers", args.workers)
    base = load_scenario(args.base, args.overrides)
    alt = load_scenario(args.alt, args.overrides)
    outputs = known_outputs(args.outputs, [base, alt])
    folder = output_folder(args.results, args.out, f"compare-{base.name}-vs-{alt.name}")
    runs = paired_runs(
        base.model_dump(mode="json"), alt.model_dump(mode="json"), args.replications,
        args.master_seed, backend=args.backend, workers=args.workers or default_workers(),
        scheduler=args.scheduler, progress=not args.quiet,
    )  # fmt: skip
    failed = runs[runs["status"] != "ok"]
    pairs = pairs_table(runs[runs["status"] == "ok"], outputs)
    table = paired_differences(pairs, outputs)
    manifest = compare_manifest(base, alt, args, outputs, runs)
    with replace_outputs(folder, "race compare", COMPARE_KNOWN_FILES) as staging:
        atomic_write_csv(table, staging / "compare.csv")
        atomic_write_csv(pairs, staging / "pairs.csv")
        _figure(table, staging, base.name, alt.name)
        text = json.dumps(manifest, indent=2, default=str) + "\n"
        atomic_write_text(staging / "compare.json", text)
    print(_format(table, base.name, alt.name))
    for run_id, error in zip(failed["run_id"], failed["error"], strict=True):
        print(f"failed {run_id}: {error.strip().splitlines()[-1]}")
    print(f"wrote {folder}/ (compare.csv, pairs.csv, compare.json, compare.png, compare.svg)")
    return RUNS_FAILED if len(failed) else 0


def compare_manifest(base, alt, args: argparse.Namespace, outputs: list[str], runs) -> dict:
    """What a comparison was made of: both scenarios, the seeds, versions and git SHA."""
    from sim.experiments.store import git_sha, package_versions

    return {
        "base": base.name,
        "alt": alt.name,
        "replications": args.replications,
        "master_seed": args.master_seed,
        "seeds": [int(seed) for seed in runs.loc[runs["arm"] == "base", "seed"]],
        "outputs": outputs,
        "runs_ok": int((runs["status"] == "ok").sum()),
        "runs_failed": int((runs["status"] != "ok").sum()),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": package_versions(),
        "python": platform.python_version(),
        "git_sha": git_sha(),
        "base_scenario": base.model_dump(mode="json"),
        "alt_scenario": alt.model_dump(mode="json"),
    }


def _format(table, base: str, alt: str) -> str:
    from sim.analysis.whatif import interval_note

    shown = table.rename(columns={"relative_difference_pct": "rel_%"})
    text = shown.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    note = interval_note(table)
    heading = "paired, 95% t confidence intervals" if note is None else "paired"
    return f"{alt} - {base} ({heading})\n{text}" + (f"\n{note}" if note else "")


def _figure(table, folder, base: str, alt: str) -> None:
    from sim.viz.plots import compare_figure, save_figures

    save_figures({"compare": compare_figure(table, base, alt)}, folder)
