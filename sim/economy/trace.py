"""The per-step record of a batch: named series with axes (B, steps + 1, ...).

Row 0 is the initial state, before any trade; row ``k`` the state at the
end of step ``k`` with that step's flows. A step records references to
arrays it made anyway (:data:`RECORDED`); each series is declared once, in
:data:`LAB_SERIES`, :data:`CHIP_SERIES`, :data:`ENERGY_SERIES`,
:data:`ECONOMY_SERIES` and :data:`EDGE_SERIES`, as a function of the
recorded arrays stacked over steps, and computed for all steps at once. The
tables of a run (:mod:`sim.economy.tables`) and its outputs read them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.economy import clearing, phases, power, training_runs
from sim.economy.params import Params
from sim.economy.payments import CHANNELS
from sim.economy.phases import HOURS_PER_YEAR, StepResult
from sim.economy.state import State

RECORDED: dict[str, Callable[[State, StepResult], np.ndarray]] = {
    "step_start": lambda state, result: np.full(state.labs.cash.shape[:1], max(state.step - 1, 0)),
    "losses": lambda state, result: result.revenue.losses,
    "compute": lambda state, result: state.labs.compute,
    "run_compute": lambda state, result: state.labs.run_compute,
    "run_flop": lambda state, result: state.labs.run_flop,
    "run_active": lambda state, result: state.labs.run_active,
    "run_start": lambda state, result: state.labs.run_start,
    "run_units": lambda state, result: state.labs.run_units,
    "run_chip": lambda state, result: state.labs.run_chip,
    "run_added": lambda state, result: result.training.runs.added,
    "run_finished": lambda state, result: result.training.runs.finished,
    "log2_software": lambda state, result: state.labs.log2_software,
    "gamma_software": lambda state, result: state.labs.gamma_software,
    "fleet_units": lambda state, result: state.fleet.total_units,
    "fleet_flops": lambda state, result: state.fleet.total_flops,
    "cash": lambda state, result: state.labs.cash,
    "spending_rate": lambda state, result: state.labs.spending_rate,
    "projects_done": lambda state, result: state.labs.projects_done,
    "capacity_mw": lambda state, result: state.energy.capacity_mw,
    "facility_mw": lambda state, result: state.labs.facility_mw,
    "own_generation_mw": lambda state, result: state.labs.own_mw,
    "own_mw": lambda state, result: result.energy.own_mw,
    "running_units": lambda state, result: result.training.running_units,
    "running_flops": lambda state, result: result.training.running_flops,
    "delivered_mw": lambda state, result: result.energy.delivered_mw,
    "ordered": lambda state, result: result.chips.ordered,
    "received": lambda state, result: result.chips.received,
    "supplier": lambda state, result: result.decision.offer.supplier,
    "shares": lambda state, result: result.revenue.shares,
    "market_size": lambda state, result: result.revenue.market_size,
    "quoted_index": lambda state, result: result.chips.quoted_index,
    "chip_demand": lambda state, result: result.chips.demand,
    "chip_supply": lambda state, result: result.chips.supply,
    "chip_sold": lambda state, result: result.chips.sold,
    "chip_revenue": lambda state, result: result.chips.revenue,
    "chip_orders": lambda state, result: result.chips.orders,
    "chip_delivered": lambda state, result: result.chips.delivered,
    "chip_lead_time": lambda state, result: result.chips.lead_time,
    "chip_backlog": lambda state, result: state.chips.backlog.sum(axis=2),
    "chip_in_production": lambda state, result: state.chips.in_production.sum(axis=(2, 3)),
    "packaging": lambda state, result: state.chips.packaging,
    "energy_pipeline": lambda state, result: state.energy.pipeline.sum(axis=2),
    "energy_price": lambda state, result: result.energy.price,
    "energy_requested": lambda state, result: result.energy.requested_mw,
    "energy_available": lambda state, result: result.energy.available_mw,
    "energy_sold": lambda state, result: result.energy.sold_mw,
    "energy_utilization": lambda state, result: result.energy.utilization,
}  # fmt: skip
"""What each step records besides its payments (``paid_<channel>``): arrays the step already
made (no computation), (B, ...) each."""


@dataclass(frozen=True)
class Recorded:
    """The recorded arrays stacked over steps, (B, rows, ...), and the batch's parameters."""

    arrays: dict[str, np.ndarray]
    params: Params

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @property
    def dt(self) -> np.ndarray:
        """(B, 1) step length, to broadcast over (B, rows)."""
        return self.params.clock.dt[:, None]


