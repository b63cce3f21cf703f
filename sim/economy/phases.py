"""The economy's step: one pure function per mechanism, over arrays of runs.

Read this module top to bottom for the whole per-step dynamics; each
function's docstring names its section of ``docs/model.md``. A phase takes
the state, the batch's parameters and the step's start time ``t`` (B,) and
returns the new state and what it produced (trades, payments, prices), which
later phases receive as arguments: nothing passes between phases through
hidden attributes. Step order:

1. :func:`infrastructure`: energy suppliers order capacity on the prices they
   expect and commission what is due; delivered GPUs are installed (their
   data-centre facility built and paid) and old ones retired;
2. :func:`funding`: investors offer funding by each lab's standing and it
   raises what its cash buffer needs; each lab prices power at its region's
   last clearing price;
3. :func:`decide`: each lab reserves its power bill, buys an efficiency
   project, splits the rest between GPUs and R&D by its strategy, pays R&D
   and sets its software gamma, and picks the chip offer it will order;
4. :func:`chip_market`: suppliers ration the orders and move their prices;
5. :func:`energy_market`: each region's suppliers serve labs in merit order,
   everyone paying the marginal supplier's price;
6. :func:`train`: labs start, train and finish frontier runs along the law,
   integrating ``2^(gamma t)`` exactly, and deploy the finished ones;
7. :func:`earn_revenue`: the AI-services market is shared by a logit in ``-L / T``;
8. :func:`settle`: each lab updates its trailing spending and returns the
   cash above its buffer to investors.

Axes: ``B`` runs, ``N`` labs, ``Sc`` chip and ``Se`` energy suppliers, ``R``
roadmap chips, ``P`` projects, ``V`` chip variants a fleet can hold.

Quotients that can divide by zero (no power, no supply, no order) are
computed for every entry and the undefined ones replaced by ``np.where``;
:func:`step` runs the phases with numpy's floating-point warnings off, once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sim.economy import (
    chip_supply,
    clearing,
    facilities,
    finance,
    generation,
    knowledge,
    power,
    training_runs,
)
from sim.economy.fleet import dispatch, install_pending, retire
from sim.economy.params import Params
from sim.economy.payments import lab_spending, pay, up_to_cash
from sim.economy.state import Purchase, State
from sim.law import LN2, SECONDS_PER_YEAR, exponential_integral

HOURS_PER_YEAR = 8766.0
"""Hours in a Julian year: MW over ``dt`` years is ``MW x 8766 x dt`` MWh."""


def growth_integral(log_growth: np.ndarray, t: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """``integral_t^(t+dt) (1 + g)^tau d tau`` for ``log_growth = log(1 + g)``: a growing flow."""
    return np.exp(log_growth * t) * exponential_integral(dt, log_growth)


def loss(params: Params, compute: np.ndarray) -> np.ndarray:
    """``L(C) = E + K C^-kappa`` for (B, N) compute."""
    law = params.law
    return law.E[:, None] + law.K[:, None] * compute ** -law.kappa[:, None]


# ------------------------------------------------------------- 1. infrastructure


@dataclass(frozen=True)
class Built:
    """Energy capacity ordered, commissioned (B, Se) MW; facilities, own plants paid (B, N) USD."""

    ordered_mw: np.ndarray
    commissioned_mw: np.ndarray
    facilities: np.ndarray
    generation: np.ndarray


def infrastructure(state: State, params: Params, t: np.ndarray) -> tuple[State, Built]:
    """Order and commission energy capacity; install last step's GPUs and their facilities.

    docs/model.md 3.14, 3.1 and 3.20: each supplier orders MW on the price it
    expects to receive (:func:`sim.economy.power.build_orders`), due its lead
    time in steps later, and brings online what is due now; the GPUs
    delivered last step are installed, cohorts ``lifetime`` years old at
    ``t`` retire, each lab builds (and pays for) the facility MW its
    fleet lacks and orders own generation where it beats the grid's price
    (:func:`sim.economy.generation.order`, docs/model.md 3.21).
    """
    energy, e, dt = state.energy, params.energy, params.clock.dt[:, None]
    ordered = power.build_orders(e, energy.expected_price, dt)
    online, pipeline = power.place_orders(energy.pipeline, ordered, e.lead_steps)
    energy = replace(energy, capacity_mw=energy.capacity_mw + online, pipeline=pipeline)
    fleet = install_pending(state.fleet, params.hardware)
    fleet = retire(fleet, params.hardware, t, params.clock.dt)
    labs, paid = facilities.build(state.labs, fleet, params.hardware)
    grid = power.regional_price(e.serves, energy.price)
    labs, plants = generation.order(labs, params.labs, grid, energy.own_price)
    state = replace(state, labs=labs, energy=energy, fleet=fleet)
    return state, Built(ordered, online, paid, plants)


# ------------------------------------------------------------------- 2. funding


@dataclass(frozen=True)
class Funding:
    """Outside funding received (B, N) USD and the power price each lab expects (B, N) USD/MWh."""

    funding: np.ndarray
    expected_energy_price: np.ndarray


def funding(state: State, params: Params, t: np.ndarray) -> tuple[State, Funding]:
    """Labs raise outside funding; they expect to pay for power their region's last price.

    docs/model.md 3.18, 3.23 and 3.12: investors offer ``F0 x capital
    availability x integral (1 + g)^tau`` over the step times the lab's
    standing ``(share / opening share)^elasticity``; the lab raises at most
    what refills its cash buffer and pays the step
    (:func:`sim.economy.finance.raised`). The expected price is the clearing
    price the energy market published last step (tax included; before any
    trade, its quote at no demand).
    """
    labs, dt = state.labs, params.clock.dt[:, None]
    expected = power.regional_price(params.energy.serves, state.energy.price)
    scheduled = params.labs.funding_per_year * growth_integral(
        params.labs.log_funding_growth, t[:, None], dt
    )
    offer = finance.offered(
        scheduled, labs.market_share, labs.opening_share, params.labs.investor_elasticity
    )
    target = finance.target_cash(params.labs.cash_buffer_years, labs.spending_rate)
    received = finance.raised(offer, labs.cash, target, labs.spending_rate * dt)
    cash = pay(labs.cash, {"funding": received})
    return replace(state, labs=replace(labs, cash=cash)), Funding(received, expected)


# -------------------------------------------------------------------- 3. decide


@dataclass(frozen=True)
class Offer:
    """Each lab's best chip offer: most FLOP/s per dollar of ownership cost."""

    found: np.ndarray  # (B, N) bool
    supplier: np.ndarray  # (B, N) int
    chip: np.ndarray  # (B, N) int, index into the roadmap
    flops: np.ndarray  # (B, N) FLOP/s per GPU (derated on the lab's edge)
    unit_price: np.ndarray  # (B, N) USD per GPU before tariff (list price x index)
    ownership_cost: np.ndarray  # (B, N) USD: price with tariff + lifetime energy


