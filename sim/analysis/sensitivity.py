"""Global sensitivity of a sweep's outputs to its levers: Sobol and Morris indices via SALib.

The analysis reads the runs table of a ``sobol`` or ``morris`` sweep (the
design points are SALib's own samples, see :func:`sim.experiments.design.sample_matrix`)
and returns one tidy table of indices: columns ``output``, ``lever``,
``index``, ``value`` and ``conf`` (half-width of the 95% confidence interval,
from SALib's bootstrap, seeded by the experiment's master seed; NaN where
SALib gives none). Sobol gives ``S1`` and ``ST`` (and ``S2`` for lever pairs,
named ``"a & b"``, with ``second_order``); Morris gives ``mu_star`` (with its
interval) and ``sigma``.

Replicates are averaged per design point before the analysis. SALib's
estimators assume a deterministic model, one output per sample row; the
simulation is stochastic, and its seed noise would otherwise count as
variance that no lever explains (deflating S1, inflating ST - S1 and Morris
sigma). Because replicate r uses the same seed at every point (common random
numbers), the replicate mean estimates the expected output at that point
with noise shrunk by the number of replicates, so the indices describe how
the levers move the mean outcome.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

from sim.economy.outputs import describe_breakdown, resolve_output_names
from sim.experiments.design import (
    SUMMARY_OUTPUTS,
    Experiment,
    design_size,
    salib_problem,
    sample_matrix,
)

DESIGNS = ("sobol", "morris")
CONF_LEVEL = 0.95
NUM_RESAMPLES = 100
INDEX_COLUMNS = ["output", "lever", "index", "value", "conf"]


class MissingRuns(Exception):
    """Some design points have no successful run, so the indices cannot be computed."""


def require_sensitivity_design(experiment: Experiment) -> None:
    """Check the experiment's design can be analysed.

    Raises:
        ValueError: for a design other than sobol or morris (its points are not SALib samples).
    """
    if experiment.design not in DESIGNS:
        raise ValueError(
            f"{experiment.name}: sensitivity needs design sobol or morris, got "
            f"{experiment.design!r} (its points are not SALib samples)"
        )


def resolve_outputs(outputs: list[str], scenario: Any = None) -> list[str]:
    """Validate output names: run outputs, or per-lab and per-region ones of ``scenario``.

    Args:
        outputs: the names asked for (``mean_final_loss``, ``min_final_loss[region=cn]``).
        scenario: the experiment's validated base scenario (None: run outputs only).

    Raises:
        ValueError: naming the unknown outputs and the allowed ones.
    """
    if scenario is not None:
        return resolve_output_names(outputs, [scenario], "--outputs")
    unknown = [o for o in outputs if o not in SUMMARY_OUTPUTS]
    if unknown:
        raise ValueError(f"--outputs: unknown {unknown}; allowed: {', '.join(SUMMARY_OUTPUTS)}")
    return list(dict.fromkeys(outputs))


def stored_outputs(runs: pd.DataFrame, outputs: list[str]) -> None:
    """Check the runs table holds every output (a store written before they existed may not).

    Raises:
        ValueError: naming unknown outputs, or outputs the stored runs lack.
    """
    known = set(SUMMARY_OUTPUTS)
    unknown = [o for o in outputs if o not in known and describe_breakdown(o) is None]
    if unknown:
        resolve_outputs(unknown)
    missing = [o for o in outputs if o not in runs.columns and o not in known]
    if missing:
        raise ValueError(
            f"--outputs: the stored runs have no column {missing} (stored by an older version, "
            "or every run failed); rerun the sweep into a fresh folder (--out)"
        )


def point_means(runs: pd.DataFrame, experiment: Experiment, outputs: list[str]) -> pd.DataFrame:
    """Mean of each output over the ok replicates of every design point, indexed by point.

    Raises:
        MissingRuns: naming the design points (and their lever values) without an ok run.
    """
    if {"point", "status"} <= set(runs.columns):
        ok = runs[runs["status"] == "ok"]
    else:  # an empty store: no runs at all
        ok = pd.DataFrame(columns=["point", *outputs])
    means = ok.groupby("point")[outputs].mean()
    expected = range(design_size(experiment))
    missing = [point for point in expected if point not in means.index]
    if missing:
        raise MissingRuns(_missing_message(missing, experiment))
    return means.reindex(expected)


def _missing_message(missing: list[int], experiment: Experiment) -> str:
    paths = [lever.path for lever in experiment.levers]
    matrix = sample_matrix(experiment)
    shown = [f"point {p} ({_lever_values(paths, matrix[p])})" for p in missing[:10]]
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return (
        f"{len(missing)} of {len(matrix)} design points have no successful run: "
        f"{'; '.join(shown)}{more}; fix the failures (see the runs table) and rerun"
    )


def _lever_values(paths: list[str], row: np.ndarray) -> str:
    return ", ".join(f"{path}={value:g}" for path, value in zip(paths, row, strict=True))


def sensitivity_indices(
    runs: pd.DataFrame, experiment: Experiment, outputs: list[str] | None = None
) -> pd.DataFrame:
    """Sobol or Morris indices of each output (the experiment's outputs by default).

    Args:
        runs: the sweep's runs table (columns ``point``, ``status`` and the outputs).
        experiment: the experiment that produced it (design, levers, seed).
        outputs: the outputs to analyse.

    Returns:
        Columns ``output``, ``lever``, ``index``, ``value``, ``conf``.

    Raises:
        ValueError: for a design other than sobol or morris, or unknown outputs.
        MissingRuns: if a design point has no ok run.
    """
    require_sensitivity_design(experiment)
    outputs = list(dict.fromkeys(outputs or experiment.outputs))
    stored_outputs(runs, outputs)
    means = point_means(runs, experiment, outputs)
    analyse = sobol_rows if experiment.design == "sobol" else morris_rows
    rows = [row for o in outputs for row in analyse(experiment, o, means[o].to_numpy(float))]
    return pd.DataFrame(rows, columns=INDEX_COLUMNS)


def _seed(experiment: Experiment) -> int:
    return int(experiment.master_seed % (2**32))


def sobol_rows(experiment: Experiment, output: str, y: np.ndarray) -> list[dict[str, Any]]:
    """S1 and ST (and S2 with ``second_order``) of one output from Saltelli samples."""
    from SALib.analyze import sobol

    problem = salib_problem(experiment)
    result = sobol.analyze(
        problem, y, calc_second_order=experiment.second_order, num_resamples=NUM_RESAMPLES,
        conf_level=CONF_LEVEL, seed=_seed(experiment),
    )  # fmt: skip
    names = problem["names"]
    rows = [
        _row(output, name, index, result[index][i], result[f"{index}_conf"][i])
        for index in ("S1", "ST")
        for i, name in enumerate(names)
    ]
    if experiment.second_order:
        for i, j in itertools.combinations(range(len(names)), 2):
            pair = f"{names[i]} & {names[j]}"
            rows.append(_row(output, pair, "S2", result["S2"][i, j], result["S2_conf"][i, j]))
    return rows


def morris_rows(experiment: Experiment, output: str, y: np.ndarray) -> list[dict[str, Any]]:
    """mu_star (with its interval) and sigma of one output from Morris trajectories."""
    from SALib.analyze import morris

    problem = salib_problem(experiment)
    result = morris.analyze(
        problem, sample_matrix(experiment), y, num_resamples=NUM_RESAMPLES,
        conf_level=CONF_LEVEL, num_levels=experiment.morris_levels, seed=_seed(experiment),
    )  # fmt: skip
    rows = []
    for i, name in enumerate(problem["names"]):
        rows.append(_row(output, name, "mu_star", result["mu_star"][i], result["mu_star_conf"][i]))
        rows.append(_row(output, name, "sigma", result["sigma"][i], math.nan))
    return rows


def _row(output: str, lever: str, index: str, value: Any, conf: Any) -> dict[str, Any]:
    return {"output": output, "lever": lever, "index": index, "value": float(value),
            "conf": float(conf)}  # fmt: skip


def format_indices(indices: pd.DataFrame) -> str:
    """The indices as a text table: one row per output and lever, ``value ± conf`` per index."""
    text = [
        f"{v:.3g} ± {c:.2g}" if math.isfinite(c) else f"{v:.3g}"
        for v, c in zip(indices["value"], indices["conf"], strict=True)
    ]
    shown = indices.assign(text=text).pivot_table(
        index=["output", "lever"], columns="index", values="text", aggfunc="first", sort=False
    )
    return shown.fillna("").to_string()
