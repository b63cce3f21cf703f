"""Per-step recording of the economy into tidy tables.

Rows are appended as tuples of numbers during the run (cheap) and turned into
pandas DataFrames once at the end; names (labs, suppliers, regions) become
categorical columns there, which is both faster than per-row strings and
smaller on disk. Tables:

- ``labs``: one row per step x lab (loss, compute, efficiency parts, fleet,
  power, spending by category, revenue, cash, market share);
- ``markets``: one row per step x supplier (price, demand, supply, sales,
  shortage, utilization, energy, emissions);
- ``edges``: one row per step x supply-network edge with the trades on it;
- ``economy``: one row per step (leader, HHI of compute and of market share,
  totals of compute, energy and emissions, the step's market size);
- ``ledger``: one row per payment (step, payer, payee, category, amount).

Step 0 is the initial state, before any trade.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.labs import HOURS_PER_YEAR
from sim.law import SECONDS_PER_YEAR
from sim.markets import hhi

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
_LAB_LABELS = ("lab", "region", "strategy")
_LAB_NUMBERS = tuple(c for c in LAB_COLUMNS if c not in _LAB_LABELS)

MARKET_COLUMNS = (
    "step", "year", "t", "market", "kind", "region", "price", "price_index", "demand",
    "supply", "sold", "shortage", "utilization", "energy_mwh", "emissions_t", "revenue",
)  # fmt: skip
_MARKET_LABELS = ("market", "kind", "region")
_MARKET_NUMBERS = tuple(c for c in MARKET_COLUMNS if c not in _MARKET_LABELS)

EDGE_COLUMNS = (
    "step", "supplier", "lab", "kind", "tariff", "max_tpp", "allowed", "quantity", "value",
)  # fmt: skip
LEDGER_COLUMNS = ("step", "payer", "payee", "category", "amount")
ECONOMY_COLUMNS = (
    "step", "year", "t", "leader", "hhi_compute", "hhi_market_share", "total_compute",
    "energy_mwh", "emissions_t", "market_size",
)  # fmt: skip
_ECONOMY_NUMBERS = tuple(c for c in ECONOMY_COLUMNS if c != "leader")
_INTEGER_COLUMNS = ("step", "projects_done")


class Recorder:
    """Collects the model's rows; call :meth:`tables` once the run is over."""

    def __init__(self, model: RaceModel):
        self.model = model
        self.lab_rows: list[tuple] = []
        self.market_rows: list[tuple] = []
        self.edge_rows: list[tuple] = []
        self.economy_rows: list[tuple] = []
        self._edges = [
            (supplier, lab, data) for supplier, lab, data in model.network.edges(data=True)
        ]
        self._compute_before = [lab.compute for lab in model.labs]

    def record_start(self) -> None:
        """Record step 0: the initial state with no flows."""
        model = self.model
        for i, (lab, share) in enumerate(zip(model.labs, model.shares(), strict=True)):
            self.lab_rows.append(self._lab_row(i, lab, share, added=math.nan))
        self._record_markets()
        self._record_edges()
        self._record_economy(0.0)

    def record_step(self) -> None:
        """Record the step that just ended."""
        model = self.model
        for i, (lab, share) in enumerate(zip(model.labs, model.last_shares, strict=True)):
            added = lab.compute - self._compute_before[i]
            self._compute_before[i] = lab.compute
            self.lab_rows.append(self._lab_row(i, lab, share, added))
        self._record_markets()
        self._record_edges()
        self._record_economy(model.last_market_size)

    def _lab_row(self, index: int, lab, share: float, added: float) -> tuple:
        model, account = self.model, lab.account
        loss = model.loss_of(lab.compute)
        relative = (loss - model.E) / (model.initial_loss[lab.name] - model.E)
        power = account.power_mw
        mfu = model.scenario.hardware.mfu
        hw = account.running_flops * mfu * SECONDS_PER_YEAR / power if power > 0 else math.nan
        power_years = power * model.dt
        efficiency = added / power_years if power_years > 0 else math.nan
        return (
            index, model.steps, model.year, model.t, loss, relative, lab.compute, hw,
            lab.software_multiplier(), efficiency, lab.gamma_software, lab.fleet_units(),
            lab.fleet_flops(), account.running_units, power, power * HOURS_PER_YEAR * model.dt,
            account.capex, account.tariffs, account.energy, account.carbon_tax, account.rnd,
            account.projects, account.compliance, account.funding, account.revenue, lab.cash,
            float(share), account.chips_ordered, account.chips_received, len(lab.projects_done),
        )  # fmt: skip

    def _record_markets(self) -> None:
        model = self.model
        head = (model.steps, model.year, model.t)
        for index, s in enumerate(model.chip_suppliers):
            utilization = s.last_sold / s.last_supply if s.last_supply > 0 else math.nan
            self.market_rows.append(
                (index, *head, self._reference_price(s), s.quoted_index, s.last_demand,
                 s.last_supply, s.last_sold, s.last_shortage, utilization, 0.0, 0.0,
                 s.last_revenue)
            )  # fmt: skip
        offset = len(model.chip_suppliers)
        for index, s in enumerate(model.energy_suppliers, start=offset):
            self.market_rows.append(
                (index, *head, s.last_price, 1.0, s.last_requested_mw, s.last_available_mw,
                 s.last_delivered_mw, s.last_requested_mw - s.last_delivered_mw,
                 s.last_utilization, s.last_energy_mwh, s.last_emissions_t,
                 s.last_energy_mwh * s.last_price)
            )  # fmt: skip

    def _record_economy(self, market_size: float) -> None:
        model = self.model
        computes = [lab.compute for lab in model.labs]
        shares = model.last_shares if model.steps else model.shares()
        energy = sum(s.last_energy_mwh for s in model.energy_suppliers) if model.steps else 0.0
        emissions = sum(s.last_emissions_t for s in model.energy_suppliers) if model.steps else 0.0
        leader = min(range(len(computes)), key=lambda i: model.loss_of(computes[i]))
        self.economy_rows.append(
            (leader, model.steps, model.year, model.t, hhi(computes), hhi(shares),
             sum(computes), energy, emissions, market_size)
        )  # fmt: skip

    def _record_edges(self) -> None:
        step = self.model.steps
        self.edge_rows.extend(
            (index, step, data["quantity"], data["value"])
            for index, (_, _, data) in enumerate(self._edges)
        )

    def _reference_price(self, supplier) -> float:
        """Unit price (USD) labs paid this step for the supplier's best-value chip."""
        offers = self.model.available_chips(supplier, math.inf)
        if not offers:
            return math.nan
        best = max(offers, key=lambda chip: chip.flops_per_dollar)
        return best.price * supplier.quoted_index

    def tables(self) -> dict[str, pd.DataFrame]:
        """The run's tables as DataFrames keyed ``labs``, ``markets``, ``edges``, ``ledger``."""
        return {
            "labs": self._labs_table(),
            "markets": self._markets_table(),
            "edges": self._edges_table(),
            "economy": self._economy_table(),
            "ledger": self._ledger_table(),
        }

    def _labs_table(self) -> pd.DataFrame:
        labs = self.model.labs
        codes, numbers = _split(self.lab_rows, len(_LAB_NUMBERS))
        labels = {
            "lab": _categorical(codes, [lab.name for lab in labs]),
            "region": _categorical(codes, [lab.region for lab in labs]),
            "strategy": _categorical(codes, [lab.strategy.name for lab in labs]),
        }
        return _assemble(LAB_COLUMNS, _LAB_NUMBERS, numbers, labels)

    def _markets_table(self) -> pd.DataFrame:
        model = self.model
        suppliers = [*model.chip_suppliers, *model.energy_suppliers]
        kinds = ["chips"] * len(model.chip_suppliers) + ["energy"] * len(model.energy_suppliers)
        codes, numbers = _split(self.market_rows, len(_MARKET_NUMBERS))
        labels = {
            "market": _categorical(codes, [s.name for s in suppliers]),
            "kind": _categorical(codes, kinds),
            "region": _categorical(codes, [s.region for s in suppliers]),
        }
        return _assemble(MARKET_COLUMNS, _MARKET_NUMBERS, numbers, labels)

    def _economy_table(self) -> pd.DataFrame:
        codes, numbers = _split(self.economy_rows, len(_ECONOMY_NUMBERS))
        labels = {"leader": _categorical(codes, [lab.name for lab in self.model.labs])}
        return _assemble(ECONOMY_COLUMNS, _ECONOMY_NUMBERS, numbers, labels)

    def _edges_table(self) -> pd.DataFrame:
        graph = self.model.network
        codes, numbers = _split(self.edge_rows, 3)
        edges = self._edges
        frame = pd.DataFrame(
            {
                "step": numbers[:, 0].astype(np.int64),
                "supplier": _categorical(codes, [graph.nodes[s]["name"] for s, _, _ in edges]),
                "lab": _categorical(codes, [graph.nodes[lab]["name"] for _, lab, _ in edges]),
                "kind": _categorical(codes, [d["kind"] for _, _, d in edges]),
                "tariff": np.array([d["tariff"] for _, _, d in edges])[codes],
                "max_tpp": np.array([d["max_tpp"] for _, _, d in edges])[codes],
                "allowed": np.array([d["allowed"] for _, _, d in edges], dtype=bool)[codes],
                "quantity": numbers[:, 1],
                "value": numbers[:, 2],
            }
        )
        return frame[list(EDGE_COLUMNS)]

    def _ledger_table(self) -> pd.DataFrame:
        rows = self.model.ledger.rows
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(LEDGER_COLUMNS)
        return pd.DataFrame(
            {
                "step": np.array(columns[0], dtype=np.int64),
                "payer": _factorized(columns[1]),
                "payee": _factorized(columns[2]),
                "category": _factorized(columns[3]),
                "amount": np.array(columns[4], dtype=float),
            }
        )


