"""Analyses of a run's tables: realized gamma (overall and over a trailing year), time to target.

The per-run outputs themselves are declared in :mod:`sim.economy.outputs`,
which computes them for a whole batch; the functions here apply the same
rules to one series of a table.

The realized gamma is the headline link back to the paper: the least-squares
slope of ``log2(efficiency)`` against time, where efficiency is the logical
FLOP a lab actually obtained per MW-year delivered in each step (hardware,
utilization and software together). For a lab with exogenous gamma and a
fixed fleet it equals that gamma exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.economy import outputs


def realized_gamma(t: np.ndarray, efficiency: np.ndarray) -> float:
    """Doublings per year: OLS slope of log2(efficiency) on t over finite, positive points.

    One series of :func:`sim.economy.outputs.realized_gamma`; NaN with fewer
    than two usable points.
    """
    t = np.asarray(t, dtype=float)
    efficiency = np.asarray(efficiency, dtype=float)
    return float(outputs.realized_gamma(t[None, :], efficiency[None, :, None])[0, 0])


def trailing_gamma(labs: pd.DataFrame, window_steps: int) -> pd.Series:
    """Per step, each lab's realized gamma over its trailing ``window_steps`` steps.

    The OLS slope of log2(efficiency) on t within the window (NaN until the
    window holds two usable points): the per-step view of :func:`realized_gamma`,
    computed for every window at once from running sums.
    """
    out = np.full(len(labs), np.nan)
    t = labs["t"].to_numpy(dtype=float)
    efficiency = labs["efficiency"].to_numpy(dtype=float)
    order, bounds = lab_step_order(labs)
    for start, end in bounds:
        rows = order[start:end]
        out[rows] = rolling_slopes(t[rows], efficiency[rows], window_steps)
    return pd.Series(out, index=labs.index, name="realized_gamma_trailing")


def lab_step_order(labs: pd.DataFrame) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Row positions sorted by lab, then step (stable), and each lab's (start, end) in them.

    Labs come in order of first appearance. One ``np.lexsort`` on integer
    codes: pandas' multi-column sort and groupby cost more than the analysis.
    """
    codes, _ = pd.factorize(labs["lab"], sort=False)
    order = np.lexsort((labs["step"].to_numpy(), codes))
    return order, _group_bounds(codes[order])


def rolling_slopes(t: np.ndarray, efficiency: np.ndarray, window: int) -> np.ndarray:
    """OLS slope of log2(efficiency) on t over each trailing window of ``window`` points.

    Unusable points (non-finite or non-positive efficiency) are left out of
    their windows; a window with fewer than two usable points gives NaN.
    """
    usable = np.isfinite(efficiency) & (efficiency > 0) & np.isfinite(t)
    x = np.where(usable, t - t[usable].mean() if usable.any() else 0.0, 0.0)
    y = np.where(usable, np.log2(np.where(usable, efficiency, 1.0)), 0.0)
    n, sx, sy = (_window_sums(a, window) for a in (usable.astype(float), x, y))
    sxx, sxy = _window_sums(x * x, window), _window_sums(x * y, window)
    denominator = n * sxx - sx * sx
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (n * sxy - sx * sy) / denominator
    return np.where((n >= 2) & (denominator > 1e-12 * np.maximum(n * sxx, 1e-300)), slope, np.nan)


def _window_sums(values: np.ndarray, window: int) -> np.ndarray:
    """Sum of each trailing window ``values[max(0, i - window + 1) : i + 1]``."""
    running = np.concatenate(([0.0], np.cumsum(values)))
    ends = np.arange(1, len(values) + 1)
    return running[ends] - running[np.maximum(ends - window, 0)]


def time_to_target(t: np.ndarray, relative: np.ndarray, target: float) -> float:
    """First time the relative (excess) loss reaches ``target``, or NaN if it never does.

    One series of :func:`sim.economy.outputs.time_to_target` (log-linear
    interpolation between the two steps around the crossing).
    """
    t = np.asarray(t, dtype=float)
    relative = np.asarray(relative, dtype=float)
    return float(outputs.time_to_target(t[None, :], relative[None, :, None], target)[0, 0])


def _group_bounds(keys: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of equal keys in a sorted array."""
    changes = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate(([0], changes))
    ends = np.concatenate((changes, [len(keys)]))
    return list(zip(starts.tolist(), ends.tolist(), strict=True))
