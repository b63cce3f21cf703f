"""Build a batch's parameters, initial state and random shocks from validated scenarios.

Each run is resolved on its own (roadmap, supply network with the policy
applied, strategies as parameter sets) and the runs are stacked on a leading
axis. Runs of one batch must share :func:`structure`; chip roadmaps, project
catalogues and fleets of different lengths are padded with entries that can
never be chosen (a chip released at year inf, a project that saves nothing, a
cohort of zero GPUs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import networkx as nx
import numpy as np

from sim.config.chips import ChipModel, extrapolate_roadmap
from sim.config.scenario import Scenario
from sim.economy import clearing, facilities, generation, phases, power
from sim.economy import network as net
from sim.economy import params as p
from sim.economy.fleet import starting_fleet
from sim.economy.state import ChipMarketState, EnergyState, LabState, State
from sim.economy.strategies import make_strategy
from sim.law import SECONDS_PER_YEAR, parameter_set

HOURS_PER_YEAR = 8766.0
"""Hours in a Julian year (365.25 d x 24 h): MW over a year in MWh."""

_LEAD_SLACK = 1e-9
"""Relative: a lead time of a whole number of steps despite rounding is that number."""


def structure(scenario: Scenario) -> tuple[int, int, int, int]:
    """What runs stepped together must share: labs, chip and energy suppliers, steps."""
    return (
        len(scenario.labs),
        len(scenario.chip_suppliers),
        len(scenario.energy_suppliers),
        scenario.n_steps,
    )


def roadmap(scenario: Scenario) -> tuple[ChipModel, ...]:
    """The calibrated chips followed by the extrapolated generations up to the horizon."""
    hw = scenario.hardware
    return extrapolate_roadmap(
        [ChipModel(c.name, c.year, c.flops, c.watts, c.price) for c in hw.chips],
        until_year=scenario.start_year + scenario.years,
        cadence_years=hw.cadence_years,
        flops_per_watt_growth=hw.flops_per_watt_growth,
        flops_per_dollar_growth=hw.flops_per_dollar_growth,
        watts_growth=hw.watts_growth,
    )


def node_ids(scenario: Scenario) -> tuple[list[int], list[int], list[int]]:
    """Network node ids of the labs, chip suppliers and energy suppliers (0, 1, 2, ...)."""
    n_labs, n_chips = len(scenario.labs), len(scenario.chip_suppliers)
    labs = list(range(n_labs))
    chips = list(range(n_labs, n_labs + n_chips))
    energy = list(range(n_labs + n_chips, n_labs + n_chips + len(scenario.energy_suppliers)))
    return labs, chips, energy


def supply_network(scenario: Scenario, ids=None) -> nx.DiGraph:
    """The supply network with the scenario's export controls and tariffs on its edges.

    Args:
        scenario: the validated scenario.
        ids: node ids ``(labs, chip suppliers, energy suppliers)``; default :func:`node_ids`.
    """
    labs, chips, energy = ids or node_ids(scenario)
    graph = net.build_supply_network(
        [(i, lab.name, lab.region) for i, lab in zip(labs, scenario.labs, strict=True)],
        [(i, s.name, s.region) for i, s in zip(chips, scenario.chip_suppliers, strict=True)],
        [(i, s.name, s.region) for i, s in zip(energy, scenario.energy_suppliers, strict=True)],
    )
    policy = scenario.policy
    controls = policy.export_controls
    if controls.restricted_regions:
        net.apply_export_controls(
            graph, controls.restricted_regions, controls.max_tpp, controls.exporter_regions
        )
    if policy.tariffs:
        net.apply_tariffs(graph, policy.tariffs)
    return graph


# ------------------------------------------------------------------- one run


def _clock(s: Scenario) -> p.Clock:
    return p.Clock(dt=np.float64(s.dt), start_year=np.float64(s.start_year))


def _law(s: Scenario) -> p.Law:
    law = parameter_set(s.law.params)
    kappa = s.law.kappa or law.kappa
    return p.Law(E=np.float64(law.E), K=np.float64(law.K), kappa=np.float64(kappa))


def _pad(values: list[float], size: int, fill: float) -> np.ndarray:
    return np.array(values + [fill] * (size - len(values)), dtype=float)


def _variants(offer_flops: np.ndarray, flops: np.ndarray, watts: np.ndarray):
    """(N, V) FLOP/s and watts of every variant, and the dispatch order (most FLOP/W first).

    Variants ``0..R-1`` are the roadmap chips as held at the start; variant
    ``R (1 + s) + r`` is chip ``r`` as supplier ``s`` sells it on the lab's edge.
    """
    n_suppliers, n_labs, n_chips = offer_flops.shape
    bought = offer_flops.transpose(1, 0, 2).reshape(n_labs, n_suppliers * n_chips)
    v_flops = np.concatenate([np.broadcast_to(flops, (n_labs, n_chips)), bought], axis=1)
    v_watts = np.tile(watts, (n_labs, n_suppliers + 1))
    order = np.argsort(-(v_flops / v_watts), axis=1, kind="stable")
    return v_flops, v_watts, order


def _hardware(
    s: Scenario, chips: tuple[ChipModel, ...], size: int, offer_flops: np.ndarray
) -> p.Hardware:
    hw = s.hardware
    watts_factor = hw.pue * hw.server_overhead
    mwh_per_watt = watts_factor / 1e6 * HOURS_PER_YEAR * hw.lifetime_years
    lifetime_mwh = [c.watts * mwh_per_watt for c in chips]
    flops = _pad([c.flops for c in chips], size, 0.0)
    watts = _pad([c.watts for c in chips], size, 1.0)
    v_flops, v_watts, order = _variants(offer_flops, flops, watts)
    return p.Hardware(
        mfu=np.float64(hw.mfu),
        watts_factor=np.float64(watts_factor),
        lifetime=np.float64(hw.lifetime_years),
        chip_year=_pad([c.year for c in chips], size, math.inf),
        chip_flops=flops,
        chip_watts=watts,
        chip_price=_pad([c.price for c in chips], size, 1.0),
        system_price=_pad([c.price * hw.server_cost_multiple for c in chips], size, 1.0),
        chip_lifetime_mwh=_pad(lifetime_mwh, size, 0.0),
        facility_cost_per_mw=np.float64(hw.facility_capex_per_mw),
        variant_flops=v_flops,
        variant_watts=v_watts,
        dispatch_order=order,
        dispatch_flops=np.take_along_axis(v_flops, order, axis=1),
        dispatch_watts=np.take_along_axis(v_watts, order, axis=1),
    )


def _sells(s: Scenario, spec, chips: tuple[ChipModel, ...], size: int) -> np.ndarray:
    calibrated = {c.name for c in s.hardware.chips}
    wanted = set(spec.chips) if spec.chips is not None else None
    sold = [
        (c.name in calibrated and (wanted is None or c.name in wanted))
        or (c.name not in calibrated and spec.extrapolate)
        for c in chips
    ]
    return np.array(sold + [False] * (size - len(chips)))


def _on_sale_from(s: Scenario, spec, chips: tuple[ChipModel, ...], size: int) -> np.ndarray:
    """(R,) year the supplier first sells each chip: its release, + the lag if extrapolated."""
    calibrated = {c.name for c in s.hardware.chips}
    sold = _sells(s, spec, chips, size)
    year = [c.year + (0.0 if c.name in calibrated else spec.roadmap_lag_years) for c in chips]
    return np.where(sold, _pad(year, size, math.inf), math.inf)


def _outage(s: Scenario, name: str) -> tuple[float, float, float]:
    """(start, end, share lost) of the supply shock on supplier ``name``, on the model clock."""
    shock = s.policy.supply_shock
    start = shock.start_year - s.start_year
    end = start + shock.duration_years
    if shock.supplier != name or end <= max(start, 0.0):
        return 0.0, 0.0, 0.0
    return max(start, 0.0), end, shock.fraction_lost


def _chip_suppliers(
    s: Scenario, graph: nx.DiGraph, chips: tuple[ChipModel, ...], size: int, block: int = 0
) -> p.ChipSuppliers:
    """The chip suppliers and their edges; ``block``: the run's offer table this epoch sells."""
    labs, suppliers, _ = node_ids(s)
    specs = s.chip_suppliers
    edges = [[graph[i][lab] for lab in labs] for i in suppliers]
    allowed = np.array([[e["allowed"] for e in row] for row in edges])
    max_tpp = np.array([[e["max_tpp"] for e in row] for row in edges], dtype=float)
    offer_flops = np.zeros((len(specs), len(labs), size))
    for i, row in enumerate(edges):
        for j, edge in enumerate(row):
            if edge["allowed"]:
                offer_flops[i, j, : len(chips)] = [c.derated(edge["max_tpp"]).flops for c in chips]
    outages = np.array([_outage(s, spec.name) for spec in specs], dtype=float).reshape(-1, 3)
    return p.ChipSuppliers(
        sells=np.array([_sells(s, spec, chips, size) for spec in specs]),
        on_sale_from=np.array([_on_sale_from(s, spec, chips, size) for spec in specs]),
        capacity_per_year=np.array([spec.capacity_per_year for spec in specs]),
        log_growth=np.log1p([spec.capacity_growth for spec in specs]),
        price_response=np.array([spec.price_response for spec in specs]),
        normal_backlog_years=np.array([spec.normal_backlog_years for spec in specs]),
        lead_time=np.array([spec.lead_time_years for spec in specs]),
        lead_steps=np.array([_production_steps(spec.lead_time_years, s.dt) for spec in specs]),
        packaging_wafers_per_month=np.array(
            [spec.packaging_wafers_per_month or math.inf for spec in specs]
        ),
        gpus_per_wafer=np.array([spec.gpus_per_wafer for spec in specs]),
        packaging_capex_per_wafer_month=np.array(
            [spec.packaging_capex_per_wafer_month for spec in specs]
        ),
        packaging_reinvestment=np.array([spec.packaging_reinvestment for spec in specs]),
        price_floor=np.array([spec.price_floor for spec in specs]),
        price_ceiling=np.array([spec.price_ceiling for spec in specs]),
        by_bid=np.array([spec.allocation == "by_bid" for spec in specs]),
        outage_start=outages[:, 0],
        outage_end=outages[:, 1],
        outage_lost=outages[:, 2],
        allowed=allowed,
        tariff=np.array([[e["tariff"] for e in row] for row in edges], dtype=float),
        offer_flops=offer_flops,
        max_tpp=max_tpp,
        first_variant=np.int64(size * (1 + block * len(specs))),
    )