@dataclass(frozen=True)
class Decision:
    """What each lab decided in the step."""

    power_requested_mw: np.ndarray  # (B, N)
    capex_budget: np.ndarray  # (B, N) USD for GPUs
    offer: Offer
    rnd: np.ndarray  # (B, N) USD paid to R&D staff
    rd_subsidy: np.ndarray  # (B, N) USD, the government's match
    projects: np.ndarray  # (B, N) USD paid for a project


def decide(
    state: State, params: Params, t: np.ndarray, funded: Funding, shocks: np.ndarray
) -> tuple[State, Decision]:
    """Reserve power, buy a project, split the budget, fund R&D, choose a chip offer.

    docs/model.md 3.4-3.12. ``shocks`` are this step's standard normal R&D
    shocks (B, N).
    """
    labs, dt = state.labs, params.clock.dt[:, None]
    target = finance.target_cash(params.labs.cash_buffer_years, labs.spending_rate)
    drawn = params.labs.spend_rate * dt * labs.cash
    spendable = finance.spendable(labs.cash, funded.funding, drawn, target)
    ceiling = power.regional_price(params.energy.serves, state.energy.price_ceiling)
    worst = np.maximum(ceiling, state.energy.own_price)
    mwh_per_mw = HOURS_PER_YEAR * dt
    need_mw = np.minimum(facilities.needed_mw(state.fleet, params.hardware), labs.facility_mw)
    energy_budget = np.minimum(need_mw * mwh_per_mw * worst, spendable)
    discretionary = spendable - energy_budget
    frontier = labs.log2_software.max(axis=1, keepdims=True)
    state, project_cost = buy_projects(state, params, discretionary)
    discretionary = discretionary - project_cost
    year = params.clock.start_year + t
    offer = best_offers(state, params, year, funded.expected_energy_price)
    capex_share, rnd_share, state = split_budget(state, params, offer)
    state, rnd, subsidy = fund_rnd(state, params, rnd_share * discretionary, frontier, shocks)
    decision = Decision(
        power_requested_mw=energy_budget / (mwh_per_mw * worst),
        capex_budget=np.where(_may_buy_gpus(state, params), capex_share * discretionary, 0.0),
        offer=offer,
        rnd=rnd,
        rd_subsidy=subsidy,
        projects=project_cost,
    )
    return state, decision


