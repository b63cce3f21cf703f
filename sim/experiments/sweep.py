"""Run an experiment's runs on a backend and stream them into the store.

Backends: ``serial`` (this process), ``processes`` (a local process pool,
all cores by default) and ``dask`` (an existing scheduler, or a local cluster
started for the sweep). Runs are sent in small batches with a bounded number
in flight, so memory stays flat. Each run depends only on its scenario and
seed, so the stored results are identical whatever the backend or worker
count. A run that raises is recorded with status ``failed`` and its
traceback; the others go on.

Workers of the ``processes`` backend are started with SIGINT blocked and then
ignore it (Ctrl-C reaches the whole process group; the parent alone handles
it, stores what finished and exits 130), and each exits on its own within
about half a second when the parent dies (``kill -9``), so none is orphaned.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import multiprocessing.context
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pandas as pd

from sim.config.scenario import Scenario, parse_scenario
from sim.economy.build import structure
from sim.economy.engine import run_batch
from sim.economy.trace import bytes_per_run
from sim.experiments.design import (
    SUMMARY_OUTPUTS,
    Experiment,
    RunSpec,
    plan_runs,
    run_scenario_data,
)
from sim.experiments.identity import engine_version, scenario_hash
from sim.experiments.reuse import reusable_runs
from sim.experiments.scheduler_probe import SchedulerLost
from sim.experiments.store import SweepStore

Outcome = tuple[dict[str, Any], dict[str, pd.DataFrame] | None]


class SweepInterrupted(Exception):
    """The sweep was interrupted; what finished is stored and a rerun resumes."""


SCHEDULER_TIMEOUT_S = 5


class SchedulerUnreachable(ValueError):
    """No Dask scheduler answered at the address given (a user error: exit code 2)."""

    def __init__(self, address: str):
        super().__init__(
            f"--scheduler {address}: no Dask scheduler answered there within "
            f"{SCHEDULER_TIMEOUT_S} s; start one (dask scheduler) or fix the address"
        )


# ------------------------------------------------------------------ one run


def execute_run(run: RunSpec, base: dict[str, Any], name: str, record_steps: bool) -> Outcome:
    """Run one design point and replicate (a batch of one); never raises."""
    return execute_batch([run], base, name, record_steps)[0]


def execute_batch(
    runs: list[RunSpec], base: dict[str, Any], name: str, record: bool
) -> list[Outcome]:
    """Run several runs stepped together by the array engine; never raises.

    Runs that share a structure (labs, suppliers, steps) are one batch of
    :func:`sim.economy.engine.run_batch`; a run's results do not depend on
    the batch it is in. A failure is a row, not a crash: a run whose scenario
    does not validate fails alone, and a batch that raises is rerun run by
    run so that only the failing run fails. Each row carries the run's
    identity (:mod:`sim.experiments.identity`): the hash of the scenario it executed
    (empty if that did not validate) and the engine version; its
    ``duration_s`` is its share of its batch's wall time.
    """
    prepared = [_prepare(run, base, name) for run in runs]
    outcomes: list[Outcome] = [(row, None) for row, _ in prepared]
    groups: dict[tuple, list[int]] = {}
    for i, (_, scenario) in enumerate(prepared):
        if scenario is not None:
            groups.setdefault(structure(scenario), []).append(i)
    for members in groups.values():
        _run_together(members, prepared, runs, outcomes, record)
    return outcomes


def _prepare(run: RunSpec, base: dict[str, Any], name: str) -> tuple[dict[str, Any], Any]:
    """The run's row so far and its validated scenario (None, the row failed, if invalid)."""
    row: dict[str, Any] = {
        "run_id": run.run_id,
        "point": run.point,
        "replicate": run.replicate,
        "seed": run.seed,
        **dict(run.levers),
    }
    start = time.perf_counter()
    try:
        scenario = parse_scenario(run_scenario_data(base, run, name), run.run_id)
    except Exception:  # noqa: BLE001 - a failed run is data, not a crash of the sweep
        _finish_failed(row, time.perf_counter() - start, "")
        return row, None
    row["scenario_hash"] = scenario_hash(scenario)
    return row, scenario


