"""Memory stays bounded with record_steps: the store flushes by size as well as by count."""

from pathlib import Path

import pandas as pd
import yaml

from sim.experiment import load_experiment
from sim.store import STEP_TABLES, SweepStore
from sim.sweep import _guided_batches, run_sweep
from tests.builders import small_economy_dict


def _experiment(tmp_path: Path) -> Path:
    data = {
        "name": "tiny",
        "base": {**small_economy_dict(), "years": 0.5},
        "levers": [{"path": "policy.carbon_tax", "values": [0.0, 100.0]}],
        "replications": 2,
        "master_seed": 42,
        "backend": "serial",
        "record_steps": True,
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


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


def test_with_recorded_steps_every_task_is_one_run():
    """A batch of 16 runs of a large economy would bring 16 runs of step rows back at once."""
    runs = list(range(400))
    assert max(len(b) for b in _guided_batches(runs, 2)) == 16
    assert {len(b) for b in _guided_batches(runs, 2, record_steps=True)} == {1}
