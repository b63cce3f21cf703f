"""One run's tidy tables from a batch's trace: labs, markets, edges, economy, ledger.

- ``labs``: one row per step x lab (loss, compute, efficiency parts, fleet,
  power, spending by category, revenue, cash, market share);
- ``markets``: one row per step x supplier, chip suppliers first;
- ``edges``: one row per step x supply-network edge with the trades on it;
- ``economy``: one row per step (leader, concentration, totals, market size);
- ``ledger``: one row per payment (step, payer, payee, category, amount);
- ``training_runs``: one row per frontier training run (lab, start, end,
  chips, GPUs, logical compute, loss), finished or still in progress at the end.

Step 0 is the initial state, before any trade. Names are categorical columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.config.scenario import Scenario
from sim.economy import phases
from sim.economy.build import roadmap
from sim.economy.engine import BatchRun
from sim.economy.outputs import rolling_slopes
from sim.economy.payments import (
    CATEGORIES,
    CHANNELS,
    CHIP_SUPPLIER,
    ENERGY_SUPPLIER,
    INVESTORS,
    LAB,
    RESERVED_ACCOUNTS,
)
from sim.economy.phases import HOURS_PER_YEAR
from sim.law import SECONDS_PER_YEAR

LAB_COLUMNS = (
    "step", "year", "t", "lab", "region", "strategy", "loss", "relative_excess_loss",
    "compute", "run_compute", "training_run", "training_compute_added",
    "hardware_efficiency", "software_multiplier", "efficiency", "gamma_software",
    "fleet_units", "fleet_flops", "running_units", "power_mw", "own_power_mw",
    "facility_mw", "own_generation_mw", "energy_mwh",
    "spend_capex", "spend_tariffs", "spend_facilities", "spend_energy", "spend_carbon_tax",
    "spend_own_generation", "spend_rnd", "spend_projects", "spend_compliance", "funding",
    "revenue", "payouts", "cash", "spending_rate", "market_share",
    "chips_ordered", "chips_received", "projects_done",
)  # fmt: skip
MARKET_COLUMNS = (
    "step", "year", "t", "market", "kind", "region", "price", "price_index", "demand",
    "supply", "sold", "shortage", "delivered", "backlog", "lead_time_years", "utilization",
    "energy_mwh", "emissions_t", "revenue",
)  # fmt: skip
EDGE_COLUMNS = (
    "step", "supplier", "lab", "kind", "tariff", "max_tpp", "allowed", "quantity", "value",
)  # fmt: skip
LEDGER_COLUMNS = ("step", "payer", "payee", "category", "amount")
ECONOMY_COLUMNS = (
    "step", "year", "t", "leader", "hhi_compute", "hhi_market_share", "total_compute",
    "frontier_model_compute", "frontier_run_flop", "energy_mwh", "emissions_t", "market_size",
)  # fmt: skip
TRAINING_RUN_COLUMNS = (
    "lab", "region", "start_year", "end_year", "years", "chips", "gpus", "logical_compute",
    "training_flop", "loss", "finished",
)  # fmt: skip


def run_tables(batch: BatchRun, run: int, rows: int | None = None) -> dict[str, pd.DataFrame]:
    """The tables of run ``run`` of a batch, over its first ``rows`` steps (default: all)."""
    scenario = batch.scenarios[run]
    view = _RunView(batch, run, rows or batch.params.n_steps + 1)
    return {
        "labs": _labs(view, scenario),
        "markets": _markets(view, scenario),
        "edges": _edges(view, scenario),
        "economy": _economy(view, scenario),
        "ledger": _ledger(view, scenario),
        "training_runs": _training_runs(view, scenario),
    }


class _RunView:
    """One run's series (steps first) and parameters."""

    def __init__(self, batch: BatchRun, run: int, rows: int):
        self.params = batch.params.select(slice(run, run + 1))
        self.series = {
            table: {name: values[run, :rows] for name, values in named.items()}
            for table, named in batch.trace.series.items()
        }
        self.payments = {name: values[run, :rows] for name, values in batch.trace.payments.items()}
        self.step = np.arange(rows)
        self.dt = float(batch.params.clock.dt[run])
        self.t = self.step * self.dt
        self.year = float(batch.params.clock.start_year[run]) + self.t