def _lead_steps(lead_years: float, dt: float) -> int:
    """A lead time in whole steps, rounded up (within 1e-9 of a whole number: that number)."""
    return max(0, math.ceil(lead_years / dt - _LEAD_SLACK * max(1.0, lead_years / dt)))


def _production_steps(lead_years: float, dt: float) -> int:
    """Steps a GPU spends in production: a delivery is installed the step after, so one less.

    A GPU ordered at ``t`` is installed the lead time later, rounded up to whole
    steps and at least one step (the market's step itself).
    """
    return max(0, _lead_steps(lead_years, dt) - 1)


def _energy_suppliers(s: Scenario, graph: nx.DiGraph) -> p.EnergySuppliers:
    labs, _, suppliers = node_ids(s)
    specs = s.energy_suppliers
    policy = s.policy
    regions = [spec.region for spec in specs]
    return p.EnergySuppliers(
        capacity_mw=np.array([spec.capacity_mw for spec in specs], dtype=float),
        base_price=np.array([spec.base_price for spec in specs], dtype=float),
        build_mw_per_year=np.array(
            [spec.build_rate_mw_per_year * policy.grid_buildout_multiplier for spec in specs]
        ),
        build_response=np.array([spec.build_price_response for spec in specs], dtype=float),
        build_max_multiple=np.array([spec.build_max_multiple for spec in specs], dtype=float),
        lead_time=np.array([spec.lead_time_years for spec in specs], dtype=float),
        lead_steps=np.array([_lead_steps(spec.lead_time_years, s.dt) for spec in specs]),
        carbon_intensity=np.array([spec.carbon_intensity for spec in specs], dtype=float),
        knee=np.array([spec.scarcity_knee for spec in specs], dtype=float),
        slope=np.array([spec.scarcity_slope for spec in specs], dtype=float),
        serves=np.array(
            [[graph.has_edge(i, lab) and graph[i][lab]["allowed"] for lab in labs]
             for i in suppliers]
        ),  # fmt: skip
        same_region=np.array([[a == b for b in regions] for a in regions]),
        region_cap_mw=np.array([policy.power_caps.get(r, math.inf) for r in regions], dtype=float),
    )


