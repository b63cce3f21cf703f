"""A stored run is reused only if it is the same run: its scenario hash and engine version."""

import json
from pathlib import Path

import pandas as pd
import pytest

import sim.experiments.identity
import sim.experiments.store
from sim.experiments.design import load_experiment, plan_runs
from sim.experiments.identity import engine_version, run_hash
from sim.experiments.store import SweepStore
from tests.builders import small_economy_dict, sweep_quietly, tiny_experiment


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of a results folder and its bytes (the writer lock file aside)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".writer.lock"
    }


def test_every_stored_run_carries_the_hash_of_its_resolved_scenario_and_the_engine(tmp_path):
    path = tiny_experiment(tmp_path)
    assert sweep_quietly(path, tmp_path / "r") == 0
    runs = pd.read_parquet(tmp_path / "r" / "tiny" / "runs.parquet").set_index("run_id")
    experiment, base = load_experiment(path)
    for run in plan_runs(experiment):
        assert runs.loc[run.run_id, "scenario_hash"] == run_hash(base, run, "tiny")
    assert runs["scenario_hash"].nunique() == 4, "levers and seeds change the hash"
    assert set(runs["engine_version"]) == {engine_version()}
    assert engine_version() == f"{sim.__version__}+engine.{sim.experiments.identity.ENGINE_VERSION}"


def test_a_changed_experiment_is_refused_even_without_the_manifest(tmp_path, capsys):
    """The issue's case: manifest deleted, experiment changed, '4 already stored' and mixed."""
    assert sweep_quietly(tiny_experiment(tmp_path), tmp_path / "r") == 0
    folder = tmp_path / "r" / "tiny"
    (folder / "manifest.json").unlink()
    before = _snapshot(folder)
    capsys.readouterr()
    changed = tiny_experiment(tmp_path, base={**small_economy_dict(), "years": 0.25,
                                          "rnd": {"noise": 0.2}})  # fmt: skip
    assert sweep_quietly(changed, tmp_path / "r") == 2
    err = capsys.readouterr().err
    assert "are not the runs this experiment plans" in err and "Traceback" not in err
    assert "base.rnd.noise: 0.1 -> 0.2" in err, err
    assert _snapshot(folder) == before, "a refused resume writes and deletes nothing"


def test_a_stored_run_of_another_design_point_under_its_id_is_refused(tmp_path, capsys):
    assert sweep_quietly(tiny_experiment(tmp_path), tmp_path / "r") == 0
    capsys.readouterr()
    moved = tiny_experiment(tmp_path, levers=[{"path": "policy.carbon_tax", "values": [0.0, 50.0]}])
    assert sweep_quietly(moved, tmp_path / "r") == 2
    err = capsys.readouterr().err
    assert "holds 2 runs that are not the runs" in err and "(first p000001-r0000)" in err
    assert "levers.0.values.1: 100.0 -> 50.0" in err


def test_resuming_after_an_engine_change_is_refused_naming_both_versions(
    tmp_path, monkeypatch, capsys
):
    """The issue's case: a resume on changed code mixed old-code and new-code rows."""
    monkeypatch.setattr(sim.experiments.identity, "ENGINE_VERSION", 1)
    assert sweep_quietly(tiny_experiment(tmp_path), tmp_path / "r") == 0
    folder = tmp_path / "r" / "tiny"
    before = _snapshot(folder)
    capsys.readouterr()
    monkeypatch.setattr(sim.experiments.identity, "ENGINE_VERSION", 2)
    assert sweep_quietly(tiny_experiment(tmp_path, replications=3), tmp_path / "r") == 2
    err = capsys.readouterr().err
    old, new = f"{sim.__version__}+engine.1", f"{sim.__version__}+engine.2"
    assert f"holds 4 runs made by engine {old}, this is engine {new}" in err, err
    assert _snapshot(folder) == before, "the manifest (git SHA included) is not rewritten"


def test_a_store_written_before_runs_had_an_identity_is_refused(tmp_path, capsys):
    assert sweep_quietly(tiny_experiment(tmp_path), tmp_path / "r") == 0
    folder = tmp_path / "r" / "tiny"
    part = folder / "runs" / "part-000001.parquet"
    pd.read_parquet(part).drop(columns=["scenario_hash", "engine_version"]).to_parquet(part)
    manifest = json.loads((folder / "manifest.json").read_text())
    for newer in ("parts", "checksum", "sessions", "engine_version"):  # an older manifest
        manifest.pop(newer)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    assert sweep_quietly(tiny_experiment(tmp_path), tmp_path / "r") == 2
    assert "engine unknown (stored before runs recorded their identity)" in capsys.readouterr().err


def test_failed_runs_are_rerun_whatever_their_identity(tmp_path, monkeypatch):
    import sim.experiments.sweep

    real = sim.experiments.sweep.run_batch
    monkeypatch.setattr(sim.experiments.sweep, "run_batch", lambda *a, **k: 1 / 0)
    assert sweep_quietly(tiny_experiment(tmp_path), tmp_path / "r") == 1
    monkeypatch.setattr(sim.experiments.sweep, "run_batch", real)
    identity = sim.experiments.identity
    monkeypatch.setattr(identity, "ENGINE_VERSION", identity.ENGINE_VERSION + 1)
    assert sweep_quietly(tiny_experiment(tmp_path), tmp_path / "r") == 0
    assert len(SweepStore(tmp_path / "r" / "tiny").completed_ids()) == 4


def test_every_session_keeps_its_git_sha_in_the_manifest(tmp_path, monkeypatch):
    monkeypatch.setattr(sim.experiments.store, "git_sha", lambda: "a" * 40)
    assert sweep_quietly(tiny_experiment(tmp_path), tmp_path / "r") == 0
    monkeypatch.setattr(sim.experiments.store, "git_sha", lambda: "b" * 40)
    assert sweep_quietly(tiny_experiment(tmp_path, replications=3), tmp_path / "r") == 0
    manifest = SweepStore(tmp_path / "r" / "tiny").read_manifest()
    assert [s["git_sha"] for s in manifest["sessions"]] == ["a" * 40, "b" * 40]
    assert all(s["engine_version"] == engine_version() for s in manifest["sessions"])


@pytest.mark.parametrize("label", ["description", "name"])
def test_labels_of_a_scenario_are_not_part_of_its_identity(label):
    from sim.config.scenario import parse_scenario
    from sim.experiments.identity import scenario_hash

    one = parse_scenario(small_economy_dict())
    other = parse_scenario({**small_economy_dict(), label: "something-else"})
    assert scenario_hash(one) == scenario_hash(other)
    assert scenario_hash(one) != scenario_hash(parse_scenario({**small_economy_dict(), "seed": 8}))