def _categorical(names: list[str], codes: np.ndarray) -> pd.Categorical:
    categories = list(dict.fromkeys(names))
    position = np.array([categories.index(name) for name in names], dtype=np.int64)
    return pd.Categorical.from_codes(position[codes], categories=categories)


def _steps_by(view: _RunView, entities: int) -> dict[str, np.ndarray]:
    return {
        "step": np.repeat(view.step, entities),
        "year": np.repeat(view.year, entities),
        "t": np.repeat(view.t, entities),
    }


def _labs(view: _RunView, scenario: Scenario) -> pd.DataFrame:
    series, n_labs = view.series["labs"], len(scenario.labs)
    flat = {name: values.reshape(-1) for name, values in series.items()}
    law, mfu = view.params.law, float(view.params.hardware.mfu[0])
    loss, power = series["loss"], series["power_mw"]
    added = np.where(view.step[:, None] > 0, series["training_compute_added"], np.nan)
    with np.errstate(all="ignore"):
        hardware = series["running_flops"] * mfu * SECONDS_PER_YEAR / power
        efficiency = added / (power * view.dt)
    codes = np.tile(np.arange(n_labs), len(view.step))
    columns = {
        **_steps_by(view, n_labs),
        "lab": _categorical([lab.name for lab in scenario.labs], codes),
        "region": _categorical([lab.region for lab in scenario.labs], codes),
        "strategy": _categorical([lab.strategy for lab in scenario.labs], codes),
        **flat,
        "relative_excess_loss": ((loss - law.E[0]) / (loss[0] - law.E[0])).reshape(-1),
        "hardware_efficiency": np.where(power > 0, hardware, np.nan).reshape(-1),
        "efficiency": np.where(power * view.dt > 0, efficiency, np.nan).reshape(-1),
        "energy_mwh": (power * HOURS_PER_YEAR * view.dt).reshape(-1),
        "realized_gamma_trailing": rolling_slopes(
            view.t, np.where(power * view.dt > 0, efficiency, np.nan), scenario.steps_per_year
        ).reshape(-1),
    }
    columns["projects_done"] = columns["projects_done"].astype(np.int64)
    columns["training_run"] = columns["training_run"].astype(bool)
    return pd.DataFrame({name: columns[name] for name in (*LAB_COLUMNS, "realized_gamma_trailing")})


def _markets(view: _RunView, scenario: Scenario) -> pd.DataFrame:
    chips, energy = view.series["chips"], view.series["energy"]
    steps = len(view.step)
    n_chips, n_energy = len(scenario.chip_suppliers), len(scenario.energy_suppliers)
    with np.errstate(all="ignore"):
        chip_use = np.where(chips["supply"] > 0, chips["sold"] / chips["supply"], np.nan)
    emissions = energy["energy_mwh"] * view.params.energy.carbon_intensity[0]
    zeros = np.zeros((steps, n_chips))
    numbers = {
        "price": (chips["price"], energy["price"]),
        "price_index": (chips["price_index"], np.ones((steps, n_energy))),
        "demand": (chips["demand"], energy["demand"]),
        "supply": (chips["supply"], energy["supply"]),
        "sold": (chips["sold"], energy["sold"]),
        "shortage": (chips["demand"] - chips["sold"], energy["demand"] - energy["sold"]),
        "delivered": (chips["delivered"], energy["sold"]),
        "backlog": (chips["backlog"], energy["backlog"]),
        "lead_time_years": (chips["lead_time_years"], energy["lead_time_years"]),
        "utilization": (chip_use, energy["utilization"]),
        "energy_mwh": (zeros, energy["energy_mwh"]),
        "emissions_t": (zeros, emissions),
        "revenue": (chips["revenue"], energy["revenue"]),
    }
    suppliers = [*scenario.chip_suppliers, *scenario.energy_suppliers]
    codes = np.tile(np.arange(len(suppliers)), steps)
    columns = {
        **_steps_by(view, len(suppliers)),
        "market": _categorical([s.name for s in suppliers], codes),
        "kind": _categorical(["chips"] * n_chips + ["energy"] * n_energy, codes),
        "region": _categorical([s.region for s in suppliers], codes),
        **{name: np.concatenate(parts, axis=1).reshape(-1) for name, parts in numbers.items()},
    }
    return pd.DataFrame({name: columns[name] for name in MARKET_COLUMNS})