def _strategy_parameters(name: str) -> tuple[float, ...]:
    """(capex, R&D, project shares, adaptive, adjustment, floor, spend, compute-use shares)."""
    s = make_strategy(name)
    return (
        s.capex_share, s.rnd_share, s.project_share, s.adaptive, s.adjustment, s.floor,
        s.spend_share, s.training_share, s.research_share, s.inference_share,
    )  # fmt: skip


def _fleet_items(s: Scenario, chips: tuple[ChipModel, ...], slots: int) -> np.ndarray:
    """(3, N, slots): units, chip (its variant index) and purchase time of the starting items."""
    index = {c.name: i for i, c in enumerate(chips)}
    items = np.zeros((3, len(s.labs), slots))
    for i, lab in enumerate(s.labs):
        cohorts = sorted(
            ((f.units, index[f.chip], -f.age_years) for f in lab.fleet if f.units > 0),
            key=lambda cohort: cohort[2],
        )
        for k, cohort in enumerate(cohorts):
            items[:, i, k] = cohort
    return items


def _labs(s: Scenario, items: np.ndarray) -> p.Labs:
    specs = s.labs
    strategies = np.array([_strategy_parameters(lab.strategy) for lab in specs], dtype=float)
    flops = np.array([c.flops for c in roadmap(s)])[items[1].astype(int)]
    one_year = (items[0] * flops).sum(axis=1) * s.hardware.mfu * SECONDS_PER_YEAR
    pairs = zip(specs, one_year * strategies[:, 7], strict=True)
    initial = np.array([lab.initial_compute or year for lab, year in pairs])
    runs = [lab.training for lab in specs]
    return p.Labs(
        cash=np.array([lab.cash for lab in specs], dtype=float),
        funding_per_year=np.array(
            [lab.funding_per_year * s.policy.capital_availability for lab in specs]
        ),
        log_funding_growth=np.log1p([lab.funding_growth for lab in specs]),
        spend_rate=np.array([lab.spend_rate for lab in specs], dtype=float),
        cash_buffer_years=np.array(
            [math.inf if lab.cash_buffer_years is None else lab.cash_buffer_years for lab in specs]
        ),
        investor_elasticity=np.array([lab.investor_elasticity for lab in specs], dtype=float),
        idle_tolerance=np.array([lab.idle_tolerance for lab in specs], dtype=float),
        exogenous_gamma=np.array(
            [math.nan if lab.software_gamma is None else lab.software_gamma for lab in specs]
        ),
        buys_projects=np.array([lab.buys_projects for lab in specs]),
        capex_share=strategies[:, 0],
        rnd_share=strategies[:, 1],
        project_share=strategies[:, 2],
        adaptive=strategies[:, 3].astype(bool),
        adjustment=strategies[:, 4],
        share_floor=strategies[:, 5],
        spend_share=strategies[:, 6],
        training_share=strategies[:, 7],
        research_share=strategies[:, 8],
        inference_share=strategies[:, 9],
        initial_compute=initial,
        usable_share=np.array([r.usable_share for r in runs], dtype=float),
        run_years=np.array([math.nan if r.run_years is None else r.run_years for r in runs]),
        expected_hardware_gamma=np.array([r.expected_hardware_gamma for r in runs], dtype=float),
        deadline=np.array([math.inf if r.deadline_years is None else r.deadline_years
                           for r in runs]),  # fmt: skip
        warm_start=np.array([r.warm_start for r in runs], dtype=bool),
        deploy_checkpoints=np.array([r.deploy_checkpoints for r in runs], dtype=bool),
        **_own_generation(s),
    )


