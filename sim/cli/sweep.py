"""``race sweep`` and ``race schema``: experiments at scale from a shell."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys

from sim.experiments.paths import DEFAULT_RESULTS, output_folder
from sim.experiments.stop_signals import StopSignals

INTERRUPTED = 130
RUNS_FAILED = 1
SCHEDULER_LOST = 3


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``race sweep`` and ``race schema`` to the ``race`` parser."""
    _add_sweep(commands)
    _add_schema(commands)


def add_results_options(parser: argparse.ArgumentParser) -> None:
    """``--results ROOT`` and ``--out NAME``: outputs stay inside the results root."""
    parser.add_argument("--results", default=DEFAULT_RESULTS, help="results root folder")
    parser.add_argument("--out", default=None, help="folder inside the results root")


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """``--set path.to.field=value``, repeatable."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override any config field, e.g. --set policy.carbon_tax=50 (repeatable)",
    )


def _add_sweep(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "sweep",
        help="run an experiment (design x replications) into a resumable dataset",
        description="Run every run of an experiment not yet stored; rerun to resume.",
    )
    parser.add_argument("experiment", help="experiment YAML (see experiments/)")
    add_set_option(parser)
    add_results_options(parser)
    parser.add_argument("--backend", choices=["serial", "processes", "dask"], default=None)
    parser.add_argument("--workers", type=int, default=None, help="worker processes")
    parser.add_argument("--scheduler", default=None, help="Dask scheduler, tcp://HOST:PORT")
    parser.add_argument(
        "--dask-workers", type=int, default=None, help="start a local Dask cluster of N workers"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--no-figures", action="store_true", help="write the dataset only, no figures"
    )
    parser.add_argument(
        "--flush-every", type=int, default=100, help="runs buffered before a part is written"
    )
    parser.set_defaults(handler=_sweep)


def _add_schema(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "schema",
        help="print the JSON Schema of configs",
        description="Print the JSON Schema of scenario (the default) or experiment configs.",
    )
    parser.add_argument(
        "kind", nargs="?", choices=["scenario", "experiment"], default="scenario",
        help="which kind of config (default: scenario)",
    )  # fmt: skip
    parser.set_defaults(handler=_schema)


def _schema(args: argparse.Namespace) -> int:
    from sim.config.scenario import scenario_json_schema
    from sim.experiments.design import experiment_json_schema

    schema = scenario_json_schema() if args.kind == "scenario" else experiment_json_schema()
    print(json.dumps(schema, indent=2))
    return 0


def _positive(name: str, value: int | None) -> None:
    if value is not None and not 1 <= value <= 100_000:
        raise ValueError(f"{name} must be in [1, 100000], got {value}")


def check_workers(name: str, value: int | None) -> None:
    """Check a worker count against the experiment schema's ``workers`` range.

    Raises:
        ValueError: naming the option and the range, e.g. ``[1, 1024]``.
    """
    from sim.experiments.design import Experiment

    bounds = {k: getattr(m, k) for m in Experiment.model_fields["workers"].metadata
              for k in ("ge", "le") if hasattr(m, k)}  # fmt: skip
    low, high = bounds["ge"], bounds["le"]
    if value is not None and not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")


def _scheduler_address(value: str | None) -> None:
    """Check ``--scheduler`` against the experiment schema's pattern.

    Raises:
        ValueError: naming --scheduler and the expected form.
    """
    from sim.experiments.design import SCHEDULER_PATTERN

    if value is not None and not re.fullmatch(SCHEDULER_PATTERN, value):
        raise ValueError(f"--scheduler must look like tcp://HOST:PORT, got {value!r}")


def _sweep(args: argparse.Namespace) -> int:
    from sim.experiments.design import load_experiment

    check_workers("--workers", args.workers)
    check_workers("--dask-workers", args.dask_workers)
    _positive("--flush-every", args.flush_every)
    _scheduler_address(args.scheduler)
    experiment, base = load_experiment(args.experiment, args.overrides)
    folder = output_folder(args.results, args.out, experiment.name)
    return run_experiment(
        experiment, base, folder,
        backend="dask" if args.dask_workers or args.scheduler else args.backend,
        workers=args.dask_workers or args.workers, scheduler=args.scheduler,
        quiet=args.quiet, flush_every=args.flush_every, figures=not args.no_figures,
    )  # fmt: skip


def run_experiment(
    experiment, base: dict, folder, *, backend: str | None, workers: int | None,
    scheduler: str | None, quiet: bool, flush_every: int = 100, figures: bool = True,
) -> int:  # fmt: skip
    """Run an experiment's missing runs into ``folder`` as ``race sweep`` does; the exit code.

    The store is locked while it runs; SIGTERM and Ctrl-C flush what finished
    and mark the manifest ``interrupted``; a full disk marks it ``failed``.
    ``race sensitivity`` runs its design through this too.
    """
    from sim.experiments.store import StoreWriteFailed, SweepStore

    store = SweepStore(folder, flush_every=flush_every)
    options = {"backend": backend, "workers": workers, "scheduler": scheduler, "quiet": quiet}
    with StopSignals() as stop:
        try:
            return _sweep_into(store, experiment, base, stop, figures=figures, **options)
        except KeyboardInterrupt:  # outside the runs: the final flush, consolidation, figures
            return _stopped(store, stop)
        except StoreWriteFailed:  # a full disk: committed parts are intact, say so in one line
            _mark_failed(store)
            raise
        finally:
            store.release()  # whatever happened, the folder is not left locked by this process


def _stopped(store, stop: StopSignals) -> int:
    """Ctrl-C or SIGTERM outside the runs: mark an open store interrupted; one line, no traceback.

    Every part is written atomically and the runs part commits a flush, so
    whatever was cut short is redone by the rerun.
    """
    if store.held:
        store.close("interrupted")
    print(f"interrupted ({stop.name}): rerun the same command to resume into {store.folder}/",
          file=sys.stderr)  # fmt: skip
    return stop.exit_code


def _mark_failed(store) -> None:
    """Record ``failed`` in the manifest if it can still be written (space may have freed up)."""
    if store.held:
        with contextlib.suppress(ValueError, OSError):
            store.close("failed")


def _sweep_into(
    store, experiment, base, stop: StopSignals, *, backend, workers, scheduler, quiet, figures
) -> int:
    """Open ``store``, run the experiment's missing runs into it, consolidate, draw figures."""
    from sim.experiments.design import config_hash, design_size, plan_runs
    from sim.experiments.scheduler_probe import SchedulerLost
    from sim.experiments.sweep import SchedulerUnreachable, SweepInterrupted, run_sweep

    folder = store.folder
    planned = design_size(experiment) * experiment.replications
    store.open(experiment.model_dump(mode="json"), config_hash(experiment),
               experiment.master_seed, planned=planned)  # fmt: skip
    try:
        report = run_sweep(
            experiment, base, store, backend=backend, workers=workers, scheduler=scheduler,
            progress=not quiet,
        )  # fmt: skip
    except SchedulerUnreachable:
        store.close("scheduler unreachable", {"planned": planned})
        raise
    except SchedulerLost as lost:
        store.close("scheduler lost", _counts(lost.report))
        print("\n".join(lost.report.lines()), file=sys.stderr)
        print(f"race: error: {lost}", file=sys.stderr)
        return SCHEDULER_LOST
    except SweepInterrupted as interrupted:
        report = interrupted.args[0]
        store.close("interrupted", _counts(report))
        print("\n".join(report.lines()), file=sys.stderr)
        print(f"interrupted ({stop.name}): rerun the same command to resume into {folder}/",
              file=sys.stderr)  # fmt: skip
        return stop.exit_code
    store.consolidate({run.run_id for run in plan_runs(experiment)})
    store.close("finished" if not report.failed else "finished with failures", _counts(report))
    print("\n".join(report.lines()))
    print(f"results in {folder}/ (runs.parquet, manifest.json)")
    if figures and report.ok + report.skipped > 0:
        _write_figures(folder)
    return RUNS_FAILED if report.failed else 0


def _write_figures(folder) -> None:
    """Draw the sweep figures that apply (fans, heatmaps, lever lines) into ``folder``."""
    from sim.viz.plots import write_sweep_figures

    written = write_sweep_figures(folder)
    names = sorted({path.stem for path in written})
    if names:
        print(f"figures (PNG and SVG): {', '.join(names)}")


def _counts(report) -> dict[str, int]:
    return {
        "planned": report.planned,
        "skipped": report.skipped,
        "ok": report.ok,
        "failed": report.failed,
    }