def buy_projects(
    state: State, params: Params, discretionary: np.ndarray
) -> tuple[State, np.ndarray]:
    """Each lab buys the remaining project with the most doublings per dollar, if affordable.

    docs/model.md 3.11: a project recovering ``s`` of the waste share ``w``
    adds ``log2((1 - w (1 - r')) / (1 - w (1 - r)))`` doublings, ``r' = min(1,
    r + s)``; it costs ``cost per GPU x GPUs`` and must fit ``project share x
    discretionary budget``. Returns the state and the cost paid (B, N).
    """
    labs, rnd = state.labs, params.rnd
    waste = rnd.waste_fraction[:, None, None]
    real = rnd.project_waste_share[:, None, :] > 0.0
    recovered = labs.recovered_share[..., None]
    adds = rnd.project_waste_share[:, None, :] * rnd.recoverable[:, None, None]
    after = 1.0 - waste * (1.0 - np.minimum(1.0, recovered + adds))
    gain = np.log2(after / (1.0 - waste * (1.0 - recovered)))
    candidate = real & ~labs.projects_done & (gain > 0.0)
    units = state.fleet.total_units[..., None]
    cost = rnd.project_cost_per_gpu[:, None, :] * units
    value = np.where(cost > 0.0, gain / cost, np.inf)
    best = np.where(candidate, value, -np.inf).argmax(axis=2)[..., None]
    best_cost = np.take_along_axis(cost, best, axis=2)[..., 0]
    budget = params.labs.project_share * discretionary
    open_projects = (real & ~labs.projects_done).any(axis=2)
    buys = (
        params.labs.buys_projects & open_projects & (budget > 0.0) & candidate.any(axis=2)
        & (best_cost <= budget)
    )  # fmt: skip
    chosen = buys[..., None] & (np.arange(gain.shape[2]) == best)
    paid = np.where(buys, best_cost, 0.0)
    labs = replace(
        labs,
        cash=pay(labs.cash, {"projects": paid}),
        projects_done=labs.projects_done | chosen,
        recovered_share=labs.recovered_share + np.where(chosen, adds, 0.0).sum(axis=2),
        log2_software=labs.log2_software + np.where(chosen, gain, 0.0).sum(axis=2),
    )
    return replace(state, labs=labs), paid


def best_offers(state: State, params: Params, year: np.ndarray, energy_price: np.ndarray) -> Offer:
    """Each lab's offer with the most FLOP/s per USD of ownership cost, over its allowed edges.

    docs/model.md 3.12: ownership cost = ``system price x price index x (1 +
    tariff) + facility per GPU + lifetime MWh x expected energy price``, the
    system price being the chip's list price times the server cost multiple;
    chips the supplier has on sale by the step's year (an extrapolated
    generation its roadmap lag after release); ties go to the first
    supplier, then the first chip of the roadmap.
    """
    hw, chips = params.hardware, params.chips
    index = state.chips.price_index[:, :, None, None]  # (B, Sc, 1, 1)
    released = chips.on_sale_from[:, :, None, :] <= year[:, None, None, None]
    on_sale = released & chips.allowed[..., None]  # (B, Sc, N, R)
    price = hw.system_price[:, None, None, :] * (index * (1.0 + chips.tariff[..., None]))
    cost = price + facilities.cost_per_gpu(hw)[:, None, None, :]
    cost = cost + hw.chip_lifetime_mwh[:, None, None, :] * energy_price[:, None, :, None]
    value = np.where(on_sale, chips.offer_flops / cost, 0.0)
    runs, n_suppliers, n_labs, n_chips = value.shape
    by_lab = value.transpose(0, 2, 1, 3).reshape(runs, n_labs, n_suppliers * n_chips)
    best = by_lab.argmax(axis=2)
    supplier, chip = best // n_chips, best % n_chips
    b, n = np.ogrid[:runs, :n_labs]
    return Offer(
        found=by_lab[b, n, best] > 0.0,
        supplier=supplier,
        chip=chip,
        flops=chips.offer_flops[b, supplier, n, chip],
        unit_price=hw.system_price[b, chip] * state.chips.price_index[b, supplier],
        ownership_cost=cost[b, supplier, n, chip],
    )