def _edge_terms(view: _RunView, chip_pairs, n_energy: int) -> dict[str, np.ndarray]:
    """Each row's tariff, TPP threshold and ban per edge, under the policy of its step.

    Row ``r > 0`` holds the trades of step ``r - 1``; row 0 the opening policy.
    """
    rows = {"tariff": [], "max_tpp": [], "allowed": []}
    fill = {"tariff": 0.0, "max_tpp": np.inf, "allowed": True}
    for row in view.step:
        chips = view.params.in_force(max(int(row) - 1, 0)).chips
        for name in rows:
            on_edge = getattr(chips, name)[0]
            rows[name].append([on_edge[s, n] for s, n in chip_pairs] + [fill[name]] * n_energy)
    return {
        "tariff": np.array(rows["tariff"], dtype=float).reshape(-1),
        "max_tpp": np.array(rows["max_tpp"], dtype=float).reshape(-1),
        "allowed": np.array(rows["allowed"], dtype=bool).reshape(-1),
    }


def _edges(view: _RunView, scenario: Scenario) -> pd.DataFrame:
    """Chip edges (every supplier x lab), then energy edges (each supplier x the labs it serves)."""
    flows = view.series["edges"]
    serves = view.params.energy.serves[0]  # (Se, N)
    n_chips, n_labs = len(scenario.chip_suppliers), len(scenario.labs)
    chip_pairs = [(s, n) for s in range(n_chips) for n in range(n_labs)]
    energy_pairs = [(e, n) for e in range(serves.shape[0]) for n in range(n_labs) if serves[e, n]]
    quantity = np.concatenate(
        [flows["chip_units"][:, [n for _, n in chip_pairs], [s for s, _ in chip_pairs]],
         flows["energy_mwh"][:, [n for _, n in energy_pairs], [e for e, _ in energy_pairs]]],
        axis=1,
    )  # fmt: skip
    value = np.concatenate(
        [flows["chip_value"][:, [n for _, n in chip_pairs], [s for s, _ in chip_pairs]],
         flows["energy_value"][:, [n for _, n in energy_pairs], [e for e, _ in energy_pairs]]],
        axis=1,
    )  # fmt: skip
    steps, edges = quantity.shape
    codes = np.tile(np.arange(edges), steps)
    suppliers = [scenario.chip_suppliers[s].name for s, _ in chip_pairs] + [
        scenario.energy_suppliers[e].name for e, _ in energy_pairs
    ]
    labs = [scenario.labs[n].name for _, n in chip_pairs + energy_pairs]
    kinds = ["chips"] * len(chip_pairs) + ["energy"] * len(energy_pairs)
    terms = _edge_terms(view, chip_pairs, len(energy_pairs))
    return pd.DataFrame(
        {
            "step": np.repeat(view.step, edges),
            "supplier": _categorical(suppliers, codes),
            "lab": _categorical(labs, codes),
            "kind": _categorical(kinds, codes),
            **terms,
            "quantity": quantity.reshape(-1),
            "value": value.reshape(-1),
        }
    )


def _economy(view: _RunView, scenario: Scenario) -> pd.DataFrame:
    labs, energy, economy = view.series["labs"], view.series["energy"], view.series["economy"]
    own_mwh = labs["own_power_mw"] * HOURS_PER_YEAR * view.dt
    emissions = (energy["energy_mwh"] * view.params.energy.carbon_intensity[0]).sum(axis=1)
    emissions = emissions + (own_mwh * view.params.labs.own_carbon_intensity[0]).sum(axis=1)
    leader = labs["loss"].argmin(axis=1)
    return pd.DataFrame(
        {
            "step": view.step,
            "year": view.year,
            "t": view.t,
            "leader": _categorical([lab.name for lab in scenario.labs], leader),
            "hhi_compute": economy["hhi_compute"],
            "hhi_market_share": economy["hhi_market_share"],
            "total_compute": labs["compute"].sum(axis=1),
            "frontier_model_compute": labs["compute"].max(axis=1),
            "frontier_run_flop": np.maximum.accumulate(
                np.where(labs["run_finished"] > 0, labs["run_compute"], 0.0).max(axis=1)
            ),
            "energy_mwh": energy["energy_mwh"].sum(axis=1) + own_mwh.sum(axis=1),
            "emissions_t": emissions,
            "market_size": economy["market_size"],
        }
    )


