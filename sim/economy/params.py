"""The parameters and policy levers of a batch of runs, resolved once, frozen.

Every field is an array whose first axis is the run (``B``); the comment after
a field gives its further axes and unit. Axes: ``N`` labs, ``Sc`` chip
suppliers, ``Se`` energy suppliers, ``R`` chips of the roadmap, ``P``
efficiency projects. Runs of one batch share ``N``, ``Sc``, ``Se`` and the
number of steps (:func:`sim.economy.build.structure` groups runs that do);
``R`` and ``P`` are padded to the batch's longest. Each lever acts in one
phase of :mod:`sim.economy.phases`, named beside it (``docs/model.md``
section 2.2), except the tariff (the ownership cost compared in ``decide``
and the bill of the chip market). The carbon tax acts in the energy market
only: labs see it through the prices that market publishes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


def stack(items: list):
    """One dataclass of the same type whose fields stack the items' fields on a new run axis."""
    kind = type(items[0])
    return kind(**{f.name: np.stack([getattr(i, f.name) for i in items]) for f in fields(kind)})


def select(batch, runs: np.ndarray | slice):
    """The same dataclass with only the ``runs`` of every field (the run axis kept)."""
    return type(batch)(**{f.name: getattr(batch, f.name)[runs] for f in fields(batch)})


@dataclass(frozen=True)
class Clock:
    """Time: steps of ``dt`` years from ``start_year``."""

    dt: np.ndarray  # yr
    start_year: np.ndarray  # calendar year of t = 0


@dataclass(frozen=True)
class Law:
    """The shared scaling law ``L(C) = E + K C^-kappa``."""

    E: np.ndarray  # nats/token
    K: np.ndarray  # nats/token at C = 1 FLOP
    kappa: np.ndarray  # 1


@dataclass(frozen=True)
class Hardware:
    """Fleet-wide hardware facts and the chip roadmap."""

    mfu: np.ndarray  # 1
    watts_factor: np.ndarray  # 1: facility watts per watt of board power (PUE x server)
    lifetime: np.ndarray  # yr
    chip_year: np.ndarray  # (R) calendar year of release
    chip_flops: np.ndarray  # (R) FLOP/s, dense BF16 peak
    chip_watts: np.ndarray  # (R) W, board power
    chip_price: np.ndarray  # (R) USD, list price of the chip alone
    system_price: np.ndarray  # (R) USD, list price of a GPU in its server (x server multiple)
    chip_lifetime_mwh: np.ndarray  # (R) MWh one GPU draws over its lifetime, facility included
    facility_cost_per_mw: np.ndarray  # USD per MW of data-centre critical load
    variant_flops: np.ndarray  # (N, V) FLOP/s per GPU of each chip variant a lab can hold
    variant_watts: np.ndarray  # (N, V) W per GPU
    dispatch_order: np.ndarray  # (N, V) int: variants most FLOP per watt first
    dispatch_flops: np.ndarray  # (N, V) variant_flops in dispatch order
    dispatch_watts: np.ndarray  # (N, V) variant_watts in dispatch order


@dataclass(frozen=True)
class ChipSuppliers:
    """Chip makers: products, capacity, pricing; export controls and tariffs on their edges."""

    sells: np.ndarray  # (Sc, R) bool: the chip is in the supplier's catalogue
    on_sale_from: np.ndarray  # (Sc, R) calendar year the supplier first sells it (inf: never)
    capacity_per_year: np.ndarray  # (Sc) GPU/yr at t = 0
    log_growth: np.ndarray  # (Sc) 1/yr, log(1 + capacity growth)
    price_response: np.ndarray  # (Sc) 1/yr
    normal_backlog_years: np.ndarray  # (Sc) yr of production queued at which the index holds
    lead_time: np.ndarray  # (Sc) yr from the start of production to delivery
    lead_steps: np.ndarray  # (Sc) int, steps in production before delivery (install next step)
    packaging_wafers_per_month: np.ndarray  # (Sc) at t = 0 (inf: never binding)
    gpus_per_wafer: np.ndarray  # (Sc) GPU/wafer
    packaging_capex_per_wafer_month: np.ndarray  # (Sc) USD per wafer/month added
    packaging_reinvestment: np.ndarray  # (Sc) 1, share of chip revenue
    price_floor: np.ndarray  # (Sc) 1
    price_ceiling: np.ndarray  # (Sc) 1
    by_bid: np.ndarray  # (Sc) bool: ration by bid, else pro rata
    outage_start: np.ndarray  # (Sc) yr (policy.supply_shock; chip market)
    outage_end: np.ndarray  # (Sc) yr
    outage_lost: np.ndarray  # (Sc) 1, share of capacity lost (0: no shock)
    allowed: np.ndarray  # (Sc, N) bool: trade allowed (policy.export_controls; decide)
    tariff: np.ndarray  # (Sc, N) 1 (policy.tariffs; decide and chip market)
    offer_flops: np.ndarray  # (Sc, N, R) FLOP/s of the chip sold on the edge (derated)
    max_tpp: np.ndarray  # (Sc, N) TPP threshold on the edge (inf: uncontrolled)
    first_variant: np.ndarray  # int: variant of chip 0 from supplier 0 in this policy epoch