def split_budget(
    state: State, params: Params, offer: Offer
) -> tuple[np.ndarray, np.ndarray, State]:
    """GPU and R&D shares of the discretionary budget, by strategy (docs/model.md 3.7).

    Fixed-split strategies keep their shares. An adaptive lab moves its GPU
    share by ``adjustment`` toward the larger one-year marginal loss reduction
    per dollar (more GPUs now, or more R&D now), within ``[floor, spend - floor]``.
    """
    labs, strategy, hw, rnd = state.labs, params.labs, params.hardware, params.rnd
    mfu_seconds = (hw.mfu * SECONDS_PER_YEAR)[:, None]
    software = 2.0**labs.log2_software
    slope = params.law.kappa[:, None] * (loss(params, labs.compute) - params.law.E[:, None])
    slope = slope / labs.compute
    per_gpu_year = offer.flops * mfu_seconds * software / offer.ownership_cost
    capex_gain = np.where(offer.found, slope * per_gpu_year, 0.0)
    one_year = state.fleet.total_flops * mfu_seconds * software
    dgamma = knowledge.marginal_gamma(
        rnd, labs.rnd_rate, labs.last_research_flops, labs.log2_software
    )
    rnd_gain = slope * one_year * LN2 * dgamma / 2.0
    step = np.where(capex_gain > rnd_gain, 1.0, np.where(rnd_gain > capex_gain, -1.0, 0.0))
    moved = np.clip(
        labs.capex_share + step * strategy.adjustment,
        strategy.share_floor,
        strategy.spend_share - strategy.share_floor,
    )
    capex_share = np.where(strategy.adaptive, moved, strategy.capex_share)
    rnd_share = np.where(strategy.adaptive, strategy.spend_share - moved, strategy.rnd_share)
    return capex_share, rnd_share, replace(state, labs=replace(labs, capex_share=capex_share))


def fund_rnd(
    state: State, params: Params, budget: np.ndarray, frontier: np.ndarray, shocks: np.ndarray
) -> tuple[State, np.ndarray, np.ndarray]:
    """Pay R&D (the government matches it) and set this step's software gamma.

    docs/model.md 3.8-3.10: the knowledge stock's production
    (:func:`sim.economy.knowledge.produced_gamma`) from the effective spend
    rate ``x = (own + subsidy) / dt`` and last step's research FLOP/s, times
    ``exp(sigma z - sigma^2 / 2)``, plus ``spillover x max(0, F_lag - log2 S)``
    with ``F_lag`` the frontier (B, 1) of the spillover lag ago, this step's
    recorded first. A lab with an exogenous gamma spends nothing on R&D.
    Returns the state, R&D paid and subsidy paid (B, N).
    """
    labs, rnd, dt = state.labs, params.rnd, params.clock.dt[:, None]
    exogenous = params.labs.exogenous_gamma
    fixed = ~np.isnan(exogenous)
    own = np.where(fixed, 0.0, budget)
    subsidy = own * rnd.subsidy_rate[:, None]
    effective = (own + subsidy) / dt
    sigma = rnd.noise[:, None]
    bought = knowledge.produced_gamma(rnd, effective, labs.last_research_flops, labs.log2_software)
    bought = bought * np.exp(sigma * shocks - sigma**2 / 2.0)
    history = knowledge.record_frontier(state.frontier_history, frontier[:, 0])
    gap = np.maximum(knowledge.lagged_frontier(rnd, history) - labs.log2_software, 0.0)
    gamma = np.where(fixed, exogenous, bought + rnd.spillover[:, None] * gap)
    labs = replace(
        labs,
        cash=pay(labs.cash, {"rnd": own}),
        gamma_software=gamma,
        rnd_rate=np.where(fixed, labs.rnd_rate, effective),
    )
    return replace(state, labs=labs, frontier_history=history), own, subsidy


def _may_buy_gpus(state: State, params: Params) -> np.ndarray:
    """(B, N) no GPU purchases while more than ``idle tolerance`` of the fleet sat unpowered."""
    labs = state.labs
    powered = (1.0 - params.labs.idle_tolerance) * labs.last_fleet_units
    return (labs.last_fleet_units <= 0.0) | (state.step < 1) | (labs.last_running_units >= powered)