def _run_together(members, prepared, runs, outcomes, record: bool) -> None:
    """Run the runs ``members`` (indices into ``prepared``) as one batch; fill their outcomes."""
    from sim.economy.tables import run_tables
    from sim.experiments.runs import run_summaries

    start = time.perf_counter()
    scenarios = [prepared[i][1] for i in members]
    try:
        batch = run_batch(scenarios, [s.seed for s in scenarios])
        summaries = run_summaries(batch, per_lab=True)
    except Exception:  # noqa: BLE001 - isolate the failing run, then record it as data
        if len(members) > 1:
            for i in members:
                _run_together([i], prepared, runs, outcomes, record)
            return
        row = prepared[members[0]][0]
        _finish_failed(row, time.perf_counter() - start, row.pop("scenario_hash"))
        return
    share = (time.perf_counter() - start) / len(members)
    for k, i in enumerate(members):
        row = prepared[i][0]
        digest = row.pop("scenario_hash")
        row.update(status="ok", error="", leader=summaries[k]["leader"])
        row.update({key: float(summaries[k][key]) for key in SUMMARY_OUTPUTS})
        row.update(_per_lab(summaries[k]))
        row.update(duration_s=share, scenario_hash=digest, engine_version=engine_version())
        steps = _step_tables(run_tables(batch, k), runs[i].run_id) if record else None
        outcomes[i] = (row, steps)


def _per_lab(summary: dict[str, Any]) -> dict[str, float]:
    """The per-lab and per-region outputs of a summary (names with ``[lab=`` or ``[region=``)."""
    return {key: value for key, value in summary.items() if key.endswith("]")}


def _finish_failed(row: dict[str, Any], seconds: float, digest: str) -> None:
    """Complete a failed run's row with the traceback being handled."""
    row.update(status="failed", error=traceback.format_exc(), leader="")
    row.update(dict.fromkeys(SUMMARY_OUTPUTS, math.nan))
    row.update(duration_s=seconds, scenario_hash=digest, engine_version=engine_version())


def _step_tables(tables: dict[str, pd.DataFrame], run_id: str) -> dict[str, pd.DataFrame]:
    out = {}
    for name in ("labs", "economy"):
        frame = tables[name].copy()
        frame.insert(0, "run_id", run_id)
        for column in frame.select_dtypes("category"):
            frame[column] = frame[column].astype(str)
        out[name] = frame
    return out


# ------------------------------------------------------------------ backends


def _batches(runs: list[RunSpec], size: int) -> Iterator[list[RunSpec]]:
    for i in range(0, len(runs), size):
        yield runs[i : i + size]


TRACE_BUDGET_BYTES = 128 * 2**20
"""Memory one batch's trace may take (:func:`sim.economy.trace.bytes_per_run` per run)."""

MAX_BATCH = 512
"""Most runs stepped together: beyond a few hundred the engine gains nothing per run."""


