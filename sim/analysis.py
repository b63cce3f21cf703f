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

from sim.markets import hhi

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
    positions = np.arange(len(labs))
    for _, index in labs.groupby("lab", sort=False, observed=True).indices.items():
        rows = positions[index]
        rows = rows[np.argsort(labs["step"].to_numpy()[rows], kind="stable")]
        t = labs["t"].to_numpy(dtype=float)[rows]
        efficiency = labs["efficiency"].to_numpy(dtype=float)[rows]
        out[rows] = rolling_slopes(t, efficiency, window_steps)
    return pd.Series(out, index=labs.index, name="realized_gamma_trailing")


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
    ordered = labs.sort_values(["lab", "step"], kind="stable")
    spend_columns = [c for c in labs.columns if c.startswith("spend_")]
    columns = {name: ordered[name].to_numpy() for name in _SUMMARY_INPUTS}
    spend = ordered[spend_columns].to_numpy(dtype=float).sum(axis=1)
    bounds = _group_bounds(ordered["lab"].to_numpy())
    rows = [
        _one_lab(
            {name: values[start:end] for name, values in columns.items()},
            spend[start:end],
            targets,
        )
        for start, end in bounds
    ]
    order = {name: i for i, name in enumerate(pd.unique(labs["lab"]))}
    return pd.DataFrame(sorted(rows, key=lambda row: order[row["lab"]]))


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
    labs, markets = tables["labs"], tables["markets"]
    final = labs[labs["step"] == labs["step"].max()]
    energy = markets[markets["kind"] == "energy"]
    chips = markets[markets["kind"] == "chips"]
    leader = labs_summary.loc[labs_summary["final_loss"].idxmin()]
    ledger = tables["ledger"]
    government = (
        ledger.loc[ledger["payee"] == "government", "amount"].sum()
        - ledger.loc[ledger["payer"] == "government", "amount"].sum()
    )
    return {
        "leader": leader["lab"],
        "leader_final_loss": float(leader["final_loss"]),
        "mean_final_loss": float(final["loss"].mean()),
        "mean_realized_gamma": float(labs_summary["realized_gamma"].mean()),
        "hhi_compute": hhi(final["compute"].to_numpy()),
        "hhi_market_share": hhi(final["market_share"].to_numpy()),
        "total_compute": float(final["compute"].sum()),
        "total_energy_mwh": float(energy["energy_mwh"].sum()),
        "total_emissions_t": float(energy["emissions_t"].sum()),
        "mean_energy_price": _weighted_price(energy),
        "max_chip_price_index": float(chips["price_index"].max()),
        "total_chip_shortage": float(chips["shortage"].sum()),
        "total_chips_sold": float(chips["sold"].sum()),
        "government_net_revenue": float(government),
        "total_lab_spend": float(labs_summary["total_spend"].sum()),
    }


def _weighted_price(energy: pd.DataFrame) -> float:
    weights = energy["energy_mwh"].to_numpy()
    if weights.sum() <= 0:
        return math.nan
    return float(np.average(energy["price"].to_numpy(), weights=weights))