# --------------------------------------------------------------- 4. chip market


@dataclass(frozen=True)
class ChipTrades:
    """The chip market's step: orders, production, deliveries, bills and each supplier's totals."""

    ordered: np.ndarray  # (B, N) GPUs ordered (and paid for)
    orders: np.ndarray  # (B, N, Sc) GPUs ordered from each supplier
    received: np.ndarray  # (B, N) GPUs delivered (installed next step)
    chips: np.ndarray  # (B, N, Sc) USD paid to each supplier for the step's orders
    refunds: np.ndarray  # (B, N, Sc) USD refunded for queued orders an export control cancelled
    tariffs: np.ndarray  # (B, N) USD of tariff paid
    quoted_index: np.ndarray  # (B, Sc) price index the step's orders were billed at
    demand: np.ndarray  # (B, Sc) GPUs waiting to start: the queue with the step's orders
    supply: np.ndarray  # (B, Sc) GPUs the supplier could start in the step
    sold: np.ndarray  # (B, Sc) GPUs started (delivered ``lead_time`` later)
    delivered: np.ndarray  # (B, Sc) GPUs delivered
    lead_time: np.ndarray  # (B, Sc) yr from an order placed now to its delivery
    revenue: np.ndarray  # (B, Sc) USD of orders, tariffs excluded, less refunds