def batch_limit(scenario: Scenario) -> int:
    """Most runs like ``scenario`` to step together within :data:`TRACE_BUDGET_BYTES`."""
    size = bytes_per_run(*structure(scenario))
    return max(1, min(MAX_BATCH, TRACE_BUDGET_BYTES // size))


def batch_size(pending: int, workers: int, limit: int = MAX_BATCH) -> int:
    """Runs per task: a quarter of each worker's share of what is left, at most ``limit``."""
    return max(1, min(limit, pending // max(1, workers * 4)))


def _guided_batches(runs: list[RunSpec], workers: int, limit: int) -> Iterator[list[RunSpec]]:
    """Batches sized by :func:`batch_size` of the runs still to hand out.

    Batches shrink as the sweep nears its end (guided self-scheduling), so
    the last tasks are single runs and no worker idles while another works
    through a long final batch.
    """
    start = 0
    while start < len(runs):
        size = batch_size(len(runs) - start, workers, limit)
        yield runs[start : start + size]
        start += size


def run_serial(
    runs: list[RunSpec], task: Callable[[list[RunSpec]], list[Outcome]], limit: int = MAX_BATCH
) -> Iterator[Outcome]:
    """Run every batch in this process, ``limit`` runs at a time."""
    for batch in _batches(runs, limit):
        yield from task(batch)


PARENT_POLL_SECONDS = 0.5


class _SigintBlockedStart:
    """Start a worker with SIGINT blocked, so a Ctrl-C during its start-up is no
    KeyboardInterrupt traceback (the mask is inherited; the initializer then ignores SIGINT)."""

    def start(self) -> None:
        """Start the process with SIGINT blocked in this thread; a pending one follows after."""
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            super().start()  # type: ignore[misc]
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


class _WorkerProcess(_SigintBlockedStart, multiprocessing.context.SpawnProcess):
    """A spawned worker started with SIGINT blocked."""


class _ForkedWorkerProcess(_SigintBlockedStart, multiprocessing.context.ForkProcess):
    """A forked worker started with SIGINT blocked."""


class _WorkerContext(multiprocessing.context.SpawnContext):
    """The spawn context (Mesa forces spawn) with :class:`_WorkerProcess` workers."""

    Process = _WorkerProcess


class _ForkedWorkerContext(multiprocessing.context.ForkContext):
    """The fork context with :class:`_ForkedWorkerProcess` workers."""

    Process = _ForkedWorkerProcess


START_METHOD_ENV = "RACE_START_METHOD"
"""Environment variable that forces how pool workers start: ``fork`` or ``spawn``."""


def _worker_context() -> multiprocessing.context.BaseContext:
    """Fork where that is safe, else spawn (``$RACE_START_METHOD`` overrides).

    A spawned worker starts a fresh interpreter and imports the simulation
    (about a second of CPU each) before its first run; a forked one starts
    with everything imported. Forking is safe only while this process runs a
    single thread (another thread could hold a lock the child would inherit
    locked), and only where the platform forks. Every run depends only on its
    scenario and seed, so both give the same results.

    Raises:
        ValueError: if ``$RACE_START_METHOD`` is set to anything else.
    """
    forced = os.environ.get(START_METHOD_ENV, "")
    if forced not in ("", "fork", "spawn"):
        raise ValueError(f"{START_METHOD_ENV} must be fork or spawn, got {forced!r}")
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    if forced == "fork" or (not forced and can_fork and threading.active_count() == 1):
        return _ForkedWorkerContext()
    return _WorkerContext()


def init_worker(parent: int) -> None:
    """Pool initializer: ignore SIGINT, die on SIGTERM, exit as soon as the parent is gone.

    A forked worker inherits the parent's SIGTERM handler (:mod:`sim.experiments.stop_signals`),
    which would turn the pool's own ``terminate()`` into a KeyboardInterrupt the
    worker survives; the default action is restored.

    Args:
        parent: the pid of the process that owns the pool.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    watcher = threading.Thread(
        target=_exit_when_orphaned, args=(parent,), name="exit-with-parent", daemon=True
    )
    watcher.start()


def _exit_when_orphaned(parent: int) -> None:
    """Poll the parent pid; once the worker is re-parented (parent killed), exit at once."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


def run_processes(
    runs: list[RunSpec],
    task: Callable[[list[RunSpec]], list[Outcome]],
    workers: int,
    record_steps: bool = False,
    limit: int = MAX_BATCH,
) -> Iterator[Outcome]:
    """Run batches of ``limit`` runs at most on a local process pool (:func:`_worker_context`).

    Workers ignore SIGINT and exit when this process dies (:func:`init_worker`).
    No more workers start than there are runs: ``--workers 1024`` for three
    runs starts three processes, not 1024. In-flight work is bounded
    (:func:`_in_flight`), and a batch's trace by :func:`batch_limit`, so what
    comes back at once with ``record_steps`` is a few batches' step rows.
    """
    if not runs:
        return
    workers = min(workers, len(runs))
    batches = _guided_batches(runs, workers, limit)
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_worker_context(),
        initializer=init_worker,
        initargs=(os.getpid(),),
    ) as pool:
        try:
            yield from _bounded(batches, pool.submit, task, limit=_in_flight(workers, record_steps))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _in_flight(workers: int, record_steps: bool) -> int:
    """Tasks in flight: two per worker, or one each and one queued when runs bring steps back.

    With recorded steps an outcome can hold ~100 MB (200 labs, weekly, 30
    years), so the parent holds at most ``workers + 1`` of them besides the
    store's buffer (:attr:`sim.experiments.store.SweepStore.flush_bytes`).
    """
    return workers + 1 if record_steps else workers * 2


def _bounded(batches: Iterator, submit: Callable, task: Callable, limit: int) -> Iterator[Outcome]:
    in_flight = set()
    for batch in batches:
        in_flight.add(submit(task, batch))
        if len(in_flight) >= limit:
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                yield from future.result()
    while in_flight:
        done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
        for future in done:
            yield from future.result()


def run_dask(
    runs: list[RunSpec],
    task: Callable[[list[RunSpec]], list[Outcome]],
    scheduler: str | None,
    workers: int,
    record_steps: bool = False,
    limit: int = MAX_BATCH,
) -> Iterator[Outcome]:
    """Run batches of ``limit`` runs at most on Dask: a scheduler's, or a local cluster's."""
    from dask.distributed import Client, LocalCluster, as_completed

    from sim.experiments.scheduler_probe import outcomes_of

    # A scheduler that dies mid-sweep makes distributed's background threads log their
    # tracebacks; the sweep reports it in one line itself (SchedulerLost, exit 3).
    logging.getLogger("distributed.batched").setLevel(logging.CRITICAL)
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(  # no more local workers than runs, as for the process pool
            n_workers=max(1, min(workers, len(runs))),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
    client = _connect(Client, scheduler) if cluster is None else Client(cluster)
    try:
        batches = _guided_batches(runs, workers, limit)
        in_flight = _in_flight(max(1, workers), record_steps)
        first = _take(batches, in_flight)
        futures = as_completed([client.submit(task, b, pure=False) for b in first])
        for future in futures:
            yield from outcomes_of(future, scheduler or "the local cluster")
            for batch in _take(batches, 1):
                futures.add(client.submit(task, batch, pure=False))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _connect(client_class: type, address: str) -> Any:
    """A Dask client of the scheduler at ``address``, or a clear error within a few seconds.

    The address is probed first (:func:`sim.experiments.scheduler_probe.is_scheduler`):
    the client's own timeout covers only the TCP connect, and it waits forever
    for a handshake from a port where something else listens.

    Raises:
        SchedulerUnreachable: if no Dask scheduler answers at ``address`` in time.
    """
    from sim.experiments.scheduler_probe import is_scheduler, quiet_client_errors

    if not is_scheduler(address, SCHEDULER_TIMEOUT_S):
        raise SchedulerUnreachable(address)
    quiet_client_errors()
    try:
        return client_class(address, timeout=SCHEDULER_TIMEOUT_S)
    except OSError:  # TimeoutError included
        raise SchedulerUnreachable(address) from None


def _take(iterator: Iterator, count: int) -> list:
    return [item for _, item in zip(range(count), iterator, strict=False)]


# ------------------------------------------------------------------ the sweep


@dataclass
class SweepReport:
    """What a sweep did."""

    planned: int
    skipped: int
    ok: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def executed(self) -> int:
        return self.ok + self.failed

    def lines(self) -> list[str]:
        """A short human summary, failures included."""
        rate = self.executed / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"{self.planned} runs planned, {self.skipped} already stored, {self.executed} run "
            f"({self.ok} ok, {self.failed} failed) in {self.seconds:.1f} s ({rate:.1f} runs/s)"
        ]
        for run_id, error in self.failures[:10]:
            last = error.strip().splitlines()[-1] if error.strip() else "?"
            lines.append(f"  failed {run_id}: {last}")
        if len(self.failures) > 10:
            lines.append(f"  ... and {len(self.failures) - 10} more (see the runs table)")
        return lines


def default_workers() -> int:
    """All cores."""
    return os.cpu_count() or 1


def run_sweep(
    experiment: Experiment,
    base: dict[str, Any],
    store: SweepStore,
    *,
    backend: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> SweepReport:
    """Run every run not already stored; stream outcomes into ``store``.

    Stored runs are reused only if they are the runs planned now
    (:func:`sim.experiments.reuse.reusable_runs`); the manifest records the start once
    that is checked.

    Raises:
        SweepInterrupted: on Ctrl-C, after flushing what finished.
        SchedulerLost: if the Dask scheduler goes away, after flushing what
            finished (its ``report`` says how far the sweep got).
        StoreMismatch: if the folder holds other runs under planned ids (the
            folder is unlocked and nothing is written).
    """
    runs = plan_runs(experiment)
    try:
        done = reusable_runs(store, runs, base, experiment.name)
    except BaseException:
        store.release()
        raise
    store.start()
    pending = [run for run in runs if run.run_id not in done]
    report = SweepReport(planned=len(runs), skipped=len(runs) - len(pending))
    backend = backend or experiment.backend
    workers = workers or experiment.workers or default_workers()
    task = partial(execute_batch, base=base, name=experiment.name, record=experiment.record_steps)
    where = scheduler or experiment.scheduler
    limit = runs_batch_limit(pending, base, experiment.name)
    outcomes = _outcomes(pending, task, backend, workers, where, experiment.record_steps, limit)
    start = time.perf_counter()
    try:
        _consume(outcomes, store, report, progress, len(pending), on_outcome)
    except KeyboardInterrupt:
        store.flush()
        report.seconds = time.perf_counter() - start
        raise SweepInterrupted(report) from None
    except SchedulerLost as lost:
        store.flush()
        report.seconds = time.perf_counter() - start
        lost.report = report
        raise
    store.flush()
    report.seconds = time.perf_counter() - start
    return report


def runs_batch_limit(pending: list[RunSpec], base: dict[str, Any], name: str) -> int:
    """:func:`batch_limit` of the first of ``pending`` (1 if its scenario does not validate)."""
    if not pending:
        return 1
    try:
        return batch_limit(parse_scenario(run_scenario_data(base, pending[0], name), "run"))
    except Exception:  # noqa: BLE001 - the run will fail, and be recorded, on its own
        return 1


def _outcomes(
    pending, task, backend: str, workers: int, scheduler: str | None, record_steps: bool,
    limit: int,
) -> Iterable[Outcome]:  # fmt: skip
    if not pending:
        return iter(())
    if backend == "serial":
        return run_serial(pending, task, limit)
    if backend == "processes":
        return run_processes(pending, task, workers, record_steps, limit)
    return run_dask(pending, task, scheduler, workers, record_steps, limit)


def progress_bar(total: int, show: bool):
    """A tqdm bar of runs (rate and ETA) on stderr, hidden unless ``show`` and ``total > 0``.

    tqdm's monitor thread is switched off: it only tunes the refresh rate, and
    while it runs this process has a second thread, so process pools must
    spawn their workers instead of forking them (:func:`_worker_context`).
    """
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    return tqdm(total=total, unit="run", disable=not show or total == 0, dynamic_ncols=True)


def _consume(outcomes, store, report, progress: bool, total: int, on_outcome) -> None:
    with progress_bar(total, progress) as bar:
        for row, steps in outcomes:
            store.add(row, steps)
            if row["status"] == "ok":
                report.ok += 1
            else:
                report.failed += 1
                report.failures.append((row["run_id"], row["error"]))
            if on_outcome is not None:
                on_outcome((row, steps))
            bar.update(1)
