"""Memory stays bounded with record_steps: the store flushes by size as well as by count."""

from pathlib import Path

import pandas as pd

from sim.config.scenario import load_scenario
from sim.economy.build import structure
from sim.economy.trace import bytes_per_run
from sim.experiments.design import load_experiment
from sim.experiments.store import STEP_TABLES, SweepStore
from sim.experiments.sweep import (
    MAX_BATCH,
    TRACE_BUDGET_BYTES,
    _guided_batches,
    batch_limit,
    run_sweep,
)
from tests.builders import build, small_economy_dict, tiny_experiment


def _experiment(tmp_path: Path) -> Path:
    return tiny_experiment(tmp_path, years=0.5, record_steps=True)


def _sweep(tmp_path: Path, name: str, **store_options) -> tuple[SweepStore, list[int]]:
    """Run the experiment into a store; return it and the bytes buffered after each run."""
    experiment, base = load_experiment(_experiment(tmp_path))
    store = SweepStore(tmp_path / name, **store_options)
    buffered = []
    run_sweep(experiment, base, store, backend="serial", progress=False,
              on_outcome=lambda outcome: buffered.append(store.buffered_bytes))  # fmt: skip
    return store, buffered


def test_step_rows_are_flushed_once_they_take_flush_bytes(tmp_path):
    whole, by_count = _sweep(tmp_path, "by-count", flush_every=1000)
    assert by_count == sorted(by_count) and by_count[0] > 0, "runs accumulate, none flushed"
    limit = int(by_count[0] * 1.5)  # more than one run's step rows, less than two
    sized, buffered = _sweep(tmp_path, "by-size", flush_every=1000, flush_bytes=limit)
    assert len(list((tmp_path / "by-count" / "runs").glob("part-*"))) == 1
    assert len(list((tmp_path / "by-size" / "runs").glob("part-*"))) == 2, "every second run"
    assert max(buffered) < limit, "the buffer never holds flush_bytes after a run is added"
    for name in STEP_TABLES:
        pd.testing.assert_frame_equal(whole.read_steps(name), sized.read_steps(name))


def test_a_batch_of_a_large_economy_is_one_run():
    """A batch's trace (and so its step rows) stays within the budget: runs of a large
    economy (200 labs, weekly, 30 years) go one at a time, baseline runs by the hundred."""
    data = small_economy_dict()
    data["labs"] = [{**data["labs"][i % 4], "name": f"lab{i}"} for i in range(200)]
    large = build(data, years=30, steps_per_year=52)
    assert batch_limit(large) == 1
    baseline = load_scenario(Path(__file__).resolve().parents[1] / "experiments/baseline.yaml")
    limit = batch_limit(baseline)
    assert 100 <= limit <= MAX_BATCH
    runs = list(range(5000))
    assert max(len(b) for b in _guided_batches(runs, 2, limit)) == limit
    assert bytes_per_run(*structure(baseline)) * limit <= TRACE_BUDGET_BYTES
