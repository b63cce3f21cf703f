"""Outputs derived from a run's tables: realized gamma, time to target, concentration.

The realized gamma is the headline link back to the paper: the least-squares
slope of ``log2(efficiency)`` against time, where efficiency is the logical
FLOP a lab actually obtained per MW-year delivered in each step (hardware,
utilization and software together). For a lab with exogenous gamma and a
fixed fleet it equals that gamma exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.economy.clearing import hhi
from sim.economy.payments import GOVERNMENT

LOSS_POINT = 0.01  # nats: "cost per loss point" is USD per 0.01 nats of loss reduction


def realized_gamma(t: np.ndarray, efficiency: np.ndarray) -> float:
    """Doublings per year: OLS slope of log2(efficiency) on t over finite, positive points.

    Returns NaN with fewer than two usable points.
    """
    t = np.asarray(t, dtype=float)
    efficiency = np.asarray(efficiency, dtype=float)
    usable = np.isfinite(efficiency) & (efficiency > 0) & np.isfinite(t)
    if usable.sum() < 2:
        return math.nan
    x, y = t[usable], np.log2(efficiency[usable])
    x_centered = x - x.mean()
    denominator = float(x_centered @ x_centered)
    if denominator == 0:
        return math.nan
    return float(x_centered @ (y - y.mean()) / denominator)


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

    Between the two steps around the crossing, log(relative loss) is
    interpolated linearly in time.
    """
    t = np.asarray(t, dtype=float)
    relative = np.asarray(relative, dtype=float)
    hits = np.flatnonzero(relative <= target)
    if hits.size == 0:
        return math.nan
    i = int(hits[0])
    if i == 0:
        return float(t[0])
    r0, r1 = math.log(relative[i - 1]), math.log(relative[i])
    fraction = (r0 - math.log(target)) / (r0 - r1) if r0 != r1 else 1.0
    return float(t[i - 1] + fraction * (t[i] - t[i - 1]))


def target_column(target: float) -> str:
    """Column name for the years to reach a relative-loss target."""
    return f"years_to_R{target:g}"


def lab_summary(labs: pd.DataFrame, targets: list[float]) -> pd.DataFrame:
    """One row per lab: final state, realized gammas, time to targets, cost and energy per point."""
    order, bounds = lab_step_order(labs)
    spend_columns = [c for c in labs.columns if c.startswith("spend_")]
    columns = {name: np.asarray(labs[name].to_numpy())[order] for name in _SUMMARY_INPUTS}
    spend = labs[spend_columns].to_numpy(dtype=float)[order].sum(axis=1)
    rows = [
        _one_lab(
            {name: values[start:end] for name, values in columns.items()},
            spend[start:end],
            targets,
        )
        for start, end in bounds
    ]
    return pd.DataFrame(rows)


_SUMMARY_INPUTS = (
    "lab", "region", "strategy", "t", "loss", "relative_excess_loss", "compute", "efficiency",
    "hardware_efficiency", "software_multiplier", "fleet_units", "market_share",
    "energy_mwh", "cash",
)  # fmt: skip


def _group_bounds(keys: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of equal keys in a sorted array."""
    changes = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate(([0], changes))
    ends = np.concatenate((changes, [len(keys)]))
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _one_lab(lab: dict[str, np.ndarray], spend_per_step: np.ndarray, targets: list[float]) -> dict:
    """Summary of one lab from its step-ordered columns (step 0 first)."""
    t, loss = lab["t"], lab["loss"]
    spend = float(spend_per_step[1:].sum())
    energy = float(lab["energy_mwh"][1:].sum())
    points = (loss[0] - loss[-1]) / LOSS_POINT
    row = {
        "lab": lab["lab"][-1],
        "region": lab["region"][-1],
        "strategy": lab["strategy"][-1],
        "initial_loss": float(loss[0]),
        "final_loss": float(loss[-1]),
        "final_relative_excess_loss": float(lab["relative_excess_loss"][-1]),
        "final_compute": float(lab["compute"][-1]),
        "realized_gamma": realized_gamma(t[1:], lab["efficiency"][1:]),
        "realized_gamma_hardware": realized_gamma(t[1:], lab["hardware_efficiency"][1:]),
        "realized_gamma_software": realized_gamma(t, lab["software_multiplier"]),
        "final_fleet_units": float(lab["fleet_units"][-1]),
        "final_market_share": float(lab["market_share"][-1]),
        "total_spend": spend,
        "total_energy_mwh": energy,
        "cost_per_loss_point": spend / points if points > 0 else math.nan,
        "energy_per_loss_point": energy / points if points > 0 else math.nan,
        "final_cash": float(lab["cash"][-1]),
    }
    for target in targets:
        row[target_column(target)] = time_to_target(t, lab["relative_excess_loss"], target)
    return row


def run_summary(tables: dict[str, pd.DataFrame], labs_summary: pd.DataFrame) -> dict:
    """The one-row summary of a run: leader, concentration, totals, market stress."""
    labs, markets, ledger = tables["labs"], tables["markets"], tables["ledger"]
    steps = labs["step"].to_numpy()
    final = steps == steps.max()
    kind = markets["kind"].to_numpy()
    energy, chips = kind == "energy", kind == "chips"
    leader = int(np.argmin(labs_summary["final_loss"].to_numpy()))
    amount = ledger["amount"].to_numpy()
    government = _sum(amount[ledger["payee"].to_numpy() == GOVERNMENT]) - _sum(
        amount[ledger["payer"].to_numpy() == GOVERNMENT]
    )

    def column(frame: pd.DataFrame, name: str, rows: np.ndarray) -> np.ndarray:
        return frame[name].to_numpy(dtype=float)[rows]

    return {
        "leader": labs_summary["lab"].iloc[leader],
        "leader_final_loss": float(labs_summary["final_loss"].iloc[leader]),
        "mean_final_loss": _mean(column(labs, "loss", final)),
        "mean_realized_gamma": _mean(labs_summary["realized_gamma"].to_numpy(dtype=float)),
        "hhi_compute": float(hhi(column(labs, "compute", final))),
        "hhi_market_share": float(hhi(column(labs, "market_share", final))),
        "total_compute": _sum(column(labs, "compute", final)),
        "total_energy_mwh": _sum(column(markets, "energy_mwh", energy)),
        "total_emissions_t": _sum(column(markets, "emissions_t", energy)),
        "mean_energy_price": _weighted_price(
            column(markets, "price", energy), column(markets, "energy_mwh", energy)
        ),
        "max_chip_price_index": _max(column(markets, "price_index", chips)),
        "total_chip_shortage": _sum(column(markets, "shortage", chips)),
        "total_chips_sold": _sum(column(markets, "sold", chips)),
        "government_net_revenue": float(government),
        "total_lab_spend": _sum(labs_summary["total_spend"].to_numpy(dtype=float)),
    }


def _sum(values: np.ndarray) -> float:
    """Sum skipping NaN, as pandas sums (NaN counted as 0, in the same order)."""
    return float(np.nansum(values))


def _mean(values: np.ndarray) -> float:
    """Mean skipping NaN, as pandas' ``mean`` computes it; NaN if all are NaN."""
    count = int((~np.isnan(values)).sum())
    return float(np.nansum(values) / count) if count else math.nan


def _max(values: np.ndarray) -> float:
    """Largest non-NaN value (as pandas' ``max``), NaN if there are none."""
    kept = values[~np.isnan(values)]
    return float(kept.max()) if len(kept) else math.nan


def _weighted_price(price: np.ndarray, weights: np.ndarray) -> float:
    if weights.sum() <= 0:
        return math.nan
    return float(np.average(price, weights=weights))
