"""Resume after a crash inside a flush: the runs part is the commit point of a flush."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

import sim.experiments.store
from sim.experiments.store import STEP_TABLES, SweepStore
from tests.builders import small_economy_dict, sweep_quietly

WRITES_PER_FLUSH = 1 + len(STEP_TABLES)  # the runs part and one part per step table


class Killed(BaseException):
    """Stands in for kill -9: nothing in the sweep catches it, nothing after it runs."""


def _experiment(tmp_path: Path) -> Path:
    data = {
        "name": "tiny",
        "base": {**small_economy_dict(), "years": 0.25},
        "levers": [{"path": "policy.carbon_tax", "values": [0.0, 50.0, 100.0]}],
        "replications": 2,
        "master_seed": 5,
        "backend": "serial",
        "record_steps": True,
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _crash_after(monkeypatch, writes: int) -> None:
    """Make the process 'die' once ``writes`` part files have been written."""
    real = sim.experiments.store.atomic_write_parquet
    done = []

    def write(frame, path, *args, **kwargs):
        if len(done) == writes:
            raise Killed(f"killed before writing {path}")
        real(frame, path, *args, **kwargs)
        done.append(path)

    monkeypatch.setattr(sim.experiments.store, "atomic_write_parquet", write)


def _raw_steps(folder: Path, name: str) -> pd.DataFrame:
    files = sorted((folder / "steps" / name).glob("part-*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


@pytest.mark.parametrize("into_flush", range(1, WRITES_PER_FLUSH))
def test_a_crash_between_the_parts_of_a_flush_resumes_to_the_whole_dataset(
    tmp_path, monkeypatch, into_flush
):
    path = _experiment(tmp_path)
    assert sweep_quietly(path, tmp_path / "whole", "--flush-every", "2") == 0
    with monkeypatch.context() as patch:
        _crash_after(patch, WRITES_PER_FLUSH + into_flush)  # dies inside the second flush
        with pytest.raises(Killed):
            sweep_quietly(path, tmp_path / "broken", "--flush-every", "2")
    broken = tmp_path / "broken" / "tiny"
    assert len(SweepStore(broken).completed_ids()) == 2, "only the first flush is committed"
    assert sweep_quietly(path, tmp_path / "broken", "--flush-every", "2") == 0
    whole = tmp_path / "whole" / "tiny"
    for name in STEP_TABLES:
        expected = SweepStore(whole).read_steps(name)
        pd.testing.assert_frame_equal(expected, SweepStore(broken).read_steps(name))
        assert len(_raw_steps(broken, name)) == len(expected), f"duplicate {name} step rows"
    columns = ["run_id", "status", "mean_final_loss"]
    pd.testing.assert_frame_equal(
        SweepStore(whole).read_runs(columns), SweepStore(broken).read_runs(columns)
    )