def _own_generation(s: Scenario) -> dict[str, np.ndarray]:
    """The ``Labs`` fields of own generation: the scenario's terms, the same for every lab."""
    own, n_labs = s.own_generation, len(s.labs)

    def each(value: float) -> np.ndarray:
        return np.full(n_labs, value)

    return {
        "own_max_share": each(own.max_share),
        "own_capex_per_mw": each(own.capex_per_mw),
        "own_running_cost": each(own.running_cost),
        "own_carbon_intensity": each(own.carbon_intensity),
        "own_lead_steps": np.full(n_labs, _lead_steps(own.lead_time_years, s.dt)),
        "own_payback_years": each(own.payback_years),
    }


def _rnd(s: Scenario, size: int) -> p.RnD:
    rnd, projects = s.rnd, s.projects
    catalogue = projects.catalogue
    return p.RnD(
        productivity=np.float64(rnd.productivity),
        reference_spend=np.float64(rnd.reference_spend),
        reference_research_flops=np.float64(rnd.reference_research_flops),
        dollar_share=np.float64(rnd.dollar_share),
        returns=np.float64(rnd.returns),
        ideas_harder=np.float64(rnd.ideas_harder),
        initial_stock=np.float64(rnd.historical_gamma * (s.start_year - rnd.origin_year)),
        spillover_lag_steps=np.int64(_lead_steps(rnd.spillover_lag_years, s.dt)),
        base_gamma=np.float64(rnd.base_gamma),
        noise=np.float64(rnd.noise),
        subsidy_rate=np.float64(s.policy.rd_subsidy_rate),
        spillover=np.float64(s.policy.spillover_strength),
        waste_fraction=np.float64(projects.waste_fraction),
        recoverable=np.float64(projects.recoverable),
        project_waste_share=_pad([c.waste_share for c in catalogue], size, 0.0),
        project_cost_per_gpu=_pad([c.cost_per_gpu for c in catalogue], size, 0.0),
    )


