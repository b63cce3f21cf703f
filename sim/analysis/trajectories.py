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

from sim.economy import outputs


def realized_gamma(t: np.ndarray, efficiency: np.ndarray) -> float:
    """Doublings per year: OLS slope of log2(efficiency) on t over finite, positive points.

    One series of :func:`sim.economy.outputs.realized_gamma`; NaN with fewer
    than two usable points.
    """
    t = np.asarray(t, dtype=float)
    efficiency = np.asarray(efficiency, dtype=float)
    return float(outputs.realized_gamma(t[None, :], efficiency[None, :, None])[0, 0])


def time_to_target(t: np.ndarray, relative: np.ndarray, target: float) -> float:
    """First time the relative (excess) loss reaches ``target``, or NaN if it never does.

    One series of :func:`sim.economy.outputs.time_to_target` (log-linear
    interpolation between the two steps around the crossing).
    """
    t = np.asarray(t, dtype=float)
    relative = np.asarray(relative, dtype=float)
    return float(outputs.time_to_target(t[None, :], relative[None, :, None], target)[0, 0])
