"""A sweep's points table: one row per design point, its levers and its analysed outputs.

Written beside ``runs.parquet`` whenever a sweep's runs are consolidated
(:meth:`sim.experiments.store.SweepStore.consolidate`), as ``points.parquet`` (with each
column's unit and description as field metadata) and ``points.csv``: columns
``point``, ``point_name`` (when the experiment names its points with
``point_names``), the lever values, ``runs_ok`` and, for each of the
experiment's ``outputs``, its mean over the point's ok replicates (NaN if
none finished). With ``experiments/table2.yaml`` this is the paper's Table 2:
a row per scenario with its fleet, its gamma and the years to each target.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

POINTS_FILES = ("points.parquet", "points.csv")


def lever_columns(config: dict[str, Any]) -> list[str]:
    """The lever paths of an experiment config (the keys of its points if it has no levers)."""
    paths = [lever["path"] for lever in config.get("levers") or []]
    if not paths:
        paths = list(dict.fromkeys(key for point in config.get("points") or [] for key in point))
    return paths


def points_table(runs: pd.DataFrame, config: dict[str, Any]) -> pd.DataFrame:
    """One row per design point of the runs table, sorted by point.

    Args:
        runs: a sweep's runs table (``point``, ``status``, the levers, the outputs).
        config: the experiment config that planned the runs (its ``levers``,
            ``outputs`` and ``point_names``).
    """
    outputs = list(config.get("outputs") or [])
    if runs.empty or "point" not in runs.columns:
        return pd.DataFrame(columns=["point", *lever_columns(config), "runs_ok", *outputs])
    runs = runs.reindex(columns=list(dict.fromkeys([*runs.columns, *outputs])))
    levers = [c for c in lever_columns(config) if c in runs.columns]
    by_point = runs.sort_values("point", kind="stable").groupby("point", sort=True)
    table = by_point[levers].first().reset_index()
    ok = runs[runs["status"] == "ok"].groupby("point")
    table["runs_ok"] = table["point"].map(ok.size()).fillna(0).astype("int64")
    means = ok[outputs].mean()
    for output in outputs:
        table[output] = table["point"].map(means[output]).astype("float64")
    names = config.get("point_names")
    if names:
        table.insert(1, "point_name", [names[p] if p < len(names) else "" for p in table["point"]])
    return table
