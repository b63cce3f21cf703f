"""A damaged part or manifest is found on resume and named, with the way to recover."""

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import sim.experiments.store
from tests.builders import sweep_quietly, tiny_experiment

TIMING = ["duration_s"]


class Killed(BaseException):
    """Stands in for kill -9: nothing in the sweep catches it, nothing after it runs."""


def _experiment(tmp_path: Path) -> Path:
    return tiny_experiment(tmp_path, record_steps=True)


def _flip_a_data_byte(part: Path) -> None:
    """Change one byte inside the last page of the part's first column (the file still parses)."""
    column = pq.ParquetFile(part).metadata.row_group(0).column(0)
    offset = column.data_page_offset + column.total_compressed_size - 1
    data = bytearray(part.read_bytes())
    data[offset] ^= 0x01
    part.write_bytes(bytes(data))


def _runs(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "runs.parquet").drop(columns=TIMING)


@pytest.fixture
def swept(tmp_path) -> Path:
    """A finished sweep (two flushes of two runs) and the uninterrupted dataset next to it."""
    path = _experiment(tmp_path)
    assert sweep_quietly(path, tmp_path / "whole") == 0
    assert sweep_quietly(path, tmp_path / "r", "--flush-every", "2") == 0
    return tmp_path / "r" / "tiny"


@pytest.mark.parametrize("part", ["runs/part-000002.parquet", "steps/labs/part-000001.parquet"])
def test_a_changed_part_is_named_and_removing_its_runs_part_recovers(tmp_path, swept, capsys, part):
    _flip_a_data_byte(swept / part)
    capsys.readouterr()
    assert sweep_quietly(_experiment(tmp_path), tmp_path / "r") == 2
    err = capsys.readouterr().err
    assert f"{swept / part} is damaged (its SHA-256 differs from the manifest's)" in err, err
    runs_part = swept / "runs" / Path(part).name
    assert f"remove {runs_part} and rerun" in err and "Traceback" not in err
    runs_part.unlink()
    assert sweep_quietly(_experiment(tmp_path), tmp_path / "r") == 0
    assert "2 already stored, 2 run" in capsys.readouterr().out
    pd.testing.assert_frame_equal(_runs(tmp_path / "whole" / "tiny"), _runs(swept))
    whole = sim.experiments.store.SweepStore(tmp_path / "whole" / "tiny")
    for name in sim.experiments.store.STEP_TABLES:
        expected = whole.read_steps(name)
        stored = sim.experiments.store.SweepStore(swept).read_steps(name)
        pd.testing.assert_frame_equal(expected, stored)


def test_a_missing_step_part_of_stored_runs_is_named(tmp_path, swept, capsys):
    (swept / "steps" / "economy" / "part-000001.parquet").unlink()
    capsys.readouterr()
    assert sweep_quietly(_experiment(tmp_path), tmp_path / "r") == 2
    err = capsys.readouterr().err
    assert "steps/economy/part-000001.parquet is damaged (missing, though its runs" in err


def test_a_part_written_after_the_last_manifest_is_checked_by_its_page_checksums(
    tmp_path, monkeypatch, capsys
):
    """kill -9 after a flush: the part is committed but the manifest never recorded it."""
    real = sim.experiments.store.atomic_write_parquet
    written = []

    def write(frame, path, *args, **kwargs):
        if len(written) == 3:  # the first flush (two step parts, one runs part) is done
            raise Killed
        real(frame, path, *args, **kwargs)
        written.append(path)

    with monkeypatch.context() as patch:
        patch.setattr(sim.experiments.store, "atomic_write_parquet", write)
        with pytest.raises(Killed):
            sweep_quietly(_experiment(tmp_path), tmp_path / "r", "--flush-every", "2")
    folder = tmp_path / "r" / "tiny"
    assert json.loads((folder / "manifest.json").read_text())["parts"] == {}
    _flip_a_data_byte(folder / "steps" / "labs" / "part-000001.parquet")
    capsys.readouterr()
    assert sweep_quietly(_experiment(tmp_path), tmp_path / "r") == 2
    err = capsys.readouterr().err
    assert "steps/labs/part-000001.parquet is damaged (unreadable: " in err
    assert "CRC checksum verification failed" in err, err


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda text: text[: len(text) // 2], "not valid JSON"),
        (
            lambda text: text.replace('"master_seed": 42', '"master_seed": 43'),
            "its checksum differs",
        ),
    ],
    ids=["truncated", "edited"],
)
def test_a_damaged_manifest_is_named_and_removing_it_loses_no_run(
    tmp_path, swept, capsys, damage, reason
):
    manifest = swept / "manifest.json"
    manifest.write_text(damage(manifest.read_text()))
    capsys.readouterr()
    assert sweep_quietly(_experiment(tmp_path), tmp_path / "r") == 2
    err = capsys.readouterr().err
    assert f"{manifest} is damaged ({reason}" in err and "remove it and rerun" in err, err
    manifest.unlink()
    assert sweep_quietly(_experiment(tmp_path), tmp_path / "r") == 0
    assert "4 already stored, 0 run" in capsys.readouterr().out