def _training_runs(view: _RunView, scenario: Scenario) -> pd.DataFrame:
    """Each run that finished, in order of its end, then any still in progress at the end."""
    labs = view.series["labs"]
    ended = labs["run_finished"] > 0
    ended[0] = False
    ongoing = np.zeros_like(ended)
    ongoing[-1] = (labs["training_run"][-1] > 0) & ~ended[-1]
    step, lab = np.nonzero(ended | ongoing)
    compute = labs["run_compute"][step, lab]
    chips = [chip.name for chip in roadmap(scenario)]
    variant = labs["run_chip"][step, lab].astype(np.int64) % len(chips)
    start = labs["run_start"][step, lab]
    end = np.where(ended[step, lab], view.t[step], np.nan)
    with np.errstate(divide="ignore"):  # a run started without power has no compute yet
        loss = phases.loss(view.params, compute[None, :])[0]
    year0 = view.year[0]
    return pd.DataFrame(
        {
            "lab": _categorical([x.name for x in scenario.labs], lab),
            "region": _categorical([x.region for x in scenario.labs], lab),
            "start_year": year0 + start,
            "end_year": year0 + end,
            "years": end - start,
            "chips": pd.Categorical(
                np.array(chips, dtype=object)[variant], categories=list(dict.fromkeys(chips))
            ),
            "gpus": labs["run_units"][step, lab],
            "logical_compute": compute,
            "training_flop": labs["run_flop"][step, lab],
            "loss": loss,
            "finished": ended[step, lab],
        },
        columns=TRAINING_RUN_COLUMNS,
    )


def _party(kind: str, scenario: Scenario, shape: tuple[int, ...]) -> np.ndarray:
    """Account names of one side of a channel, broadcast to its amounts' ``shape``."""
    members = {LAB: scenario.labs, CHIP_SUPPLIER: scenario.chip_suppliers,
               ENERGY_SUPPLIER: scenario.energy_suppliers}  # fmt: skip
    if kind not in members:
        return np.full(shape, kind, dtype=object)
    names = np.array([member.name for member in members[kind]], dtype=object)
    axis = 1 if kind == LAB else 2
    layout = [-1 if a == axis else 1 for a in range(len(shape))]
    return np.broadcast_to(names.reshape(layout), shape)


def _ledger(view: _RunView, scenario: Scenario) -> pd.DataFrame:
    """Every nonzero payment by step; within a step, channel by channel, lab by lab."""
    opening = np.array([[lab.cash for lab in scenario.labs]])
    blocks = [("opening_balance", opening, INVESTORS, LAB, np.zeros(1, dtype=np.int64))]
    blocks += [
        (category, view.payments[category], payer, payee, view.step)
        for category, (payer, payee) in CHANNELS.items()
    ]
    parts: dict[str, list[np.ndarray]] = {name: [] for name in LEDGER_COLUMNS}
    for category, amounts, payer, payee, steps in blocks:
        keep = amounts > 0.0
        step_of = np.broadcast_to(steps.reshape(-1, *[1] * (amounts.ndim - 1)), amounts.shape)
        parts["step"].append(step_of[keep])
        parts["payer"].append(_party(payer, scenario, amounts.shape)[keep])
        parts["payee"].append(_party(payee, scenario, amounts.shape)[keep])
        parts["category"].append(np.full(int(keep.sum()), category, dtype=object))
        parts["amount"].append(amounts[keep])
    columns = {name: np.concatenate(values) for name, values in parts.items()}
    order = np.argsort(columns["step"], kind="stable")
    members = [*scenario.chip_suppliers, *scenario.energy_suppliers, *scenario.labs]
    accounts = [*RESERVED_ACCOUNTS, *(m.name for m in members)]
    return pd.DataFrame(
        {
            "step": columns["step"][order],
            "payer": pd.Categorical(columns["payer"][order], categories=accounts),
            "payee": pd.Categorical(columns["payee"][order], categories=accounts),
            "category": pd.Categorical(columns["category"][order], categories=list(CATEGORIES)),
            "amount": columns["amount"][order],
        }
    )
