"""A full disk mid-sweep: one line naming the file, manifest "failed", stored runs intact."""

import errno
import os
from pathlib import Path

import pandas as pd

import sim.experiments.store
from sim.experiments.store import SweepStore
from tests.builders import sweep_quietly, tiny_experiment

TIMING = ["duration_s"]


def _experiment(tmp_path: Path) -> Path:
    return tiny_experiment(tmp_path, record_steps=True)


def _fill_the_disk_at(monkeypatch, name: str, part: str) -> None:
    """Make the fsync of ``steps/<name>/<part>`` fail with ENOSPC, once (its temporary is freed)."""
    real_write, real_fsync = sim.experiments.store.atomic_write_parquet, os.fsync
    state = {"armed": False, "done": False}

    def write(frame, path, *args, **kwargs):
        state["armed"] = Path(path).parent.name == name and Path(path).name == part
        real_write(frame, path, *args, **kwargs)

    def fsync(fd):
        if state["armed"] and not state["done"]:
            state["done"] = True
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(sim.experiments.store, "atomic_write_parquet", write)
    monkeypatch.setattr(os, "fsync", fsync)


def test_a_full_disk_is_one_line_and_the_rerun_completes_the_dataset(tmp_path, monkeypatch, capsys):
    path = _experiment(tmp_path)
    folder = tmp_path / "r" / "tiny"
    with monkeypatch.context() as patch:
        _fill_the_disk_at(patch, "labs", "part-000002.parquet")
        assert sweep_quietly(path, tmp_path / "r", "--flush-every", "2") == 2
    err = capsys.readouterr().err
    part = folder / "steps" / "labs" / "part-000002.parquet"
    assert f"cannot write {part}: no space left on device" in err, err
    assert "Traceback" not in err and err.count("\n") == 1
    assert SweepStore(folder).read_manifest()["status"] == "failed"
    assert len(SweepStore(folder).completed_ids()) == 2, "the first flush stays committed"
    assert not list(folder.rglob("*.tmp")) and not part.exists()
    assert sweep_quietly(path, tmp_path / "r") == 0
    assert "2 already stored, 2 run" in capsys.readouterr().out
    assert sweep_quietly(path, tmp_path / "whole") == 0
    whole = pd.read_parquet(tmp_path / "whole" / "tiny" / "runs.parquet").drop(columns=TIMING)
    pd.testing.assert_frame_equal(
        whole, pd.read_parquet(folder / "runs.parquet").drop(columns=TIMING)
    )