def chip_capacity(params: Params, t: np.ndarray) -> np.ndarray:
    """(B, Sc) GPUs producible in ``[t, t + dt]``: the growing rate integrated, less outages.

    docs/model.md 3.13: ``K integral (1 + g)^tau`` over the step, less the
    shock's share lost over the part of the step it covers.
    """
    c, dt = params.chips, params.clock.dt[:, None]
    start = t[:, None]

    def produced(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return c.capacity_per_year * np.exp(a * c.log_growth) * exponential_integral(
            b - a, c.log_growth
        )

    low = np.maximum(start, c.outage_start)
    high = np.minimum(start + dt, c.outage_end)
    lost = np.where(high > low, c.outage_lost * produced(low, np.maximum(high, low)), 0.0)
    return produced(start, start + dt) - lost


def chip_market(
    state: State, params: Params, t: np.ndarray, decision: Decision
) -> tuple[State, ChipTrades]:
    """Labs order and pay; suppliers queue, produce, deliver, reprice and invest.

    docs/model.md 3.12-3.13: ``units = budget / ownership cost``, paid at the
    quoted price when ordered (tariff on top, to the government). Queued
    orders on edges an export control has closed are refunded. Each supplier
    starts the queued GPUs its die and packaging capacity allow, pro rata (or
    by bid), delivers those started its lead time ago, moves its index by
    tatonnement on the queue (:func:`sim.economy.chip_supply.reprice`) and
    reinvests a share of its revenue in packaging.
    """
    c, offer, dt = params.chips, decision.offer, params.clock.dt[:, None]
    quoted = state.chips.price_index
    budget = np.where(offer.found, decision.capex_budget, 0.0)
    units = np.where(budget > 0.0, budget / offer.ownership_cost, 0.0)
    to_supplier = offer.supplier[:, None, :] == np.arange(c.capacity_per_year.shape[1])[:, None]
    orders = np.where(to_supplier, units[:, None, :], 0.0)  # (B, Sc, N)
    value = orders * offer.unit_price[:, None, :]
    tariffs = (value * c.tariff).sum(axis=1)
    n_chips = params.hardware.chip_year.shape[1]
    variant = c.first_variant[:, None] + n_chips * offer.supplier + offer.chip  # (B, N)
    market, refunds = chip_supply.cancel(state.chips, c.allowed)
    market = chip_supply.enqueue(market, orders, value, variant[:, None, :])
    capacity = chip_supply.production_capacity(c, chip_capacity(params, t), market.packaging, dt)
    outstanding = market.backlog.sum(axis=2)
    market, started = chip_supply.start_production(market, c, capacity)
    market, due, due_variant = chip_supply.deliver(market)
    revenue = value.sum(axis=2) - refunds.sum(axis=2)
    market = replace(
        market,
        price_index=chip_supply.reprice(market.price_index, c, outstanding, capacity, dt),
        packaging=chip_supply.invest_in_packaging(market.packaging, c, revenue),
    )
    delivered = Purchase(due.transpose(0, 2, 1), due_variant.transpose(0, 2, 1), t)
    paid, refunded = value.transpose(0, 2, 1), refunds.transpose(0, 2, 1)
    cash = pay(state.labs.cash, {"chips": paid, "chip_refunds": refunded, "tariffs": tariffs})
    state = replace(
        state,
        labs=replace(state.labs, cash=cash),
        fleet=replace(state.fleet, pending=delivered),
        chips=market,
    )
    trades = ChipTrades(
        ordered=units, orders=orders.transpose(0, 2, 1), received=due.sum(axis=1), chips=paid,
        refunds=refunded, tariffs=tariffs, quoted_index=quoted, demand=outstanding,
        supply=capacity, sold=started.sum(axis=2), delivered=due.sum(axis=2),
        lead_time=chip_supply.quoted_lead_time(c, market.backlog, capacity, dt), revenue=revenue,
    )  # fmt: skip
    return state, trades


# ------------------------------------------------------------- 5. energy market


@dataclass(frozen=True)
class EnergyTrades:
    """The energy market's step: deliveries, bills and each supplier's totals."""

    delivered_mw: np.ndarray  # (B, N, Se) average MW from each supplier
    energy: np.ndarray  # (B, N, Se) USD paid to each supplier
    carbon_tax: np.ndarray  # (B, N, Se) USD of carbon tax on each delivery
    price: np.ndarray  # (B, Se) USD/MWh, the region's clearing price, carbon tax included
    requested_mw: np.ndarray  # (B, Se) MW still wanted when the supplier's merit turn came
    sold_mw: np.ndarray  # (B, Se) delivered
    available_mw: np.ndarray  # (B, Se) capacity within the regional cap
    utilization: np.ndarray  # (B, Se) requested / available, capped at 1
    own_mw: np.ndarray  # (B, N) average MW from the lab's own generation
    own_power: np.ndarray  # (B, N) USD of running cost of that power
    own_carbon_tax: np.ndarray  # (B, N) USD of carbon tax on it

    @property
    def power_mw(self) -> np.ndarray:
        """(B, N) MW delivered to each lab, its own generation's included."""
        return self.delivered_mw.sum(axis=2) + self.own_mw


def regional_limit(state: State, params: Params) -> np.ndarray:
    """(B, Se) MW each supplier may deliver: its capacity, within its share of the region's cap.

    docs/model.md 3.14 and 4 (power caps): a region's cap is shared among its suppliers
    by capacity.
    """
    e, capacity = params.energy, state.energy.capacity_mw
    regional = np.einsum("bij,bj->bi", e.same_region.astype(float), capacity)
    share = e.region_cap_mw * capacity / regional
    share = np.where(np.isfinite(e.region_cap_mw), share, np.inf)
    return np.minimum(capacity, share)


def energy_market(
    state: State, params: Params, t: np.ndarray, decision: Decision
) -> tuple[State, EnergyTrades]:
    """Each region clears at one price: merit-order dispatch, the marginal supplier's offer.

    docs/model.md 3.14: offers are ``base price + carbon tax per MWh``; the
    region's suppliers serve its labs cheapest offer first within their limit;
    every MWh of the region is billed at the marginal supplier's scarcity
    price plus its tax; of each MWh's price the supplier's own tax goes to the
    government, the rest to the supplier. A lab's own generation serves it
    first, at its running cost plus carbon tax (docs/model.md 3.21). The
    market publishes the clearing price, the region's price ceiling, each
    supplier's trailing received price and each lab's own-generation price.
    """
    e, dt = params.energy, params.clock.dt[:, None]
    tax = power.tax_per_mwh(e, params.policy.carbon_tax)
    merit = power.merit_order(e, tax)
    limit = regional_limit(state, params)
    own = generation.serve(state.labs.own_mw, decision.power_requested_mw)
    delivered, wanted = power.dispatch(e, decision.power_requested_mw - own, limit, merit)
    price, utilization = power.clearing_price(e, tax, wanted, limit, merit)
    mwh = delivered * HOURS_PER_YEAR * dt[..., None]
    energy_paid = mwh * (price - tax)[:, None, :]
    carbon_tax = mwh * tax[:, None, :]
    own_mwh = own * HOURS_PER_YEAR * dt
    own_price = generation.own_price(params.labs, params.policy.carbon_tax)
    own_power = own_mwh * params.labs.own_running_cost
    own_tax = own_mwh * (own_price - params.labs.own_running_cost)
    cash = pay(state.labs.cash, {
        "energy": energy_paid, "carbon_tax": carbon_tax, "own_power": own_power,
        "own_carbon_tax": own_tax,
    })  # fmt: skip
    trades = EnergyTrades(
        delivered_mw=delivered, energy=energy_paid, carbon_tax=carbon_tax, price=price,
        requested_mw=wanted, sold_mw=delivered.sum(axis=1), available_mw=limit,
        utilization=utilization, own_mw=own, own_power=own_power, own_carbon_tax=own_tax,
    )  # fmt: skip
    published = replace(
        state.energy,
        price=price,
        price_ceiling=power.price_ceiling(e, tax),
        expected_price=power.trailing_mean(state.energy.expected_price, price - tax, dt),
        own_price=own_price,
    )
    return replace(state, labs=replace(state.labs, cash=cash), energy=published), trades


# --------------------------------------------------------------------- 6. train


@dataclass(frozen=True)
class Training:
    """GPUs the delivered power ran, their FLOP/s by use, the runs' step and compliance paid."""

    running_units: np.ndarray  # (B, N) GPUs
    running_flops: np.ndarray  # (B, N) FLOP/s, peak, of the powered fleet
    training_flops: np.ndarray  # (B, N) FLOP/s of it on frontier training
    research_flops: np.ndarray  # (B, N) FLOP/s on research experiments
    inference_flops: np.ndarray  # (B, N) FLOP/s serving inference
    runs: training_runs.RunStep
    compliance: np.ndarray  # (B, N) USD


def train(
    state: State, params: Params, t: np.ndarray, energy: EnergyTrades
) -> tuple[State, Training]:
    """Labs split the GPUs their power runs between uses and train their runs; crossing costs.

    docs/model.md 1.5, 3.2, 3.3, 3.17 and 3.22: the powered FLOP/s split by the
    strategy's compute-use shares; the training share trains the lab's run
    (:func:`sim.economy.training_runs.advance`), integrating ``2^(gamma t)``
    exactly, up to the compute cap when the threshold caps training; ``log2
    S`` grows by ``gamma dt``. The first time a lab's run reaches the
    threshold it pays the compliance cost (at most its cash).
    """
    labs, hw, policy, dt = state.labs, params.hardware, params.policy, params.clock.dt[:, None]
    power_mw = energy.power_mw
    units, flops = dispatch(state.fleet, hw, power_mw * 1e6 / hw.watts_factor[:, None])
    uses = params.labs
    training_flops = flops * uses.training_share
    research_flops = flops * uses.research_share
    inference_flops = flops * uses.inference_share
    threshold = policy.threshold_flop[:, None]
    ceiling = np.where(policy.threshold_cap[:, None], threshold, np.inf)
    labs, runs = training_runs.advance(
        labs, params, state.fleet, t, training_flops, units * uses.training_share, ceiling
    )
    crossing = np.isfinite(threshold) & ~labs.crossed_threshold & (labs.run_compute >= threshold)
    compliance = np.where(crossing, up_to_cash(policy.compliance_cost[:, None], labs.cash), 0.0)
    labs = replace(
        labs,
        cash=pay(labs.cash, {"compliance": compliance}),
        log2_software=labs.log2_software + labs.gamma_software * dt,
        crossed_threshold=labs.crossed_threshold | crossing,
        last_running_units=units,
        last_fleet_units=state.fleet.total_units,
        last_power_mw=power_mw,
        last_energy_bill=(energy.energy + energy.carbon_tax).sum(axis=2) + energy.own_power
        + energy.own_carbon_tax,
        last_research_flops=research_flops,
    )
    used = Training(
        units, flops, training_flops, research_flops, inference_flops, runs, compliance
    )
    return replace(state, labs=labs), used


# ------------------------------------------------------------------- 7. revenue


@dataclass(frozen=True)
class Revenue:
    """The AI-services market of the step: size (B,) USD, losses, shares, revenue (B, N)."""

    market_size: np.ndarray
    losses: np.ndarray
    shares: np.ndarray
    revenue: np.ndarray


def earn_revenue(state: State, params: Params, t: np.ndarray) -> tuple[State, Revenue]:
    """Share out the step's AI-services market by a logit of the labs' losses.

    docs/model.md 3.16: market ``M0 integral (1 + g)^tau`` over the step;
    shares ``exp(-L_i / T) / sum_j exp(-L_j / T)``; a lab keeps the training
    share of its sales for its budget.
    """
    m = params.market
    size = m.initial_size * growth_integral(m.log_growth, t, params.clock.dt)
    losses = loss(params, state.labs.compute)
    shares = clearing.logit_shares(losses, m.temperature)
    revenue = shares * (size * m.training_share)[:, None]
    cash = pay(state.labs.cash, {"revenue": revenue})
    earned = Revenue(size, losses, shares, revenue)
    return replace(state, labs=replace(state.labs, cash=cash, market_share=shares)), earned


# -------------------------------------------------------------------- 8. settle


def settle(
    state: State, params: Params, payments: dict[str, np.ndarray]
) -> tuple[State, np.ndarray]:
    """Update each lab's trailing spending and return the cash above its buffer.

    docs/model.md 3.23: the step's spending is what the lab paid out through
    every channel but funding and revenue (refunds net); the trailing rate is
    its exponential average over about a year, and the buffer that rate times
    ``cash_buffer_years``. The step's revenue is kept for the next step to
    spend; the rest above the buffer is returned. Returns the state and the
    payouts (B, N) USD.
    """
    labs, dt = state.labs, params.clock.dt[:, None]
    spent = lab_spending(payments)
    rate = finance.trailing_rate(labs.spending_rate, spent, dt)
    target = finance.target_cash(params.labs.cash_buffer_years, rate)
    returned = finance.payout(labs.cash, target, payments["revenue"])
    cash = pay(labs.cash, {"payouts": returned})
    return replace(state, labs=replace(labs, cash=cash, spending_rate=rate)), returned


# ---------------------------------------------------------------------- step


@dataclass(frozen=True)
class StepResult:
    """Everything one step produced, phase by phase."""

    built: Built
    funding: Funding
    decision: Decision
    chips: ChipTrades
    energy: EnergyTrades
    training: Training
    revenue: Revenue
    payouts: np.ndarray  # (B, N) USD returned to investors

    def payments(self) -> dict[str, np.ndarray]:
        """The step's payments by channel (:data:`sim.economy.payments.CHANNELS`)."""
        trading = trading_payments(
            self.built, self.funding, self.decision, self.chips, self.energy, self.training,
            self.revenue,
        )  # fmt: skip
        return {**trading, "payouts": self.payouts}


def trading_payments(
    built: Built,
    funded: Funding,
    decision: Decision,
    chips: ChipTrades,
    energy: EnergyTrades,
    training: Training,
    revenue: Revenue,
) -> dict[str, np.ndarray]:
    """The payments of phases 1-7 by channel: everything but the payouts of :func:`settle`."""
    return {
        "facilities": built.facilities,
        "generation": built.generation,
        "funding": funded.funding,
        "rnd": decision.rnd,
        "rd_subsidy": decision.rd_subsidy,
        "projects": decision.projects,
        "chips": chips.chips,
        "chip_refunds": chips.refunds,
        "tariffs": chips.tariffs,
        "energy": energy.energy,
        "carbon_tax": energy.carbon_tax,
        "own_power": energy.own_power,
        "own_carbon_tax": energy.own_carbon_tax,
        "compliance": training.compliance,
        "revenue": revenue.revenue,
    }


def step(state: State, params: Params, shocks: np.ndarray) -> tuple[State, StepResult]:
    """Advance every run of the batch by one step of ``dt`` years.

    Args:
        state: the state after ``state.step`` steps.
        params: the batch's parameters.
        shocks: this step's standard normal R&D shocks (B, N).
    """
    t = state.step * params.clock.dt
    with np.errstate(all="ignore"):  # divisions by zero are masked by np.where (module doc)
        state, built = infrastructure(state, params, t)
        state, funded = funding(state, params, t)
        state, decision = decide(state, params, t, funded, shocks)
        state, chips = chip_market(state, params, t, decision)
        state, energy = energy_market(state, params, t, decision)
        state, training = train(state, params, t, energy)
        state, revenue = earn_revenue(state, params, t)
        trading = trading_payments(built, funded, decision, chips, energy, training, revenue)
        state, payouts = settle(state, params, trading)
    result = StepResult(built, funded, decision, chips, energy, training, revenue, payouts)
    return replace(state, step=state.step + 1), result
