"""An output folder never mixes two invocations (issue 15 item 5), and keeps what is not race's.

``race run --no-figures`` after a run with figures, or ``race compare`` after
``race report``, used to leave the old figures or report beside the new tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.cli.main import main
from sim.experiments.staging import OWNED_MANIFEST
from tests.builders import small_economy_dict

TABLES = {f"{name}.parquet" for name in
          ("labs", "markets", "edges", "economy", "ledger", "training_runs", "lab_summary",
           "summary")}  # fmt: skip


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({**small_economy_dict(), "name": "tiny", "years": 0.25}))
    return path


def run(config: Path, root: Path, *extra: str) -> int:
    return main(["run", str(config), "--results", str(root), "--out", "out", *extra])


def visible(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_run_without_figures_leaves_no_old_figures_nor_old_report(config, tmp_path):
    root = tmp_path / "results"
    assert run(config, root, "--seed", "1") == 0
    assert main(["report", str(root / "out")]) == 0
    assert {"loss.png", "network.svg", "report.html"} <= visible(root / "out")
    assert run(config, root, "--seed", "2", "--no-figures") == 0
    assert visible(root / "out") == TABLES | {"scenario.yaml"}
    assert pd.read_parquet(root / "out" / "summary.parquet").loc[0, "seed"] == 2
    assert not [p for p in root.iterdir() if p.name != "out"], "no staging folder left behind"


def test_files_race_did_not_write_are_kept_and_symlinks_not_followed(config, tmp_path):
    root = tmp_path / "results"
    outside = tmp_path / "precious.html"
    outside.write_text("mine")
    assert run(config, root) == 0
    folder = root / "out"
    (folder / "notes.txt").write_text("my notes")
    (folder / "mine").mkdir()
    (folder / "mine" / "loss.png").write_text("my own figure")
    (folder / "report.html").symlink_to(outside)  # a name race owns, but not a file race wrote
    assert run(config, root, "--no-figures") == 0
    names = visible(folder)
    assert not {n for n in names if n.endswith((".png", ".svg"))}
    assert {"notes.txt", "mine", "report.html"} <= names
    assert (folder / "notes.txt").read_text() == "my notes"
    assert (folder / "mine" / "loss.png").read_text() == "my own figure"
    assert (folder / "report.html").is_symlink() and outside.read_text() == "mine"


def test_a_manifest_cannot_name_files_outside_the_folder(config, tmp_path):
    root = tmp_path / "results"
    victim = root / "victim.txt"
    assert run(config, root, "--no-figures") == 0
    victim.write_text("keep")
    (root / "out" / "notes.txt").write_text("a file of the user's: files are removed by name")
    listing = {"command": "race run", "files": ["../victim.txt", str(victim), "labs.parquet"]}
    (root / "out" / OWNED_MANIFEST).write_text(json.dumps(listing))
    assert run(config, root, "--no-figures") == 0
    assert victim.read_text() == "keep"
    assert "labs.parquet" in visible(root / "out")


def test_a_run_that_fails_while_writing_leaves_the_earlier_outputs(config, tmp_path, monkeypatch):
    import sim.viz.figures

    root = tmp_path / "results"
    assert run(config, root, "--no-figures") == 0
    before = snapshot(root / "out")

    def disk_full(result, folder):
        (folder / "loss.png").write_bytes(b"half a figure")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sim.viz.figures, "write_run_figures", disk_full)
    with pytest.raises(OSError, match="No space"):
        run(config, root, "--seed", "9")
    assert snapshot(root / "out") == before
    assert [p.name for p in root.iterdir()] == ["out"]


def test_compare_again_leaves_no_old_report_and_keeps_other_files(tmp_path):
    base = {**small_economy_dict(), "name": "base", "years": 0.25}
    alt = {**base, "name": "taxed", "policy": {"carbon_tax": 200.0}}
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    (tmp_path / "alt.yaml").write_text(yaml.safe_dump(alt))
    argv = ["compare", str(tmp_path / "base.yaml"), str(tmp_path / "alt.yaml"), "--quiet",
            "--replications", "2", "--results", str(tmp_path), "--out", "cmp"]  # fmt: skip
    assert main(argv) == 0
    assert main(["report", str(tmp_path / "cmp")]) == 0
    (tmp_path / "cmp" / "README.txt").write_text("what this comparison is for")
    assert main([*argv, "--master-seed", "7"]) == 0
    expected = {"compare.csv", "pairs.csv", "compare.json", "compare.png", "compare.svg"}
    assert visible(tmp_path / "cmp") == expected | {"README.txt"}
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text())["master_seed"] == 7
    (tmp_path / "cmp" / "README.txt").unlink()
    assert main(["report", str(tmp_path / "cmp")]) == 0
    assert main([*argv, "--master-seed", "8"]) == 0  # only race's files: the folder is swapped
    assert visible(tmp_path / "cmp") == expected