def _policy(s: Scenario) -> p.Policy:
    threshold = s.policy.compute_threshold
    return p.Policy(
        carbon_tax=np.float64(s.policy.carbon_tax),
        threshold_flop=np.float64(math.inf if threshold.flop is None else threshold.flop),
        threshold_cap=np.bool_(threshold.cap),
        compliance_cost=np.float64(threshold.compliance_cost),
    )


def _market(s: Scenario) -> p.Market:
    m = s.market
    return p.Market(
        initial_size=np.float64(m.initial_size),
        log_growth=np.float64(math.log1p(m.growth)),
        temperature=np.float64(m.temperature),
        training_share=np.float64(m.training_share),
    )


# --------------------------------------------------------------------- batch


def build(
    scenarios: Sequence[Scenario], seeds: Sequence[int]
) -> tuple[p.Params, State, np.ndarray]:
    """Parameters, initial state and R&D shocks ``(B, T, N)`` of a batch of runs.

    Raises:
        ValueError: if the scenarios do not share one :func:`structure`.
    """
    shapes = {structure(s) for s in scenarios}
    if len(shapes) != 1:
        raise ValueError(f"runs of one batch must share labs, suppliers and steps, got {shapes}")
    roadmaps = [roadmap(s) for s in scenarios]
    chips = max(len(r) for r in roadmaps)
    projects = max(len(s.projects.catalogue) for s in scenarios)
    slots = max(1, max(max((len(lab.fleet) for lab in s.labs), default=0) for s in scenarios))
    items = [_fleet_items(s, r, slots) for s, r in zip(scenarios, roadmaps, strict=True)]
    starts = [0, *epoch_steps(scenarios)]
    epochs = [[in_force_at_step(s, k) for s in scenarios] for k in starts]
    graphs = [[supply_network(s) for s in epoch] for epoch in epochs]
    tables, blocks = _offer_blocks(epochs, graphs, roadmaps, chips)
    groups = [
        _scheduled_groups(epoch, graph, roadmaps, items, (chips, projects), block)
        for epoch, graph, block in zip(epochs, graphs, blocks, strict=True)
    ]
    base = dict(
        n_steps=scenarios[0].n_steps,
        clock=p.stack([_clock(s) for s in scenarios]),
        law=p.stack([_law(s) for s in scenarios]),
        hardware=p.stack([
            _hardware(s, r, chips, offers)
            for s, r, offers in zip(scenarios, roadmaps, tables, strict=True)
        ]),  # fmt: skip
        market=p.stack([_market(s) for s in scenarios]),
    )
    changes = tuple(
        (k, p.Params(**base, **group)) for k, group in zip(starts[1:], groups[1:], strict=True)
    )
    params = p.Params(**base, **groups[0], changes=changes)
    fleet = np.stack(items, axis=1)  # (3, B, N, K)
    return params, initial_state(params, fleet, projects), shocks(scenarios, seeds)


