"""Symbolic links inside the results tree are never followed to write or delete."""

from pathlib import Path

import yaml

from tests.builders import small_economy_dict, sweep_quietly


def _experiment(tmp_path: Path, **changes) -> Path:
    data = {
        "name": "tiny",
        "base": {**small_economy_dict(), "years": 0.25},
        "levers": [{"path": "policy.carbon_tax", "values": [0.0, 100.0]}],
        "replications": 1,
        "master_seed": 42,
        "backend": "serial",
        **changes,
    }
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _outside(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the sweep's")
    return outside


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_linked_runs_folder_is_refused_and_nothing_is_written_through_it(tmp_path, capsys):
    """The issue's case: a directory link made a sweep write a part outside the root."""
    outside = _outside(tmp_path)
    folder = tmp_path / "r" / "tiny"
    folder.mkdir(parents=True)
    (folder / "runs").symlink_to(outside, target_is_directory=True)
    assert sweep_quietly(_experiment(tmp_path), tmp_path / "r") == 2
    err = capsys.readouterr().err
    assert f"{folder / 'runs'} is a symbolic link inside the results folder" in err
    assert "Traceback" not in err
    assert _files(outside) == ["keep.txt"]


def test_a_resume_deletes_nothing_through_a_linked_steps_folder(tmp_path, capsys):
    """The issue's case: a resume removed 'uncommitted' parts in a linked folder outside."""
    path = _experiment(tmp_path, record_steps=True)
    assert sweep_quietly(path, tmp_path / "r") == 0
    outside = _outside(tmp_path)
    (outside / "part-000099.parquet").write_bytes(b"someone else's data")
    (outside / ".part-000100.parquet.x.tmp").write_bytes(b"someone else's temporary")
    labs = tmp_path / "r" / "tiny" / "steps" / "labs"
    for part in labs.iterdir():
        part.unlink()
    labs.rmdir()
    labs.symlink_to(outside, target_is_directory=True)
    capsys.readouterr()
    assert sweep_quietly(_experiment(tmp_path, record_steps=True, replications=2),
                         tmp_path / "r") == 2  # fmt: skip
    assert f"{labs} is a symbolic link" in capsys.readouterr().err
    assert _files(outside) == [".part-000100.parquet.x.tmp", "keep.txt", "part-000099.parquet"]


def test_an_out_folder_reached_through_a_link_is_refused(tmp_path, capsys):
    real = tmp_path / "r" / "real"
    real.mkdir(parents=True)
    (tmp_path / "r" / "alias").symlink_to(real, target_is_directory=True)
    assert sweep_quietly(_experiment(tmp_path), tmp_path / "r", "--out", "alias/tiny") == 2
    assert "alias is a symbolic link inside the results folder" in capsys.readouterr().err
    assert _files(real) == []


def test_the_results_root_itself_may_be_a_link(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    (tmp_path / "r").symlink_to(disk, target_is_directory=True)
    assert sweep_quietly(_experiment(tmp_path), tmp_path / "r") == 0
    assert (disk / "tiny" / "runs.parquet").is_file()