@dataclass(frozen=True)
class EnergySuppliers:
    """Regional power suppliers, their build-out and the regional power caps."""

    capacity_mw: np.ndarray  # (Se) MW at t = 0
    base_price: np.ndarray  # (Se) USD/MWh, the supplier's cost: its offer below the knee
    build_mw_per_year: np.ndarray  # (Se) MW/yr at cost, x policy.grid_buildout_multiplier
    build_response: np.ndarray  # (Se) 1, orders' elasticity to the expected margin over cost
    build_max_multiple: np.ndarray  # (Se) 1, most orders as a multiple of the base rate
    lead_time: np.ndarray  # (Se) yr
    lead_steps: np.ndarray  # (Se) int, the lead time in whole steps (rounded up)
    carbon_intensity: np.ndarray  # (Se) tCO2/MWh
    knee: np.ndarray  # (Se) 1
    slope: np.ndarray  # (Se) 1
    serves: np.ndarray  # (Se, N) bool: an energy edge to the lab (same region)
    same_region: np.ndarray  # (Se, Se) bool
    region_cap_mw: np.ndarray  # (Se) MW cap of the supplier's region (policy.power_caps), inf


@dataclass(frozen=True)
class Labs:
    """Labs' starting state and behaviour (strategies are parameter sets of one rule)."""

    cash: np.ndarray  # (N) USD at t = 0
    funding_per_year: np.ndarray  # (N) USD/yr x policy.capital_availability (funding)
    log_funding_growth: np.ndarray  # (N) 1/yr, log(1 + funding growth)
    spend_rate: np.ndarray  # (N) 1/yr
    cash_buffer_years: np.ndarray  # (N) yr of trailing spending kept as cash; inf: all
    investor_elasticity: np.ndarray  # (N) 1, of funding offered to relative market share
    idle_tolerance: np.ndarray  # (N) 1
    exogenous_gamma: np.ndarray  # (N) doublings/yr, NaN where R&D buys it
    buys_projects: np.ndarray  # (N) bool
    capex_share: np.ndarray  # (N) 1, initial share of the discretionary budget to GPUs
    rnd_share: np.ndarray  # (N) 1, share to R&D of fixed-split strategies
    project_share: np.ndarray  # (N) 1, share projects may take
    adaptive: np.ndarray  # (N) bool: the split moves toward the larger marginal
    adjustment: np.ndarray  # (N) 1 per step
    share_floor: np.ndarray  # (N) 1
    spend_share: np.ndarray  # (N) 1
    training_share: np.ndarray  # (N) 1, share of the powered fleet's FLOP/s that trains
    research_share: np.ndarray  # (N) 1, share that runs research experiments
    inference_share: np.ndarray  # (N) 1, share that serves inference
    initial_compute: np.ndarray  # (N) FLOP, of the model served at the start
    usable_share: np.ndarray  # (N) 1, share of mid-run efficiency gains a run can use
    run_years: np.ndarray  # (N) yr, length of every run; NaN: the expected optimum
    expected_hardware_gamma: np.ndarray  # (N) doublings/yr a lab expects of FLOP/s per USD
    deadline: np.ndarray  # (N) yr since the start of the release deadline; inf: none
    warm_start: np.ndarray  # (N) bool: the first run continues the starting model
    deploy_checkpoints: np.ndarray  # (N) bool: serve the run's latest checkpoint each step
    own_max_share: np.ndarray  # (N) 1, share of the facility own generation may cover
    own_capex_per_mw: np.ndarray  # (N) USD/MW of own generation
    own_running_cost: np.ndarray  # (N) USD/MWh of own generation
    own_carbon_intensity: np.ndarray  # (N) tCO2/MWh of own generation
    own_lead_steps: np.ndarray  # (N) int, build time of own generation in whole steps
    own_payback_years: np.ndarray  # (N) yr