def epoch_steps(scenarios: Sequence[Scenario]) -> list[int]:
    """Steps after the first at which some run's policy changes: the batch's epochs.

    A change dated ``Y`` takes effect from the first step starting at or after ``Y``.
    """
    firsts = set()
    for s in scenarios:
        for year in s.change_years():
            steps = (year - s.start_year) / s.dt
            k = math.ceil(steps - _LEAD_SLACK * max(1.0, steps))
            if 0 < k < s.n_steps:
                firsts.add(k)
    return sorted(firsts)


def in_force_at_step(s: Scenario, k: int) -> Scenario:
    """The scenario with the policy in force during its step ``k``."""
    if not s.policy_schedule:
        return s
    year = s.start_year + (k + _EPOCH_SLACK) * s.dt
    return s.model_copy(update={"policy": s.policy_at(year)})


_EPOCH_SLACK = 1e-6
"""In steps: a change dated at a step's start is in force in that step despite rounding."""


def _offer_blocks(
    epochs: list[list[Scenario]], graphs: list[list[nx.DiGraph]], roadmaps, chips: int
) -> tuple[list[np.ndarray], list[list[int]]]:
    """Each run's distinct offer tables over the epochs, and the table each epoch uses.

    A GPU keeps the FLOP/s it was sold with: an epoch that sells other
    (derated) chips on some edge adds a block of chip variants. Returns, per
    run, the tables stacked on the supplier axis (padded with never-held
    blocks to the batch's most), and per epoch and run the block index.
    """
    runs = len(epochs[0])
    tables: list[list[np.ndarray]] = [[] for _ in range(runs)]
    blocks = []
    for epoch, graph in zip(epochs, graphs, strict=True):
        chosen = []
        for b, (s, g) in enumerate(zip(epoch, graph, strict=True)):
            offers = _chip_suppliers(s, g, roadmaps[b], chips).offer_flops
            same = [i for i, t in enumerate(tables[b]) if np.array_equal(t, offers)]
            if not same:
                tables[b].append(offers)
            chosen.append(same[0] if same else len(tables[b]) - 1)
        blocks.append(chosen)
    most = max(len(t) for t in tables)
    padded = [np.concatenate(t + [np.zeros_like(t[0])] * (most - len(t))) for t in tables]
    return padded, blocks


def _scheduled_groups(
    epoch: list[Scenario], graphs: list[nx.DiGraph], roadmaps, items, sizes, blocks
) -> dict:
    """The parameter groups a policy schedule can change (:data:`p.SCHEDULED`), one epoch."""
    chips, projects = sizes
    runs = list(zip(epoch, graphs, roadmaps, items, blocks, strict=True))
    return {
        "chips": p.stack([_chip_suppliers(s, g, r, chips, k) for s, g, r, _, k in runs]),
        "energy": p.stack([_energy_suppliers(s, g) for s, g, *_ in runs]),
        "labs": p.stack([_labs(s, i) for s, _, _, i, _ in runs]),
        "rnd": p.stack([_rnd(s, projects) for s, *_ in runs]),
        "policy": p.stack([_policy(s) for s, *_ in runs]),
    }