def _split(rows: list[tuple], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Split rows of (entity index, numbers...) into codes and a float matrix."""
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, width))
    matrix = np.array(rows, dtype=float)
    return matrix[:, 0].astype(np.int64), matrix[:, 1:]


def _categorical(codes: np.ndarray, names: list[str]) -> pd.Categorical:
    """Names per row from entity codes, as a categorical (duplicate names folded)."""
    categories = list(dict.fromkeys(names))
    position = {name: i for i, name in enumerate(categories)}
    mapped = np.array([position[name] for name in names], dtype=np.int64)
    return pd.Categorical.from_codes(mapped[codes] if len(codes) else codes, categories)


def _factorized(values: tuple[str, ...]) -> pd.Categorical:
    """A categorical of ``values`` built with one dict pass (faster than pandas inference)."""
    position: dict[str, int] = {}
    codes = np.array([position.setdefault(v, len(position)) for v in values], dtype=np.int64)
    return pd.Categorical.from_codes(codes, list(position))


def _assemble(columns, number_columns, numbers: np.ndarray, labels: dict) -> pd.DataFrame:
    data = {name: numbers[:, i] for i, name in enumerate(number_columns)}
    for name in _INTEGER_COLUMNS:
        if name in data:
            data[name] = data[name].astype(np.int64)
    data.update(labels)
    return pd.DataFrame(data)[list(columns)]
