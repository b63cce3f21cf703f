"""Which stored runs a sweep may reuse: only the very runs it would execute now.

A stored run is reused when its run id is planned, its latest row is ``ok``,
its engine version is this one and its scenario hash is the hash of the run
planned under that id (:mod:`sim.experiments.identity`). So a sweep can grow (more
replications, more Sobol samples: the stored runs keep their ids and
scenarios, only the new ones run), and other outputs analysed, another
backend or another description reuse everything.

Anything else is refused, never mixed: a stored ok run whose engine or
scenario differs from the planned run of its id means the folder holds
another experiment (or results of other code), and the error names what
differs: the engine versions, or the experiment fields (from the config the
stored runs' parts recorded, or the manifest). Failed runs are rerun whatever
their identity; stored runs the plan no longer has (fewer replications) are
kept in the store and left out of ``runs.parquet``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sim.config.diff import differences, summarize
from sim.experiments.identity import engine_version, run_hash
from sim.experiments.store import StoreMismatch, SweepStore

ADVICE = "choose another --out or remove the folder"


def reusable_runs(store: SweepStore, runs: list[Any], base: dict[str, Any], name: str) -> set[str]:
    """Run ids of ``runs`` that are stored ok with the identity they would have now.

    Args:
        store: the results store (opened, so no other process writes into it).
        runs: the planned :class:`sim.experiments.design.RunSpec` list.
        base: the experiment's base scenario mapping.
        name: the experiment's name.

    Raises:
        StoreMismatch: naming the engine versions or the experiment fields that
            differ, if a stored ok run is not the run planned under its id.
    """
    planned = {run.run_id: run for run in runs}
    stored = store.identities()
    ok = stored[(stored["status"] == "ok") & stored["run_id"].isin(planned)]
    _check_engine(store, ok)
    expected = [_expected_hash(base, planned[run_id], name) for run_id in ok["run_id"]]
    differ = ok[ok["scenario_hash"].to_numpy() != pd.Series(expected, dtype=object).to_numpy()]
    if len(differ):
        raise StoreMismatch(_scenario_message(store, differ))
    return set(ok["run_id"])


def _expected_hash(base: dict[str, Any], run: Any, name: str) -> str:
    """The run's scenario hash now, or "" if its scenario no longer validates (so it differs)."""
    try:
        return run_hash(base, run, name)
    except ValueError:  # ConfigError included: the run would fail now, it cannot be reused
        return ""


def _check_engine(store: SweepStore, ok: pd.DataFrame) -> None:
    current = engine_version()
    other = ok[ok["engine_version"] != current]
    if other.empty:
        return
    versions = sorted(set(other["engine_version"]))
    shown = ", ".join(v or "unknown (stored before runs recorded their identity)" for v in versions)
    raise StoreMismatch(
        f"{store.folder} holds {len(other)} runs made by engine {shown}, this is engine "
        f"{current}: results of other simulation code are not mixed with new ones; {ADVICE}"
    )


def _scenario_message(store: SweepStore, differ: pd.DataFrame) -> str:
    first = differ["run_id"].iloc[0]
    head = (
        f"{store.folder} holds {len(differ)} runs that are not the runs this experiment "
        f"plans under the same id (first {first})"
    )
    manifest = store.read_manifest() or {}
    stored = store.part_config(int(differ["part"].iloc[0])) or manifest.get("config")
    if stored is None:
        return f"{head}; the stored experiment is unknown (no config recorded); {ADVICE}"
    found = differences(_results_fields(stored), _results_fields(store.config or {}))
    if not found:
        return (
            f"{head}: the experiment is the same but the resolved scenarios differ (a default "
            f"of the scenario schema changed?); {ADVICE}"
        )
    return f"{head}; the experiment differs in: {summarize(found)}; {ADVICE}"


def _results_fields(config: dict[str, Any]) -> dict[str, Any]:
    """The config without the fields that do not change results (backend, outputs, ...)."""
    from sim.experiments.design import EXECUTION_FIELDS

    return {key: value for key, value in config.items() if key not in EXECUTION_FIELDS}
