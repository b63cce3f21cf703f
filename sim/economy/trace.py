"""The per-step record of a batch: named series with axes (B, steps + 1, ...).

Row 0 is the initial state, before any trade; row ``k`` the state at the
end of step ``k`` with that step's flows. Each series is declared once, in
:data:`LAB_SERIES`, :data:`CHIP_SERIES`, :data:`ENERGY_SERIES` and
:data:`ECONOMY_SERIES`, as a function of a :class:`Snapshot`; the tables of a
run (:mod:`sim.economy.tables`) and its summaries read these arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.economy import clearing, phases
from sim.economy.params import Params
from sim.economy.payments import CHANNELS
from sim.economy.phases import HOURS_PER_YEAR, StepResult
from sim.economy.state import State


@dataclass(frozen=True)
class Snapshot:
    """The state after a step, what the step produced, and the batch's parameters."""

    state: State
    result: StepResult
    params: Params


def _dt(s: Snapshot) -> np.ndarray:
    return s.params.clock.dt[:, None]


def reference_price(s: Snapshot) -> np.ndarray:
    """(B, Sc) price labs paid for the supplier's best-value uncontrolled chip; NaN before any.

    The released chip of the supplier's catalogue with the most FLOP/s per
    list USD (the first of equals), at the index quoted in the step.
    """
    hw, t = s.params.hardware, (s.state.step - 1 if s.state.step else 0) * s.params.clock.dt
    year = s.params.clock.start_year + t
    on_sale = s.params.chips.sells & (hw.chip_year[:, None, :] <= year[:, None, None])
    value = np.where(on_sale, (hw.chip_flops / hw.chip_price)[:, None, :], -np.inf)
    best = value.argmax(axis=2)
    price = np.take_along_axis(hw.chip_price, best, axis=1)
    return np.where(on_sale.any(axis=2), price * s.result.chips.quoted_index, np.nan)


Series = Callable[[Snapshot], np.ndarray]

LAB_SERIES: dict[str, Series] = {
    "loss": lambda s: s.result.revenue.losses,
    "compute": lambda s: s.state.labs.compute,
    "software_multiplier": lambda s: 2.0**s.state.labs.log2_software,
    "gamma_software": lambda s: s.state.labs.gamma_software,
    "fleet_units": lambda s: s.state.fleet.total_units,
    "fleet_flops": lambda s: s.state.fleet.total_flops,
    "running_units": lambda s: s.result.training.running_units,
    "running_flops": lambda s: s.result.training.running_flops,
    "power_mw": lambda s: s.result.energy.power_mw,
    "spend_capex": lambda s: s.result.chips.chips.sum(axis=2),
    "spend_tariffs": lambda s: s.result.chips.tariffs,
    "spend_energy": lambda s: s.result.energy.energy.sum(axis=2),
    "spend_carbon_tax": lambda s: s.result.energy.carbon_tax.sum(axis=2),
    "spend_rnd": lambda s: s.result.decision.rnd,
    "spend_projects": lambda s: s.result.decision.projects,
    "spend_compliance": lambda s: s.result.training.compliance,
    "funding": lambda s: s.result.funding.funding,
    "revenue": lambda s: s.result.revenue.revenue,
    "cash": lambda s: s.state.labs.cash,
    "market_share": lambda s: s.result.revenue.shares,
    "chips_ordered": lambda s: s.result.chips.ordered,
    "chips_received": lambda s: s.result.chips.received,
    "projects_done": lambda s: s.state.labs.projects_done.sum(axis=2).astype(float),
}
"""Per step and lab, (B, N)."""

CHIP_SERIES: dict[str, Series] = {
    "price": reference_price,
    "price_index": lambda s: s.result.chips.quoted_index,
    "demand": lambda s: s.result.chips.demand,
    "supply": lambda s: s.result.chips.supply,
    "sold": lambda s: s.result.chips.sold,
    "revenue": lambda s: s.result.chips.revenue,
}
"""Per step and chip supplier, (B, Sc)."""

ENERGY_SERIES: dict[str, Series] = {
    "price": lambda s: s.result.energy.price,
    "demand": lambda s: s.result.energy.requested_mw,
    "supply": lambda s: s.result.energy.available_mw,
    "sold": lambda s: s.result.energy.sold_mw,
    "utilization": lambda s: s.result.energy.utilization,
    "energy_mwh": lambda s: s.result.energy.sold_mw * HOURS_PER_YEAR * _dt(s),
    "revenue": lambda s: s.result.energy.energy.sum(axis=1),
    "capacity_mw": lambda s: s.state.energy.capacity_mw,
}
"""Per step and energy supplier, (B, Se)."""

ECONOMY_SERIES: dict[str, Series] = {
    "hhi_compute": lambda s: clearing.hhi(s.state.labs.compute),
    "hhi_market_share": lambda s: clearing.hhi(s.result.revenue.shares),
    "market_size": lambda s: s.result.revenue.market_size,
}
"""Per step, (B,)."""