@dataclass(frozen=True)
class RnD:
    """R&D production from a knowledge stock, lagged spillovers and one-off efficiency projects."""

    productivity: np.ndarray  # doublings/yr at the reference inputs and the origin stock
    reference_spend: np.ndarray  # USD/yr
    reference_research_flops: np.ndarray  # FLOP/s
    dollar_share: np.ndarray  # 1, Cobb-Douglas weight of dollars in the R&D input
    returns: np.ndarray  # 1, lambda
    ideas_harder: np.ndarray  # 1, beta
    initial_stock: np.ndarray  # doublings of knowledge at t = 0 (since the origin year)
    spillover_lag_steps: np.ndarray  # int, steps by which the spilled-over frontier lags
    base_gamma: np.ndarray  # doublings/yr
    noise: np.ndarray  # 1, lognormal sigma
    subsidy_rate: np.ndarray  # 1 (policy.rd_subsidy_rate; decide)
    spillover: np.ndarray  # 1/yr (policy.spillover_strength; decide)
    waste_fraction: np.ndarray  # 1
    recoverable: np.ndarray  # 1
    project_waste_share: np.ndarray  # (P) 1
    project_cost_per_gpu: np.ndarray  # (P) USD/GPU


@dataclass(frozen=True)
class Policy:
    """The levers read by one phase each that have no better home."""

    carbon_tax: np.ndarray  # USD/tCO2 (energy market)
    threshold_flop: np.ndarray  # FLOP (policy.compute_threshold; train), inf: off
    threshold_cap: np.ndarray  # bool: no training beyond the threshold
    compliance_cost: np.ndarray  # USD, one-off when a lab crosses it


@dataclass(frozen=True)
class Market:
    """The AI-services market labs sell into."""

    initial_size: np.ndarray  # USD/yr
    log_growth: np.ndarray  # 1/yr, log(1 + growth)
    temperature: np.ndarray  # nats
    training_share: np.ndarray  # 1


SCHEDULED = ("chips", "energy", "labs", "rnd", "policy")
"""The groups a policy schedule can change from one epoch to the next."""


@dataclass(frozen=True)
class Params:
    """Everything fixed for a batch of runs (``B`` runs of ``n_steps`` steps).

    ``changes`` holds the later policy epochs: (first step, the parameters in
    force from that step on), in order; the batch's runs share the steps at
    which an epoch starts (the union of their schedules' dates), so one
    epoch's parameters serve the whole batch. Empty when no lever changes.
    """

    n_steps: int
    clock: Clock
    law: Law
    hardware: Hardware
    chips: ChipSuppliers
    energy: EnergySuppliers
    labs: Labs
    rnd: RnD
    policy: Policy
    market: Market
    changes: tuple[tuple[int, Params], ...] = ()

    @property
    def runs(self) -> int:
        """B, the number of runs in the batch."""
        return len(self.clock.dt)

    def in_force(self, step: int) -> Params:
        """The parameters of the policy epoch that ``step`` falls in."""
        current = self
        for first, later in self.changes:
            if step < first:
                break
            current = later
        return current

    def select(self, runs: np.ndarray | slice) -> Params:
        """The parameters of some of the runs only."""
        groups = {
            f.name: select(getattr(self, f.name), runs)
            for f in fields(self)
            if f.name not in ("n_steps", "changes")
        }
        changes = tuple((first, later.select(runs)) for first, later in self.changes)
        return Params(n_steps=self.n_steps, changes=changes, **groups)
