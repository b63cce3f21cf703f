"""Supplier agents: chip makers and energy suppliers (docs/model.md sections 3.13-3.14).

Both are thin Mesa agents around the pure clearing rules of ``sim.markets``;
the model decides when they act. Time ``t`` is in years on the model's clock
(by default years since the start of the run), ``dt`` is the step length in
years.

Chip supplier, per step ``[t, t + dt]``:
    1. ``capacity(t, dt)`` chips can be made (exact integral of the growing
       production rate, net of outages).
    2. ``clear(orders, t, dt)`` shares that capacity among all orders (pro rata
       or by bid), charges each filled unit the price quoted at the *start* of
       the step (``chip.price * price_index``), then moves the price index by
       tatonnement on total requested / capacity, for the next step.
    Production is to order: unsold capacity is lost (no inventory), so
    ``produced == sold`` always.

Energy supplier, per step:
    1. ``advance(t, dt, multiplier)`` orders new capacity, which comes online
       exactly ``lead_time_years`` later, and commissions what is due.
    2. ``clear(requests_mw, cap_mw, t, dt)`` delivers average power (MW) pro
       rata within ``min(capacity, cap)`` at a scarcity price per MWh.
    The supplier does not book money; the model charges buyers (plus any
    carbon tax) and may add to ``revenue``.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import mesa
import numpy as np

from sim.checks import number
from sim.chips import ChipModel, available
from sim.markets import (
    adjust_price_index_unchecked,
    allocate_by_bid,
    pro_rata_fill_unchecked,
    scarcity_price_unchecked,
)

HOURS_PER_YEAR = 8766.0
"""Hours in a Julian year (365.25 d x 24 h), converting MW over dt years into MWh."""

ALLOCATION_RULES = ("pro_rata", "by_bid")

_TIME_EPS = 1e-9


def _fraction(name: str, value: float) -> float:
    """Return ``value`` as a float in [0, 1]; else raise a named ValueError."""
    return number(name, value, 0.0, 1.0)


# --------------------------------------------------------------------------
# Outages (shared by both suppliers)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Outage:
    """A capacity shock: ``fraction_lost`` of capacity is gone on ``[start, end)``."""

    start: float
    end: float
    fraction_lost: float


class _OutageSchedule:
    """Outage list with the surviving capacity fraction as a step function of time.

    Overlapping outages combine multiplicatively: each removes its fraction of
    what the others leave, so the surviving fraction stays in [0, 1].
    """

    def __init__(self) -> None:
        self.outages: list[Outage] = []

    def add(self, start_year: float, duration_years: float, fraction_lost: float) -> Outage:
        """Validate and store one outage on the model clock."""
        start = number("start_year", start_year)
        duration = number("duration_years", duration_years, 0.0, low_open=True)
        lost = _fraction("fraction_lost", fraction_lost)
        outage = Outage(start, start + duration, lost)
        self.outages.append(outage)
        return outage

    def surviving(self, t: float) -> float:
        """Fraction of capacity available at instant ``t``."""
        alive = 1.0
        for outage in self.outages:
            if outage.start <= t < outage.end:
                alive *= 1.0 - outage.fraction_lost
        return alive

    def pieces(self, t: float, dt: float) -> list[tuple[float, float, float]]:
        """Split ``[t, t+dt]`` at outage edges: ``(a, b, surviving fraction)`` pieces."""
        cuts = {t, t + dt}
        for outage in self.outages:
            cuts.update(x for x in (outage.start, outage.end) if t < x < t + dt)
        edges = sorted(cuts)
        return [
            (a, b, self.surviving(0.5 * (a + b))) for a, b in zip(edges, edges[1:], strict=False)
        ]

    def mean_surviving(self, t: float, dt: float) -> float:
        """Time-average surviving fraction over ``[t, t+dt]``."""
        if not self.outages:
            return 1.0
        return sum((b - a) * alive for a, b, alive in self.pieces(t, dt)) / dt


# --------------------------------------------------------------------------
# Chips
# --------------------------------------------------------------------------


@dataclass(slots=True)
class ChipOrder:
    """A lab's order for one chip model in one step.

    Attributes:
        buyer: Buyer id (the lab's ``unique_id``).
        chip: Chip model ordered (may be a derated export variant).
        units: Chips requested, in [0, inf) (fractional in the mean-field model).
        bid: Priority for ``allocation="by_bid"`` (higher first); not a price.
    """

    buyer: int
    chip: ChipModel
    units: float
    bid: float = 0.0


@dataclass(slots=True)
class ChipFill:
    """What an order got: ``units`` at ``unit_price`` USD each.

    ``requested - units`` is the order's shortage; ``units * unit_price`` its bill.
    """

    buyer: int
    chip: ChipModel
    requested: float
    units: float
    unit_price: float

    @property
    def shortage(self) -> float:
        """Units requested but not delivered."""
        return self.requested - self.units

    @property
    def cost(self) -> float:
        """Amount owed to the supplier, USD."""
        return self.units * self.unit_price


class ChipSupplier(mesa.Agent):
    """A chip maker with a roadmap, growing capacity and a tatonnement price index.

    Capacity is counted in chips of any generation (the binding constraint,
    e.g. advanced packaging, is shared by all products). Calibration:
    about 3.85M data-center GPUs shipped in 2023, all vendors, NVIDIA 98%
    (docs/calibration.md "Chip supply", TechInsights); CoWoS packaging
    several times larger by 2025, hence a growth rate well above zero.

    Attributes:
        name, region: Labels; region decides export controls and tariffs.
        roadmap: Chips this supplier sells (calendar release years).
        capacity_per_year: Production rate at ``t = epoch``, chips/yr.
        capacity_growth: Annual growth fraction of the rate, > -1.
        price_response: Log-price change per year per unit of excess demand.
        allocation: "pro_rata" or "by_bid" rationing when oversubscribed.
        price_index: Multiplier on list prices; starts at 1.0.
        produced, sold, shortage, revenue: Cumulative units / USD.
        last_demand, last_supply, last_sold, last_shortage, last_revenue: Last step.
    """

    def __init__(
        self,
        model: mesa.Model,
        *,
        name: str,
        region: str,
        roadmap: tuple[ChipModel, ...],
        capacity_per_year: float,
        capacity_growth: float,
        price_response: float,
        allocation: str = "pro_rata",
        price_floor: float = 0.5,
        price_ceiling: float = 5.0,
        epoch: float = 0.0,
    ) -> None:
        """Create the supplier.

        Args:
            model: The Mesa model.
            name: Display name.
            region: Region label (e.g. "US", "TW").
            roadmap: Chips on offer; must be non-empty.
            capacity_per_year: Chips/yr at ``t = epoch``, in [0, inf).
            capacity_growth: Fractional growth per year, in (-1, inf).
            price_response: Tatonnement speed per year, in [0, inf).
            allocation: "pro_rata" (equal fill fraction) or "by_bid".
            price_floor: Lowest price index, in (0, price_ceiling].
            price_ceiling: Highest price index.
            epoch: Time at which the rate equals ``capacity_per_year`` (same clock
                as ``t``); 0 for years since the start of the run.
        """
        super().__init__(model)
        if not roadmap or not all(isinstance(c, ChipModel) for c in roadmap):
            raise ValueError("roadmap must be a non-empty tuple of ChipModel")
        if allocation not in ALLOCATION_RULES:
            raise ValueError(f"allocation must be one of {ALLOCATION_RULES}, got {allocation!r}")
        self.name = str(name)
        self.region = str(region)
        self.roadmap = tuple(roadmap)
        self.capacity_per_year = number("capacity_per_year", capacity_per_year, 0.0)
        self.capacity_growth = number("capacity_growth", capacity_growth, -1.0, low_open=True)
        self.price_response = number("price_response", price_response, 0.0)
        self.allocation = allocation
        self.price_floor = number("price_floor", price_floor, 0.0, low_open=True)
        self.price_ceiling = number("price_ceiling", price_ceiling, self.price_floor)
        self.epoch = number("epoch", epoch)
        self.price_index = 1.0
        self.ledger_code = -1  # the supplier's account in the model's ledger, set by the model
        self._outages = _OutageSchedule()
        self.produced = self.sold = self.shortage = self.revenue = 0.0
        self.quoted_index = self.price_index
        self.last_demand = self.last_supply = self.last_sold = 0.0
        self.last_shortage = self.last_revenue = 0.0

    # -- capacity ---------------------------------------------------------

    @property
    def outages(self) -> list[Outage]:
        """Scheduled outages (read-only view)."""
        return list(self._outages.outages)

    def add_outage(self, start_year: float, duration_years: float, fraction_lost: float) -> None:
        """Schedule a supply shock: lose ``fraction_lost`` of capacity on [start, start+duration).

        ``start_year`` is on the same clock as ``t``. Overlapping outages combine
        multiplicatively.
        """
        self._outages.add(start_year, duration_years, fraction_lost)

    def _rate_integral(self, a: float, b: float) -> float:
        """Exact integral of ``capacity_per_year * (1+g)^(tau - epoch)`` over [a, b]."""
        log_growth = math.log1p(self.capacity_growth)
        if log_growth == 0.0:
            return self.capacity_per_year * (b - a)
        level = math.exp((a - self.epoch) * log_growth)
        return self.capacity_per_year * level * math.expm1((b - a) * log_growth) / log_growth

    def capacity(self, t: float, dt: float) -> float:
        """Chips producible in ``[t, t + dt]``, net of outages.

        Integrates the rate ``K (1+g)^(tau - epoch)`` exactly, piecewise between
        outage edges, so results do not depend on the step size.
        """
        return self._capacity(number("t", t), number("dt", dt, 0.0, low_open=True))

    def _capacity(self, t: float, dt: float) -> float:
        """:meth:`capacity` on a validated clock; one piece when there are no outages."""
        if not self._outages.outages:
            return self._rate_integral(t, t + dt)
        return sum(alive * self._rate_integral(a, b) for a, b, alive in self._outages.pieces(t, dt))

    # -- prices and clearing ----------------------------------------------

    def unit_price(self, chip: ChipModel) -> float:
        """Price per chip now: list price times the current price index (USD)."""
        return chip.price * self.price_index

    def offers(self, year: float, max_tpp: float = math.inf) -> list[ChipModel]:
        """Chips of the roadmap released by calendar ``year``, derated to ``max_tpp``."""
        return available(self.roadmap, year, max_tpp)

    def _allocate(self, requests: list[float], bids: list[float], capacity: float) -> list[float]:
        """Units per request under the supplier's rationing rule."""
        if self.allocation == "by_bid":
            bids_array = np.array(bids, dtype=float)
            return allocate_by_bid(np.array(requests), bids_array, capacity).tolist()
        return pro_rata_fill_unchecked(requests, capacity)

    def clear(self, orders: list[ChipOrder], t: float, dt: float) -> list[ChipFill]:
        """Fill this step's orders and update the price index for the next step.

        All orders share ``capacity(t, dt)``. Each filled unit costs
        ``unit_price(chip)`` quoted before the update. Afterwards the index moves
        by ``adjust_price_index(demand=sum of requested units, supply=capacity)``.

        Args:
            orders: Orders of the step (any buyers, any chips); may be empty.
            t: Start of the step (model clock, years).
            dt: Step length, years (> 0).

        Returns:
            One ``ChipFill`` per order, in order.
        """
        for order in orders:
            number("units", order.units, 0.0)
            number("bid", order.bid)
        return self.clear_unchecked(orders, number("t", t), number("dt", dt, 0.0, low_open=True))

    def clear_unchecked(self, orders: list[ChipOrder], t: float, dt: float) -> list[ChipFill]:
        """:meth:`clear` for a caller that validated the orders and the clock.

        The model's hot path: its orders have finite units >= 0 and finite bids
        by construction, and its clock is valid, so the per-order checks of
        :meth:`clear` would only repeat themselves every step.
        """
        requests = [float(o.units) for o in orders]
        list_prices = [o.chip.price for o in orders]
        units, index = self.fill_unchecked(requests, [o.bid for o in orders], list_prices, t, dt)
        return [
            ChipFill(o.buyer, o.chip, requested, u, price * index)  # unit_price()
            for o, requested, u, price in zip(orders, requests, units, list_prices, strict=True)
        ]

    def fill_unchecked(
        self,
        requests: list[float],
        bids: list[float],
        list_prices: list[float],
        t: float,
        dt: float,
    ) -> tuple[list[float], float]:
        """:meth:`clear_unchecked` on parallel lists, without an object per order.

        Args:
            requests: Units wanted per order (floats >= 0).
            bids: Priority per order (used by ``allocation="by_bid"``).
            list_prices: List price of each order's chip, USD.
            t: Start of the step (model clock, years).
            dt: Step length, years (> 0).

        Returns:
            The units filled per order and the quoted price index: order ``i``
            pays ``list_prices[i] * index`` per unit.
        """
        supply = self._capacity(t, dt)
        index = self.quoted_index = self.price_index
        units = self._allocate(requests, bids, supply) if requests else []
        self._record(requests, units, list_prices, index, supply)
        self.price_index = adjust_price_index_unchecked(
            self.price_index,
            demand=self.last_demand,
            supply=supply,
            response=self.price_response,
            dt=dt,
            floor=self.price_floor,
            ceiling=self.price_ceiling,
        )
        return units, index

    def _record(
        self,
        requests: list[float],
        units: list[float],
        list_prices: list[float],
        index: float,
        supply: float,
    ) -> None:
        """Store per-step and cumulative quantities of one clearing.

        One pass with four running sums: the same additions in the same order
        as ``sum()`` over each quantity, so the results are bit-identical to it.
        """
        demand = sold = shortage = revenue = 0.0
        for i, requested in enumerate(requests):
            filled = units[i]
            demand += requested
            sold += filled
            shortage += requested - filled  # ChipFill.shortage
            revenue += filled * (list_prices[i] * index)  # ChipFill.cost
        self.last_supply = supply
        self.last_demand, self.last_sold = demand, sold
        self.last_shortage, self.last_revenue = shortage, revenue
        self.produced += self.last_sold
        self.sold += self.last_sold
        self.shortage += self.last_shortage
        self.revenue += self.last_revenue


# --------------------------------------------------------------------------
# Energy
# --------------------------------------------------------------------------


class EnergySupplier(mesa.Agent):
    """A regional power supplier with a build pipeline and scarcity pricing.

    Calibration (docs/calibration.md "Energy"): base price e.g. about 81 $/MWh (US
    industrial 2023, EIA), about 200 EUR/MWh (EU), about 88 $/MWh (China ?);
    grid interconnection lead time about 5 years (LBNL "Queued Up");
    carbon intensity in tCO2/MWh is scenario-specific.

    Attributes:
        capacity_mw: Physical capacity online, MW.
        pipeline_mw: Capacity ordered but not yet online, MW (property).
        last_requested_mw, last_available_mw, last_delivered_mw: Last step, MW.
        last_energy_mwh: Energy delivered in the last step, MWh.
        last_price: Price of the last step, $/MWh.
        last_utilization: Requested / available (capped at 1), drives the price.
        last_load_factor: Delivered / physical capacity.
        last_emissions_t: tCO2 of the last step.
        revenue: Cumulative USD; left to the model to book (not updated here).
    """

    def __init__(
        self,
        model: mesa.Model,
        *,
        name: str,
        region: str,
        capacity_mw: float,
        base_price: float,
        build_rate_mw_per_year: float,
        lead_time_years: float,
        carbon_intensity: float,
        scarcity_knee: float = 0.8,
        scarcity_slope: float = 4.0,
    ) -> None:
        """Create the supplier.

        Args:
            model: The Mesa model.
            name: Display name.
            region: Region label; only labs of the same region buy from it.
            capacity_mw: Initial capacity online, MW, in [0, inf).
            base_price: Price below the scarcity knee, $/MWh, in [0, inf).
            build_rate_mw_per_year: New capacity ordered per year, in [0, inf).
            lead_time_years: Delay from order to online, years, in [0, inf).
            carbon_intensity: tCO2 per MWh, in [0, inf).
            scarcity_knee: Utilization where scarcity pricing starts, in [0, 1).
            scarcity_slope: Price multiple added at full utilization, in [0, inf).
        """
        super().__init__(model)
        self.name = str(name)
        self.region = str(region)
        self.capacity_mw = number("capacity_mw", capacity_mw, 0.0)
        self.base_price = number("base_price", base_price, 0.0)
        self.build_rate_mw_per_year = number("build_rate_mw_per_year", build_rate_mw_per_year, 0.0)
        self.lead_time_years = number("lead_time_years", lead_time_years, 0.0)
        self.carbon_intensity = number("carbon_intensity", carbon_intensity, 0.0)
        self.scarcity_knee = number("scarcity_knee", scarcity_knee, 0.0)
        if self.scarcity_knee >= 1.0:
            raise ValueError(f"scarcity_knee must be in [0, 1), got {scarcity_knee!r}")
        self.scarcity_slope = number("scarcity_slope", scarcity_slope, 0.0)
        self._pipeline: list[tuple[float, int, float]] = []  # heap of (due, seq, mw)
        self.ledger_code = -1  # the supplier's account in the model's ledger, set by the model
        self._seq = 0
        self._outages = _OutageSchedule()
        self.revenue = 0.0
        self.commissioned_mw = self.last_commissioned_mw = self.last_ordered_mw = 0.0
        self.last_requested_mw = self.last_available_mw = self.last_delivered_mw = 0.0
        self.last_energy_mwh = self.last_emissions_t = 0.0
        self.last_price = self.base_price
        self.last_utilization = self.last_load_factor = 0.0

    # -- build pipeline ---------------------------------------------------

    @property
    def pipeline_mw(self) -> float:
        """MW ordered but not yet online."""
        return sum(mw for _, _, mw in self._pipeline)

    def pipeline(self) -> list[tuple[float, float]]:
        """Pending builds as sorted ``(due_time, mw)`` pairs."""
        return [(due, mw) for due, _, mw in sorted(self._pipeline)]

    def advance(self, t: float, dt: float, buildout_multiplier: float = 1.0) -> float:
        """Order this step's builds and commission every build that is due.

        Orders ``build_rate_mw_per_year * buildout_multiplier * dt`` MW due at
        ``t + lead_time_years`` exactly, then brings online every build with
        due time ``<= t`` (so a lead time of 0 is online at once, and a due
        time between steps is online from the first step starting at or after
        it). Call once per step, at the start of the step, before ``clear``.

        Args:
            t: Start of the step (model clock, years).
            dt: Step length, years (> 0).
            buildout_multiplier: Policy lever on the build rate, in [0, inf).

        Returns:
            MW commissioned by this call.
        """
        start = number("t", t)
        step = number("dt", dt, 0.0, low_open=True)
        multiplier = number("buildout_multiplier", buildout_multiplier, 0.0)
        return self.advance_unchecked(start, step, multiplier)

    def advance_unchecked(self, t: float, dt: float, buildout_multiplier: float) -> float:
        """:meth:`advance` for a caller whose clock and multiplier are already validated."""
        start = t
        ordered = self.build_rate_mw_per_year * buildout_multiplier * dt
        if ordered > 0.0:
            heapq.heappush(self._pipeline, (start + self.lead_time_years, self._seq, ordered))
            self._seq += 1
        online = 0.0
        magnitude = -start if start < 0.0 else start
        tolerance = _TIME_EPS * (magnitude if magnitude > 1.0 else 1.0)  # max(1, |t|)
        while self._pipeline and self._pipeline[0][0] <= start + tolerance:
            online += heapq.heappop(self._pipeline)[2]
        self.capacity_mw += online
        self.commissioned_mw += online
        self.last_commissioned_mw = online
        self.last_ordered_mw = ordered
        return online

    # -- outages ----------------------------------------------------------

    @property
    def outages(self) -> list[Outage]:
        """Scheduled outages (read-only view)."""
        return list(self._outages.outages)

    def add_outage(self, start_year: float, duration_years: float, fraction_lost: float) -> None:
        """Schedule a loss of ``fraction_lost`` of capacity on [start, start+duration)."""
        self._outages.add(start_year, duration_years, fraction_lost)

    def effective_capacity_mw(self, t: float, dt: float) -> float:
        """Average MW online over ``[t, t+dt]`` after outages."""
        return self.capacity_mw * self._outages.mean_surviving(t, dt)

    # -- clearing ---------------------------------------------------------

    def clear(
        self, requests_mw: dict[int, float], cap_mw: float | None, t: float, dt: float
    ) -> dict[int, tuple[float, float]]:
        """Deliver power pro rata within ``min(capacity, cap)`` at a scarcity price.

        ``available = min(effective capacity, cap_mw)``. Utilization for pricing
        is ``total requested / available`` capped at 1 (1 if nothing is
        available but something is requested), so a binding cap raises the
        price even when physical capacity is ample. Price per MWh is
        ``scarcity_price(base_price, utilization, knee, slope)``, the same for
        every buyer in the step.

        Args:
            requests_mw: Average MW wanted over the step, per buyer id, each >= 0.
            cap_mw: Policy/regional cap in MW for this supplier, or None (no cap).
            t: Start of the step (model clock, years).
            dt: Step length, years (> 0).

        Returns:
            ``{buyer: (delivered_mw, price_per_mwh)}`` for every requesting buyer.
        """
        step = number("dt", dt, 0.0, low_open=True)
        start = number("t", t)
        if cap_mw is not None:
            cap_mw = number("cap_mw", cap_mw, 0.0, allow_inf=True)
        buyers = list(requests_mw)
        wanted = [number("requests_mw", requests_mw[b], 0.0) for b in buyers]
        delivered, price = self.deliver(wanted, cap_mw, start, step)
        return {b: (mw, price) for b, mw in zip(buyers, delivered, strict=True)}

    def deliver(
        self, requests_mw: list[float], cap_mw: float | None, t: float, dt: float
    ) -> tuple[list[float], float]:
        """:meth:`clear` without input checks, requests as a list: ``(delivered MW, price)``.

        Delivered MW are per request, in order. For a caller whose requests
        (floats >= 0), cap and clock are valid: the model's hot path, which
        computes them itself every step.
        """
        # Without outages mean_surviving() is 1.0 and x * 1.0 == x: skip the calls.
        outages = self._outages.outages
        capacity = self.effective_capacity_mw(t, dt) if outages else self.capacity_mw
        if cap_mw is not None:
            capacity = cap_mw if cap_mw < capacity else capacity  # min(), no call
        requested = math.fsum(requests_mw)
        delivered = pro_rata_fill_unchecked(requests_mw, capacity, requested)
        utilization = _utilization(requested, capacity)
        price = scarcity_price_unchecked(
            self.base_price, utilization, self.scarcity_knee, self.scarcity_slope
        )
        self._record(requested, capacity, sum(delivered), price, utilization, dt)
        return delivered, price

    def _record(
        self,
        requested: float,
        limit: float,
        delivered: float,
        price: float,
        utilization: float,
        dt: float,
    ) -> None:
        """Store the last step's quantities."""
        self.last_requested_mw = requested
        self.last_available_mw = limit
        self.last_delivered_mw = delivered
        self.last_energy_mwh = delivered * dt * HOURS_PER_YEAR
        self.last_price = price
        self.last_utilization = utilization
        self.last_load_factor = delivered / self.capacity_mw if self.capacity_mw > 0 else 0.0
        self.last_emissions_t = self.last_energy_mwh * self.carbon_intensity


def _utilization(requested: float, available_mw: float) -> float:
    """Requested over available power, capped at 1 (1 if demand meets zero supply)."""
    if requested <= 0.0:
        return 0.0
    if available_mw <= 0.0:
        return 1.0
    ratio = requested / available_mw
    return ratio if ratio < 1.0 else 1.0  # min(1.0, ratio) without a call