EDGE_SERIES: dict[str, Series] = {
    "chip_units": lambda s: _chip_units(s),
    "chip_value": lambda s: s.result.chips.chips,
    "energy_mwh": lambda s: s.result.energy.delivered_mw * HOURS_PER_YEAR * _dt(s)[..., None],
    "energy_value": lambda s: s.result.energy.energy,
}
"""Per step, flows on the supply network's edges, lab axis first: (B, N, Sc) and (B, N, Se)."""


def _chip_units(s: Snapshot) -> np.ndarray:
    """(B, N, Sc) GPUs delivered on each chip edge (a lab buys from one supplier a step)."""
    n_suppliers = s.result.chips.chips.shape[2]
    chosen = s.result.decision.offer.supplier[..., None] == np.arange(n_suppliers)
    return np.where(chosen, s.result.chips.received[..., None], 0.0)


TABLES = {"labs": LAB_SERIES, "chips": CHIP_SERIES, "energy": ENERGY_SERIES,
          "economy": ECONOMY_SERIES, "edges": EDGE_SERIES}  # fmt: skip


def bytes_per_run(labs: int, chip_suppliers: int, energy_suppliers: int, steps: int) -> int:
    """Bytes a run's trace takes: every series and payment channel, 8 bytes a value."""
    per_step = (
        len(LAB_SERIES) * labs + len(CHIP_SERIES) * chip_suppliers
        + len(ENERGY_SERIES) * energy_suppliers + len(ECONOMY_SERIES)
        + 2 * labs * (chip_suppliers + energy_suppliers)  # edge flows
        + labs * (len(CHANNELS) - 3 + chip_suppliers + 2 * energy_suppliers)  # payments
    )  # fmt: skip
    return 8 * (steps + 1) * per_step


def opening(state: State, params: Params) -> StepResult:
    """The result of "step 0": no trade, prices at their starting values, shares of the start."""
    runs, labs = state.labs.cash.shape
    n_chips, n_energy = params.chips.capacity_per_year.shape[1], params.energy.capacity_mw.shape[1]
    zeros, chips = np.zeros((runs, labs)), np.zeros((runs, n_chips))
    energy = np.zeros((runs, n_energy))
    losses = phases.loss(params, state.labs.compute)
    offer = phases.Offer(zeros > 0, zeros.astype(int), zeros.astype(int), zeros, zeros, zeros)
    return StepResult(
        built=phases.Built(energy, energy),
        funding=phases.Funding(zeros, params.labs.cheapest_energy_price),
        decision=phases.Decision(zeros, zeros, offer, zeros, zeros, zeros),
        chips=phases.ChipTrades(
            zeros, zeros, np.zeros((runs, labs, n_chips)), zeros,
            state.chips.price_index, chips, chips, chips, chips,
        ),
        energy=phases.EnergyTrades(
            np.zeros((runs, labs, n_energy)), np.zeros((runs, labs, n_energy)),
            np.zeros((runs, labs, n_energy)), params.energy.base_price, energy, energy, energy,
            energy,
        ),
        training=phases.Training(zeros, zeros, zeros),
        revenue=phases.Revenue(
            np.zeros(runs), losses, clearing.logit_shares(losses, params.market.temperature), zeros
        ),
    )  # fmt: skip


class Trace:
    """Preallocated arrays of every series for a batch of ``B`` runs of ``n_steps`` steps."""

    def __init__(self, params: Params):
        self.params = params
        self._series: dict[str, dict[str, np.ndarray]] = {name: {} for name in TABLES}
        self._payments: dict[str, np.ndarray] = {}
        self.steps = params.n_steps + 1

    @property
    def series(self) -> dict[str, dict[str, np.ndarray]]:
        """Table -> series -> (B, steps + 1, ...) values (views; rows not yet run are 0)."""
        return {table: _runs_first(named) for table, named in self._series.items()}

    @property
    def payments(self) -> dict[str, np.ndarray]:
        """Channel -> (B, steps + 1, ...) amounts paid in each step."""
        return _runs_first(self._payments)

    def record(self, state: State, result: StepResult) -> None:
        """Store the series of the state after ``state.step`` steps and that step's result."""
        snapshot = Snapshot(state, result, self.params)
        row = state.step
        for table, declared in TABLES.items():
            for name, series in declared.items():
                self._store(self._series[table], name, row, series(snapshot))
        for category, amounts in result.payments().items():
            self._store(self._payments, category, row, amounts)

    def _store(self, arrays: dict[str, np.ndarray], name: str, row: int, value) -> None:
        """Write one step's values; rows are stored steps first, so each write is contiguous."""
        if name not in arrays:
            arrays[name] = np.zeros((self.steps, *np.shape(value)))
        arrays[name][row] = value


def _runs_first(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: np.moveaxis(values, 0, 1) for name, values in arrays.items()}
