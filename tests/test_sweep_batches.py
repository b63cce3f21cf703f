"""How a sweep hands its runs to workers: every run once, in order, smaller batches at the end."""

from __future__ import annotations

import pytest

from sim.experiments.sweep import _guided_batches, batch_size


@pytest.mark.parametrize(
    ("runs", "workers", "limit"),
    [(400, 2, 512), (37, 2, 512), (1000, 4, 512), (3, 8, 512), (0, 2, 512), (5000, 1, 64)],
)
def test_guided_batches_cover_every_run_once_and_shrink(runs, workers, limit):
    plan = list(range(runs))
    batches = list(_guided_batches(plan, workers, limit))
    assert [run for batch in batches for run in batch] == plan
    sizes = [len(batch) for batch in batches]
    assert sizes == sorted(sizes, reverse=True)  # never a larger batch after a smaller one
    assert all(1 <= size <= limit for size in sizes)
    if runs:
        assert sizes[0] == batch_size(runs, workers, limit)
        assert sizes[-workers * 2 :] == [1] * min(len(sizes), workers * 2)  # a fine-grained tail


def test_a_pool_starts_no_more_workers_than_runs(monkeypatch):
    """Asking for 1024 workers for three runs must not start 1024 processes."""
    import sim.experiments.sweep as sweep

    started = []

    class CountingPool:
        def __init__(self, max_workers, **kwargs):
            started.append(max_workers)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, task, batch):
            from concurrent.futures import Future

            future = Future()
            future.set_result(task(batch))
            return future

    monkeypatch.setattr(sweep, "ProcessPoolExecutor", CountingPool)
    outcomes = list(sweep.run_processes([1, 2, 3], lambda batch: batch, workers=1024))
    assert sorted(outcomes) == [1, 2, 3] and started == [3]
    assert list(sweep.run_processes([], lambda batch: batch, workers=4)) == []


def test_workers_fork_only_while_this_process_has_one_thread(monkeypatch):
    import sim.experiments.sweep as sweep

    monkeypatch.delenv(sweep.START_METHOD_ENV, raising=False)
    monkeypatch.setattr(sweep.threading, "active_count", lambda: 1)
    assert sweep._worker_context().get_start_method() == "fork"
    monkeypatch.setattr(sweep.threading, "active_count", lambda: 2)  # e.g. a monitor thread
    assert sweep._worker_context().get_start_method() == "spawn"


@pytest.mark.parametrize(("value", "method"), [("spawn", "spawn"), ("fork", "fork")])
def test_the_start_method_can_be_forced(monkeypatch, value, method):
    import sim.experiments.sweep as sweep

    monkeypatch.setenv(sweep.START_METHOD_ENV, value)
    assert sweep._worker_context().get_start_method() == method


def test_a_bad_start_method_is_a_clear_error(monkeypatch):
    import sim.experiments.sweep as sweep

    monkeypatch.setenv(sweep.START_METHOD_ENV, "forkserver")
    with pytest.raises(ValueError, match="RACE_START_METHOD must be fork or spawn"):
        sweep._worker_context()