def initial_state(params: p.Params, fleet: np.ndarray, projects: int) -> State:
    """The state at t = 0: starting cash, fleets, compute and facilities; no trade yet.

    Each lab's facility holds its starting fleet; the energy market's opening
    prices are its quotes at no demand (:func:`sim.economy.power.opening_prices`).
    """
    labs, energy = params.labs, params.energy
    zeros = np.zeros_like(labs.cash)
    held = starting_fleet(params.hardware, fleet[0], fleet[1].astype(np.int64), fleet[2])
    price, ceiling = power.opening_prices(energy, params.policy.carbon_tax)
    slots = min(int(energy.lead_steps.max(initial=0)), params.n_steps) + 1  # later: never online
    own_slots = min(int(labs.own_lead_steps.max(initial=0)), params.n_steps) + 1
    losses = phases.loss(params, labs.initial_compute)
    shares = clearing.logit_shares(losses, params.market.temperature)
    return State(
        step=0,
        labs=LabState(
            cash=labs.cash.copy(),
            compute=labs.initial_compute.copy(),
            log2_software=zeros,
            gamma_software=np.nan_to_num(labs.exogenous_gamma, nan=0.0),
            rnd_rate=zeros,
            recovered_share=zeros,
            projects_done=np.zeros((*zeros.shape, projects), dtype=bool),
            capex_share=labs.capex_share.copy(),
            crossed_threshold=np.zeros(zeros.shape, dtype=bool),
            last_running_units=zeros,
            last_fleet_units=zeros,
            last_power_mw=zeros,
            last_energy_bill=zeros,
            last_research_flops=held.total_flops * labs.research_share,
            facility_mw=facilities.needed_mw(held, params.hardware),
            own_mw=zeros,
            own_pipeline=np.zeros((*zeros.shape, own_slots)),
            run_active=np.zeros(zeros.shape, dtype=bool),
            run_start=zeros,
            run_end=zeros,
            run_compute=zeros,
            run_flop=zeros,
            run_flops=zeros,
            run_log2_software=zeros,
            run_units=zeros,
            run_chip=np.zeros(zeros.shape, dtype=np.int64),
            runs_started=np.zeros(zeros.shape, dtype=np.int64),
            spending_rate=labs.funding_per_year + labs.spend_rate * labs.cash,
            market_share=shares,
            opening_share=shares.copy(),
        ),
        fleet=held,
        chips=_chip_market(params, labs.cash.shape[1]),
        energy=EnergyState(
            capacity_mw=energy.capacity_mw.copy(),
            pipeline=np.zeros((*energy.capacity_mw.shape, slots)),
            price=price,
            price_ceiling=ceiling,
            expected_price=energy.base_price.copy(),
            own_price=generation.own_price(labs, params.policy.carbon_tax),
        ),
        frontier_history=np.zeros((len(labs.cash), _history_slots(params))),
    )


def _chip_market(params: p.Params, n_labs: int) -> ChipMarketState:
    """Prices at list, packaging at its starting capacity, queues and pipelines empty."""
    chips = params.chips
    epochs = [params, *(later for _, later in params.changes)]
    slots = max(int(e.chips.lead_steps.max(initial=0)) for e in epochs) + 1
    queue = (*chips.capacity_per_year.shape, n_labs)
    return ChipMarketState(
        price_index=np.ones(chips.capacity_per_year.shape),
        packaging=chips.packaging_wafers_per_month.copy(),
        backlog=np.zeros(queue),
        backlog_value=np.zeros(queue),
        backlog_variant=np.zeros(queue, dtype=np.int64),
        in_production=np.zeros((*queue, slots)),
        in_production_variant=np.zeros((*queue, slots), dtype=np.int64),
    )


def _history_slots(params: p.Params) -> int:
    """Slots of the frontier history: the longest spillover lag of any epoch, within the horizon."""
    epochs = [params, *(later for _, later in params.changes)]
    lag = max(int(e.rnd.spillover_lag_steps.max(initial=0)) for e in epochs)
    return min(lag, params.n_steps) + 1


def shocks(scenarios: Sequence[Scenario], seeds: Sequence[int]) -> np.ndarray:
    """Standard normal R&D shocks ``(B, T, N)``, each run's from its own generator.

    A run with noise draws its horizon's shocks from ``default_rng(seed)``
    (the generator Mesa gives a model seeded with ``rng=seed``), one row of
    labs per step, so its draws never depend on the other runs of the batch.
    """
    rows = []
    for scenario, seed in zip(scenarios, seeds, strict=True):
        size = (scenario.n_steps, len(scenario.labs))
        if scenario.rnd.noise > 0:
            rows.append(np.random.default_rng(int(seed)).standard_normal(size))
        else:
            rows.append(np.zeros(size))
    return np.stack(rows)