def reference_price(r: Recorded) -> np.ndarray:
    """(B, rows, Sc) price paid for the supplier's best-value uncontrolled chip; NaN before any.

    The released chip of the supplier's catalogue with the most FLOP/s per
    list USD (the first of equals) in the step's year, at the index quoted in the step.
    """
    year = r.params.clock.start_year[:, None] + r["step_start"] * r.dt  # (B, rows)
    best, any_on_sale = best_value_chip(r.params, year)
    b = np.arange(best.shape[0])[:, None, None]
    price = r.params.hardware.chip_price[b, best]
    return np.where(any_on_sale, price * r["quoted_index"], np.nan)


def best_value_chip(params: Params, year: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each supplier's released catalogue chip with the most FLOP/s per list USD, by row.

    Args:
        params: the batch's parameters.
        year: (B, rows) calendar year of each row's step.

    Returns:
        ``(best, any_on_sale)``, (B, rows, Sc) each: the roadmap index of the
        chip (the first of equals) and whether the supplier had any chip on sale.
    """
    hw = params.hardware
    on_sale = params.chips.on_sale_from[:, None] <= year[:, :, None, None]  # (B, rows, Sc, R)
    value = np.where(on_sale, (hw.chip_flops / hw.chip_price)[:, None, None, :], -np.inf)
    return value.argmax(axis=3), on_sale.any(axis=3)


Series = Callable[[Recorded], np.ndarray]

LAB_SERIES: dict[str, Series] = {
    "loss": lambda r: r["losses"],
    "compute": lambda r: r["compute"],
    "run_compute": lambda r: r["run_compute"],
    "run_flop": lambda r: r["run_flop"],
    "training_run": lambda r: r["run_active"] | r["run_finished"],
    "run_finished": lambda r: r["run_finished"],
    "training_compute_added": lambda r: r["run_added"],
    "run_start": lambda r: r["run_start"],
    "run_units": lambda r: r["run_units"],
    "run_chip": lambda r: r["run_chip"],
    "software_multiplier": lambda r: 2.0 ** r["log2_software"],
    "gamma_software": lambda r: r["gamma_software"],
    "fleet_units": lambda r: r["fleet_units"],
    "fleet_flops": lambda r: r["fleet_flops"],
    "running_units": lambda r: r["running_units"],
    "running_flops": lambda r: r["running_flops"],
    "power_mw": lambda r: r["delivered_mw"].sum(axis=-1) + r["own_mw"],
    "own_power_mw": lambda r: r["own_mw"],
    "facility_mw": lambda r: r["facility_mw"],
    "own_generation_mw": lambda r: r["own_generation_mw"],
    "spend_capex": lambda r: (r["paid_chips"] - r["paid_chip_refunds"]).sum(axis=-1),
    "spend_tariffs": lambda r: r["paid_tariffs"],
    "spend_facilities": lambda r: r["paid_facilities"],
    "spend_energy": lambda r: r["paid_energy"].sum(axis=-1),
    "spend_carbon_tax": lambda r: r["paid_carbon_tax"].sum(axis=-1) + r["paid_own_carbon_tax"],
    "spend_own_generation": lambda r: r["paid_generation"] + r["paid_own_power"],
    "spend_rnd": lambda r: r["paid_rnd"],
    "spend_projects": lambda r: r["paid_projects"],
    "spend_compliance": lambda r: r["paid_compliance"],
    "funding": lambda r: r["paid_funding"],
    "revenue": lambda r: r["paid_revenue"],
    "payouts": lambda r: r["paid_payouts"],
    "cash": lambda r: r["cash"],
    "spending_rate": lambda r: r["spending_rate"],
    "market_share": lambda r: r["shares"],
    "chips_ordered": lambda r: r["ordered"],
    "chips_received": lambda r: r["received"],
    "projects_done": lambda r: r["projects_done"].sum(axis=-1).astype(float),
}
"""Per step and lab, (B, rows, N)."""

CHIP_SERIES: dict[str, Series] = {
    "price": reference_price,
    "price_index": lambda r: r["quoted_index"],
    "ordered": lambda r: r["chip_orders"].sum(axis=2),
    "demand": lambda r: r["chip_demand"],
    "supply": lambda r: r["chip_supply"],
    "sold": lambda r: r["chip_sold"],
    "delivered": lambda r: r["chip_delivered"],
    "backlog": lambda r: r["chip_backlog"],
    "in_production": lambda r: r["chip_in_production"],
    "lead_time_years": lambda r: r["chip_lead_time"],
    "packaging_wafers_per_month": lambda r: r["packaging"],
    "revenue": lambda r: r["chip_revenue"],
}
"""Per step and chip supplier, (B, rows, Sc)."""

ENERGY_SERIES: dict[str, Series] = {
    "price": lambda r: r["energy_price"],
    "demand": lambda r: r["energy_requested"],
    "supply": lambda r: r["energy_available"],
    "sold": lambda r: r["energy_sold"],
    "utilization": lambda r: r["energy_utilization"],
    "energy_mwh": lambda r: r["energy_sold"] * HOURS_PER_YEAR * r.dt[..., None],
    "revenue": lambda r: r["paid_energy"].sum(axis=2),
    "capacity_mw": lambda r: r["capacity_mw"],
    "backlog": lambda r: r["energy_pipeline"],
    "lead_time_years": lambda r: np.broadcast_to(
        r.params.energy.lead_time[:, None, :], r["energy_price"].shape
    ),
}
"""Per step and energy supplier, (B, rows, Se)."""

ECONOMY_SERIES: dict[str, Series] = {
    "hhi_compute": lambda r: clearing.hhi(r["compute"]),
    "hhi_market_share": lambda r: clearing.hhi(r["shares"]),
    "market_size": lambda r: r["market_size"],
}
"""Per step, (B, rows)."""


EDGE_SERIES: dict[str, Series] = {
    "chip_units": lambda r: r["chip_orders"],
    "chip_value": lambda r: r["paid_chips"],
    "energy_mwh": lambda r: r["delivered_mw"] * HOURS_PER_YEAR * r.dt[..., None, None],
    "energy_value": lambda r: r["paid_energy"],
}
"""Per step, flows on the supply network's edges, lab axis first: (B, rows, N, Sc | Se)."""


TABLES = {"labs": LAB_SERIES, "chips": CHIP_SERIES, "energy": ENERGY_SERIES,
          "economy": ECONOMY_SERIES, "edges": EDGE_SERIES}  # fmt: skip


def bytes_per_run(labs: int, chip_suppliers: int, energy_suppliers: int, steps: int) -> int:
    """Bytes a run's trace takes at its peak, 8 bytes a value.

    Every series, edge flow and payment channel once as recorded (the arrays
    of each step) and once stacked over steps while the series are derived.
    """
    per_step = (
        len(LAB_SERIES) * labs + len(CHIP_SERIES) * chip_suppliers
        + len(ENERGY_SERIES) * energy_suppliers + len(ECONOMY_SERIES)
        + 2 * labs * (chip_suppliers + energy_suppliers)  # edge flows
        + labs * (len(CHANNELS) - 4 + 2 * chip_suppliers + 2 * energy_suppliers)  # payments
    )  # fmt: skip
    return 2 * 8 * (steps + 1) * per_step


def opening(state: State, params: Params) -> StepResult:
    """The result of "step 0": no trade, prices at their starting values, shares of the start."""
    runs, labs = state.labs.cash.shape
    n_chips, n_energy = params.chips.capacity_per_year.shape[1], params.energy.capacity_mw.shape[1]
    zeros, chips = np.zeros((runs, labs)), np.zeros((runs, n_chips))
    energy = np.zeros((runs, n_energy))
    expected = power.regional_price(params.energy.serves, state.energy.price)
    losses = phases.loss(params, state.labs.compute)
    offer = phases.Offer(zeros > 0, zeros.astype(int), zeros.astype(int), zeros, zeros, zeros)
    return StepResult(
        built=phases.Built(energy, energy, zeros, zeros),
        funding=phases.Funding(zeros, expected),
        decision=phases.Decision(zeros, zeros, offer, zeros, zeros, zeros),
        chips=phases.ChipTrades(
            ordered=zeros, orders=np.zeros((runs, labs, n_chips)), received=zeros,
            chips=np.zeros((runs, labs, n_chips)), refunds=np.zeros((runs, labs, n_chips)),
            tariffs=zeros, quoted_index=state.chips.price_index, demand=chips, supply=chips,
            sold=chips, delivered=chips, revenue=chips,
            lead_time=np.broadcast_to(params.chips.lead_time, chips.shape),
        ),
        energy=phases.EnergyTrades(
            np.zeros((runs, labs, n_energy)), np.zeros((runs, labs, n_energy)),
            np.zeros((runs, labs, n_energy)), state.energy.price, energy, energy, energy,
            energy, zeros, zeros, zeros,
        ),
        training=phases.Training(
            zeros, zeros, zeros, zeros, zeros,
            training_runs.RunStep(zeros, zeros, zeros > 0), zeros,
        ),
        revenue=phases.Revenue(
            np.zeros(runs), losses, clearing.logit_shares(losses, params.market.temperature), zeros
        ),
        payouts=zeros,
    )  # fmt: skip


class Trace:
    """What every step of a batch recorded, and the series and payments derived from it.

    A step appends references to arrays it already made (:data:`RECORDED`);
    the series are computed once for all recorded steps when first read.
    """

    def __init__(self, params: Params):
        self.params = params
        names = [*RECORDED, *(f"paid_{channel}" for channel in CHANNELS)]
        self._recorded: dict[str, list[np.ndarray]] = {name: [] for name in names}
        self._derived: tuple[dict, dict] | None = None

    def record(self, state: State, result: StepResult) -> None:
        """Keep the state after ``state.step`` steps and that step's result (row ``state.step``)."""
        for name, get in RECORDED.items():
            self._recorded[name].append(get(state, result))
        for channel, amounts in result.payments().items():
            self._recorded[f"paid_{channel}"].append(amounts)
        self._derived = None

    @property
    def series(self) -> dict[str, dict[str, np.ndarray]]:
        """Table -> series -> (B, rows, ...) values, one row per recorded step."""
        return self._derive()[0]

    @property
    def payments(self) -> dict[str, np.ndarray]:
        """Channel -> (B, rows, ...) amounts paid in each recorded step."""
        return self._derive()[1]

    def _derive(self) -> tuple[dict, dict]:
        if self._derived is None:
            stacked = {name: np.stack(rows, axis=1) for name, rows in self._recorded.items()}
            recorded = Recorded(stacked, self.params)
            series = {
                table: {name: np.asarray(f(recorded), dtype=float) for name, f in named.items()}
                for table, named in TABLES.items()
            }
            payments = {name: stacked[f"paid_{name}"] for name in CHANNELS}
            self._derived = series, payments
        return self._derived
