"""Per-step recording of the economy into tidy tables.

Rows are appended as plain tuples during the run (cheap) and turned into
pandas DataFrames once at the end. Tables:

- ``labs``: one row per step x lab (loss, compute, efficiency parts, fleet,
  power, spending by category, revenue, cash, market share);
- ``markets``: one row per step x supplier (price, demand, supply, sales,
  shortage, utilization, energy, emissions);
- ``edges``: one row per step x supply-network edge with trades on it;
- ``ledger``: one row per payment (step, payer, payee, category, amount).

Step 0 is the initial state, before any trade.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from sim import network as net
from sim.labs import HOURS_PER_YEAR
from sim.law import SECONDS_PER_YEAR

if TYPE_CHECKING:
    from sim.model import RaceModel

LAB_COLUMNS = (
    "step", "year", "t", "lab", "region", "strategy", "loss", "relative_excess_loss",
    "compute", "hardware_efficiency", "software_multiplier", "efficiency", "gamma_software",
    "fleet_units", "fleet_flops", "running_units", "power_mw", "energy_mwh",
    "spend_capex", "spend_tariffs", "spend_energy", "spend_carbon_tax", "spend_rnd",
    "spend_projects", "spend_compliance", "funding", "revenue", "cash", "market_share",
    "chips_ordered", "chips_received", "projects_done",
)  # fmt: skip

MARKET_COLUMNS = (
    "step", "year", "t", "market", "kind", "region", "price", "price_index", "demand",
    "supply", "sold", "shortage", "utilization", "energy_mwh", "emissions_t", "revenue",
)  # fmt: skip

LEDGER_COLUMNS = ("step", "payer", "payee", "category", "amount")


class Recorder:
    """Collects the model's rows; call :meth:`tables` once the run is over."""

    def __init__(self, model: RaceModel):
        self.model = model
        self.lab_rows: list[tuple] = []
        self.market_rows: list[tuple] = []
        self.edge_rows: list[dict] = []
        self._compute_before: dict[int, float] = {}

    def record_start(self) -> None:
        """Record step 0: the initial state with no flows."""
        model = self.model
        shares = model.shares()
        for lab, share in zip(model.labs, shares, strict=True):
            self._compute_before[lab.unique_id] = lab.compute
            self.lab_rows.append(self._lab_row(lab, share, added=math.nan))
        self._record_markets()
        self.edge_rows.extend(net.edge_rows(model.network, 0))

    def record_step(self) -> None:
        """Record the step that just ended."""
        model = self.model
        for lab, share in zip(model.labs, model.last_shares, strict=True):
            added = lab.compute - self._compute_before[lab.unique_id]
            self._compute_before[lab.unique_id] = lab.compute
            self.lab_rows.append(self._lab_row(lab, share, added))
        self._record_markets()
        self.edge_rows.extend(net.edge_rows(model.network, model.steps))

    def _lab_row(self, lab, share: float, added: float) -> tuple:
        model, account = self.model, lab.account
        loss = model.loss_of(lab.compute)
        relative = (loss - model.E) / (model.initial_loss[lab.name] - model.E)
        power = account.power_mw
        mfu = model.scenario.hardware.mfu
        hw = account.running_flops * mfu * SECONDS_PER_YEAR / power if power > 0 else math.nan
        efficiency = added / (power * model.dt) if power > 0 else math.nan
        return (
            model.steps, model.year, model.t, lab.name, lab.region, lab.strategy.name, loss,
            relative, lab.compute, hw, lab.software_multiplier(), efficiency,
            lab.gamma_software, lab.fleet_units(), lab.fleet_flops(), account.running_units,
            power, power * HOURS_PER_YEAR * model.dt, account.capex, account.tariffs,
            account.energy, account.carbon_tax, account.rnd, account.projects,
            account.compliance, account.funding, account.revenue, lab.cash, float(share),
            account.chips_ordered, account.chips_received, len(lab.projects_done),
        )  # fmt: skip

    def _record_markets(self) -> None:
        model = self.model
        head = (model.steps, model.year, model.t)
        for s in model.chip_suppliers:
            self.market_rows.append(
                (*head, s.name, "chips", s.region, self._reference_price(s), s.price_index,
                 s.last_demand, s.last_supply, s.last_sold, s.last_shortage,
                 s.last_sold / s.last_supply if s.last_supply > 0 else math.nan,
                 0.0, 0.0, s.last_revenue)
            )  # fmt: skip
        for s in model.energy_suppliers:
            self.market_rows.append(
                (*head, s.name, "energy", s.region, s.last_price, 1.0, s.last_requested_mw,
                 s.last_available_mw, s.last_delivered_mw,
                 s.last_requested_mw - s.last_delivered_mw, s.last_utilization,
                 s.last_energy_mwh, s.last_emissions_t, s.last_energy_mwh * s.last_price)
            )  # fmt: skip

    def _reference_price(self, supplier) -> float:
        """Unit price (USD) of the supplier's best-value chip on sale now."""
        offers = supplier.offers(self.model.year)
        if not offers:
            return math.nan
        return supplier.unit_price(max(offers, key=lambda chip: chip.flops_per_dollar))

    def tables(self) -> dict[str, pd.DataFrame]:
        """The run's tables as DataFrames keyed ``labs``, ``markets``, ``edges``, ``ledger``."""
        return {
            "labs": pd.DataFrame(self.lab_rows, columns=list(LAB_COLUMNS)),
            "markets": pd.DataFrame(self.market_rows, columns=list(MARKET_COLUMNS)),
            "edges": pd.DataFrame(self.edge_rows),
            "ledger": pd.DataFrame(self.model.ledger.rows, columns=list(LEDGER_COLUMNS)),
        }
