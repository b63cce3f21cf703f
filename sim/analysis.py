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
    window holds two usable points): the per-step view of :func:`realized_gamma`.
    """
    out = pd.Series(np.nan, index=labs.index, name="realized_gamma_trailing")
    for _, group in labs.groupby("lab", sort=False, observed=True):
        t, efficiency = group["t"].to_numpy(), group["efficiency"].to_numpy()
        values = [
            realized_gamma(
                t[max(0, i - window_steps + 1) : i + 1],
                efficiency[max(0, i - window_steps + 1) : i + 1],
            )
            for i in range(len(group))
        ]
        out.loc[group.index] = values
    return out


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
    rows = [_one_lab(name, group, targets) for name, group in labs.groupby("lab", sort=False)]
    return pd.DataFrame(rows)


def _one_lab(name: str, group: pd.DataFrame, targets: list[float]) -> dict:
    group = group.sort_values("step")
    flows = group.iloc[1:]
    first, last = group.iloc[0], group.iloc[-1]
    spend_columns = [c for c in group.columns if c.startswith("spend_")]
    spend = float(flows[spend_columns].to_numpy().sum())
    energy = float(flows["energy_mwh"].sum())
    points = (first["loss"] - last["loss"]) / LOSS_POINT
    row = {
        "lab": name,
        "region": last["region"],
        "strategy": last["strategy"],
        "initial_loss": float(first["loss"]),
        "final_loss": float(last["loss"]),
        "final_relative_excess_loss": float(last["relative_excess_loss"]),
        "final_compute": float(last["compute"]),
        "realized_gamma": realized_gamma(flows["t"], flows["efficiency"]),
        "realized_gamma_hardware": realized_gamma(flows["t"], flows["hardware_efficiency"]),
        "realized_gamma_software": realized_gamma(group["t"], group["software_multiplier"]),
        "final_fleet_units": float(last["fleet_units"]),
        "final_market_share": float(last["market_share"]),
        "total_spend": spend,
        "total_energy_mwh": energy,
        "cost_per_loss_point": spend / points if points > 0 else math.nan,
        "energy_per_loss_point": energy / points if points > 0 else math.nan,
        "final_cash": float(last["cash"]),
    }
    for target in targets:
        row[target_column(target)] = time_to_target(
            group["t"], group["relative_excess_loss"], target
        )
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
