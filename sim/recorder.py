"""Per-step recording of the economy into tidy tables.

Rows are packed as C doubles during the run (``struct``; cheap, and bytes are
invisible to the garbage collector, unlike a tuple per row) and turned into
pandas DataFrames once at the end without a pass over Python objects; names
(labs, suppliers, regions) become categorical columns there, which is both
faster than per-row strings and smaller on disk. Tables:

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

import functools
import math
import struct
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.frames import frame
from sim.labs import HOURS_PER_YEAR
from sim.law import SECONDS_PER_YEAR
from sim.markets import hhi_unchecked

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
_LAB_DERIVED = ("step", "year", "t", "relative_excess_loss", "hardware_efficiency", "efficiency",
                "energy_mwh")  # fmt: skip
# What a lab row stores: the columns not derived from others at table time,
# plus the running FLOP/s that hardware efficiency is derived from.
_LAB_STORED = (*(c for c in _LAB_NUMBERS if c not in _LAB_DERIVED), "running_flops")

MARKET_COLUMNS = (
    "step", "year", "t", "market", "kind", "region", "price", "price_index", "demand",
    "supply", "sold", "shortage", "utilization", "energy_mwh", "emissions_t", "revenue",
)  # fmt: skip
_MARKET_LABELS = ("market", "kind", "region")
_MARKET_NUMBERS = tuple(c for c in MARKET_COLUMNS if c not in _MARKET_LABELS)
_STEP_COLUMNS = ("step", "year", "t")  # stored in the economy rows only
_MARKET_STORED = tuple(c for c in _MARKET_NUMBERS if c not in _STEP_COLUMNS)

EDGE_COLUMNS = (
    "step", "supplier", "lab", "kind", "tariff", "max_tpp", "allowed", "quantity", "value",
)  # fmt: skip
LEDGER_COLUMNS = ("step", "payer", "payee", "category", "amount")
ECONOMY_COLUMNS = (
    "step", "year", "t", "leader", "hhi_compute", "hhi_market_share", "total_compute",
    "energy_mwh", "emissions_t", "market_size",
)  # fmt: skip
_ECONOMY_NUMBERS = tuple(c for c in ECONOMY_COLUMNS if c != "leader")
# Totals and the leader are sums and an argmin over the labs' and markets' rows,
# taken at table time; the economy row stores the rest.
_ECONOMY_DERIVED = ("total_compute", "energy_mwh", "emissions_t")
_ECONOMY_STORED = tuple(c for c in _ECONOMY_NUMBERS if c not in _ECONOMY_DERIVED)
_INTEGER_COLUMNS = ("step", "projects_done")

# A packed row: the entity's index (a code into its names), then the numbers.
_LAB_ROW = struct.Struct(f"{1 + len(_LAB_STORED)}d")
_MARKET_ROW = struct.Struct(f"{1 + len(_MARKET_STORED)}d")
_ECONOMY_ROW = struct.Struct(f"{len(_ECONOMY_STORED)}d")


class Recorder:
    """Collects the model's rows; call :meth:`tables` once the run is over."""

    def __init__(self, model: RaceModel):
        self.model = model
        self.lab_rows: list[bytes] = []
        self.market_rows: list[bytes] = []
        self.economy_rows: list[bytes] = []
        self.edge_steps: list[int] = []
        self.edge_quantities: list[bytes] = []
        self.edge_values: list[bytes] = []
        self._flows = model.flows
        self._edges = model.flows.edges
        self._edge_row = struct.Struct(f"{len(self._edges)}d")
        self._initial_excess = [model.initial_loss[lab.name] - model.E for lab in model.labs]

    def record_start(self) -> None:
        """Record step 0: the initial state with no flows."""
        model = self.model
        losses = [model.loss_of(lab.compute) for lab in model.labs]
        self._record(losses, model.shares().tolist(), 0.0)

    def record_step(self) -> None:
        """Record the step that just ended."""
        model = self.model
        self._record(model.last_losses, model.last_share_list, model.last_market_size)

    def _record(self, losses: list[float], shares: list[float], market_size: float) -> None:
        """Append the rows of every table for the model's current state.

        ``losses`` are the labs' current losses (the model computed them for
        the market shares; compute does not change before recording).

        Every call appends one row per lab and one per market, in the model's
        order, and one ``economy`` row: the tables rely on it to take the
        step, year and time of lab and market rows from the economy rows, and
        to find a step's labs and markets ``len(labs)`` and
        ``len(markets)`` rows apart.
        """
        model = self.model
        rows = self.lab_rows
        # One packed row of the _LAB_STORED values per lab (2.0**log2_software is
        # lab.software_multiplier(), without the call)
        for i, (lab, loss, share) in enumerate(zip(model.labs, losses, shares, strict=True)):
            account = lab.account
            rows.append(
                _LAB_ROW.pack(
                    i, loss, lab.compute, 2.0**lab.log2_software, lab.gamma_software,
                    lab.fleet.units, lab.fleet.flops, account.running_units, account.power_mw,
                    account.capex, account.tariffs, account.energy, account.carbon_tax,
                    account.rnd, account.projects, account.compliance, account.funding,
                    account.revenue, lab.cash, share, account.chips_ordered,
                    account.chips_received, len(lab.projects_done), account.running_flops,
                )
            )  # fmt: skip
        self._record_markets()
        self._record_edges()
        self._record_economy(shares, market_size)

    def _record_markets(self) -> None:
        model = self.model
        for index, s in enumerate(model.chip_suppliers):
            utilization = s.last_sold / s.last_supply if s.last_supply > 0 else math.nan
            self.market_rows.append(
                _MARKET_ROW.pack(
                    index, self._reference_price(s), s.quoted_index, s.last_demand,
                    s.last_supply, s.last_sold, s.last_shortage, utilization, 0.0, 0.0,
                    s.last_revenue,
                )
            )  # fmt: skip
        offset = len(model.chip_suppliers)
        for index, s in enumerate(model.energy_suppliers, start=offset):
            self.market_rows.append(
                _MARKET_ROW.pack(
                    index, s.last_price, 1.0, s.last_requested_mw, s.last_available_mw,
                    s.last_delivered_mw, s.last_requested_mw - s.last_delivered_mw,
                    s.last_utilization, s.last_energy_mwh, s.last_emissions_t,
                    s.last_energy_mwh * s.last_price,
                )
            )  # fmt: skip

    def _record_economy(self, shares: list[float], market_size: float) -> None:
        """One ``economy`` row of the ``_ECONOMY_STORED`` values, from the shares just recorded."""
        model = self.model
        computes = [lab.compute for lab in model.labs]
        self.economy_rows.append(
            _ECONOMY_ROW.pack(
                model.steps, model.year, model.t, hhi_unchecked(computes), hhi_unchecked(shares),
                market_size,
            )
        )  # fmt: skip

    def _record_edges(self) -> None:
        """This step's flows on every edge, in the order of ``_edges``, packed."""
        flows = self._flows
        self.edge_steps.append(self.model.steps)
        self.edge_quantities.append(self._edge_row.pack(*flows.quantity))
        self.edge_values.append(self._edge_row.pack(*flows.value))

    def _reference_price(self, supplier) -> float:
        """Unit price (USD) labs paid this step for the supplier's best-value chip."""
        chip = self.model.best_value_chip(supplier)
        return math.nan if chip is None else chip.price * supplier.quoted_index

    def tables(self) -> dict[str, pd.DataFrame]:
        """The run's tables as DataFrames keyed ``labs``, ``markets``, ``edges``, ``ledger``.

        Each list of packed rows is unpacked once and shared by the tables
        that read it (the economy table sums the lab and market rows).
        """
        lab_codes, labs = _split(self.lab_rows, len(_LAB_STORED))
        market_codes, markets = _split(self.market_rows, len(_MARKET_STORED))
        economy = _unpacked(self.economy_rows).reshape(-1, len(_ECONOMY_STORED))
        return {
            "labs": self._labs_table(lab_codes, labs, economy),
            "markets": self._markets_table(market_codes, markets, economy),
            "edges": self._edges_table(),
            "economy": self._economy_table(economy, labs, markets),
            "ledger": self._ledger_table(),
        }

    def _labs_table(
        self, codes: np.ndarray, stored: np.ndarray, economy: np.ndarray
    ) -> pd.DataFrame:
        labs = self.model.labs
        numbers = {name: stored[:, i] for i, name in enumerate(_LAB_STORED)}
        numbers.update(self._derived_lab_columns(codes, numbers, economy))
        labels = {
            "lab": _categorical(codes, [lab.name for lab in labs]),
            "region": _categorical(codes, [lab.region for lab in labs]),
            "strategy": _categorical(codes, [lab.strategy.name for lab in labs]),
        }
        return _assemble(LAB_COLUMNS, numbers, labels)

    def _derived_lab_columns(
        self, codes: np.ndarray, numbers: dict[str, np.ndarray], economy: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The ``_LAB_DERIVED`` columns, computed from the stored ones for all rows at once.

        Each is the same IEEE arithmetic, in the same order, as computing it per
        row during the run, so the values are bit-identical to that. Lab rows
        come in blocks of one row per lab and step (see :meth:`_record`), so a
        lab's previous row is ``len(labs)`` rows earlier and the step's
        ``(step, year, t)`` is its ``economy`` row's.
        """
        model = self.model
        n_labs = len(model.labs)
        derived = _step_columns(economy, n_labs)
        loss, compute, power = numbers["loss"], numbers["compute"], numbers["power_mw"]
        derived["relative_excess_loss"] = (loss - model.E) / np.array(self._initial_excess)[codes]
        added = np.full(len(compute), math.nan)
        added[n_labs:] = compute[n_labs:] - compute[:-n_labs]  # step 0 adds nothing: NaN
        mfu, power_years = model.scenario.hardware.mfu, power * model.dt
        with np.errstate(divide="ignore", invalid="ignore"):
            hardware = numbers["running_flops"] * mfu * SECONDS_PER_YEAR / power
            efficiency = added / power_years
        derived["hardware_efficiency"] = np.where(power > 0, hardware, math.nan)
        derived["efficiency"] = np.where(power_years > 0, efficiency, math.nan)
        derived["energy_mwh"] = power * HOURS_PER_YEAR * model.dt
        return derived

    def _markets_table(
        self, codes: np.ndarray, stored: np.ndarray, economy: np.ndarray
    ) -> pd.DataFrame:
        model = self.model
        suppliers = [*model.chip_suppliers, *model.energy_suppliers]
        kinds = ["chips"] * len(model.chip_suppliers) + ["energy"] * len(model.energy_suppliers)
        numbers = _named(_MARKET_STORED, stored)
        numbers.update(_step_columns(economy, len(suppliers)))
        labels = {
            "market": _categorical(codes, [s.name for s in suppliers]),
            "kind": _categorical(codes, kinds),
            "region": _categorical(codes, [s.region for s in suppliers]),
        }
        return _assemble(MARKET_COLUMNS, numbers, labels)

    def _economy_table(
        self, economy: np.ndarray, labs: np.ndarray, markets: np.ndarray
    ) -> pd.DataFrame:
        """The economy rows, with totals and the leader from the lab and market rows."""
        model = self.model
        numbers = _named(_ECONOMY_STORED, economy)
        n_labs, n_chips = len(model.labs), len(model.chip_suppliers)
        n_markets = n_chips + len(model.energy_suppliers)
        per_lab = labs.reshape(-1, n_labs, len(_LAB_STORED))  # steps x labs x columns
        per_market = markets.reshape(-1, n_markets, len(_MARKET_STORED))[:, n_chips:]
        loss = per_lab[:, :, _LAB_STORED.index("loss")]
        numbers["total_compute"] = _sum_in_order(per_lab[:, :, _LAB_STORED.index("compute")])
        for name in ("energy_mwh", "emissions_t"):
            total = _sum_in_order(per_market[:, :, _MARKET_STORED.index(name)])
            total[0] = 0.0  # step 0: nothing delivered yet
            numbers[name] = total
        # argmin takes the first of equal minima: the first lab with the lowest loss
        labels = {"leader": _categorical(loss.argmin(axis=1), [lab.name for lab in model.labs])}
        return _assemble(ECONOMY_COLUMNS, numbers, labels)

    def _edges_table(self) -> pd.DataFrame:
        graph = self.model.network
        edges = self._edges
        codes = np.tile(np.arange(len(edges), dtype=np.int64), len(self.edge_steps))
        return frame(
            EDGE_COLUMNS,
            [
                np.repeat(np.array(self.edge_steps, dtype=np.int64), len(edges)),
                _categorical(codes, [graph.nodes[s]["name"] for s, _, _ in edges]),
                _categorical(codes, [graph.nodes[lab]["name"] for _, lab, _ in edges]),
                _categorical(codes, [d["kind"] for _, _, d in edges]),
                np.array([d["tariff"] for _, _, d in edges])[codes],
                np.array([d["max_tpp"] for _, _, d in edges])[codes],
                np.array([d["allowed"] for _, _, d in edges], dtype=bool)[codes],
                _unpacked(self.edge_quantities),
                _unpacked(self.edge_values),
            ],
        )

    def _ledger_table(self) -> pd.DataFrame:
        ledger = self.model.ledger
        journal = ledger.table()
        return frame(
            LEDGER_COLUMNS,
            [
                journal["step"].copy(),
                _coded(journal["payer"], ledger.names),
                _coded(journal["payee"], ledger.names),
                _coded(journal["category"], ledger.names),
                journal["amount"].copy(),
            ],
        )


def _unpacked(rows: list[bytes]) -> np.ndarray:
    """The packed doubles of ``rows``, concatenated, as a read-only float array.

    No copy: the table columns made from it are copied into the frame's
    blocks anyway (:func:`sim.frames.frame`), and derived columns are new arrays.
    """
    return np.frombuffer(b"".join(rows), dtype=np.float64)


def _step_columns(economy: np.ndarray, per_step: int) -> dict[str, np.ndarray]:
    """``step``, ``year`` and ``t`` from the economy rows, for ``per_step`` rows a step."""
    return {
        name: np.repeat(economy[:, _ECONOMY_STORED.index(name)], per_step) for name in _STEP_COLUMNS
    }


def _sum_in_order(matrix: np.ndarray) -> np.ndarray:
    """Row sums of ``matrix`` added left to right from 0.0, as Python's ``sum()`` adds a list.

    numpy's own sums are pairwise, which can differ in the last bit.
    """
    total = np.zeros(matrix.shape[0])
    for column in matrix.T:
        total = total + column
    return total


def _split(rows: list[bytes], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Split packed rows of (entity index, numbers...) into codes and a float matrix."""
    matrix = _unpacked(rows).reshape(-1, width + 1)
    return matrix[:, 0].astype(np.int64), matrix[:, 1:]


def _categorical(codes: np.ndarray, names: list[str]) -> pd.Categorical:
    """Names per row from entity codes, as a categorical (duplicate names folded)."""
    categories = list(dict.fromkeys(names))
    position = {name: i for i, name in enumerate(categories)}
    mapped = np.array([position[name] for name in names], dtype=np.int64)
    # mapped[codes] is in range by construction (indexing would raise otherwise), so
    # pandas' own range check (two reductions over the codes) is skipped
    return pd.Categorical.from_codes(
        mapped[codes] if len(codes) else codes,
        dtype=_category_dtype(tuple(categories)),
        validate=False,
    )


def _coded(codes: np.ndarray, names: list[str]) -> pd.Categorical:
    """A categorical of ``names[code]`` per row, categories in order of first appearance.

    ``pd.factorize`` ranks the integer codes by first appearance in C, so only
    the few distinct names are looked up in Python.
    """
    ranks, uniques = pd.factorize(np.ascontiguousarray(codes, dtype=np.int64))
    categories = tuple(names[code] for code in uniques.tolist())
    return pd.Categorical.from_codes(
        ranks.astype(np.int64), dtype=_category_dtype(categories), validate=False
    )  # factorize's ranks index the categories by construction: no range check


@functools.lru_cache(maxsize=256)
def _category_dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """The dtype ``pd.Categorical.from_codes(codes, list(categories))`` would build.

    Building one costs ~60 us (pandas validates and indexes the categories),
    about a millisecond per run for the tables' 13 label columns. Dtypes are
    immutable and the same names recur in every run of a scenario, so runs in
    one process (sweeps, batches) share them.
    """
    return pd.CategoricalDtype(list(categories), ordered=None)


def _named(names: tuple[str, ...], matrix: np.ndarray) -> dict[str, np.ndarray]:
    """The columns of ``matrix`` by name."""
    return {name: matrix[:, i] for i, name in enumerate(names)}


def _assemble(columns, numbers: dict[str, np.ndarray], labels: dict) -> pd.DataFrame:
    """A DataFrame of ``columns`` (in that order) from the number columns and the labels."""
    arrays = []
    for name in columns:
        if name in labels:
            arrays.append(labels[name])
        elif name in _INTEGER_COLUMNS:
            arrays.append(numbers[name].astype(np.int64))
        else:
            arrays.append(numbers[name])
    return frame(columns, arrays)
