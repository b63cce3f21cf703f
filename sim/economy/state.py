"""The state a step changes: frozen dataclasses of arrays with a leading run axis.

Axes as in :mod:`sim.economy.params`, plus ``V`` chip variants, ``K0`` items
of the starting fleets and ``T`` steps. Phases never change an array in
place: they return a new state (:func:`dataclasses.replace`), so a state once
made stays what it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LabState:
    """What each lab holds between steps."""

    cash: np.ndarray  # (B, N) USD
    compute: np.ndarray  # (B, N) FLOP, logical compute of the model the lab serves
    log2_software: np.ndarray  # (B, N) log2 of the software multiplier S
    gamma_software: np.ndarray  # (B, N) doublings/yr in force in the last step
    rnd_rate: np.ndarray  # (B, N) USD/yr, effective R&D spend rate of the last step
    recovered_share: np.ndarray  # (B, N) 1, waste recovered by projects so far
    projects_done: np.ndarray  # (B, N, P) bool
    capex_share: np.ndarray  # (B, N) 1, the adaptive split's current GPU share
    crossed_threshold: np.ndarray  # (B, N) bool
    last_running_units: np.ndarray  # (B, N) GPUs powered in the last step
    last_fleet_units: np.ndarray  # (B, N) GPUs installed in the last step
    last_power_mw: np.ndarray  # (B, N) MW delivered in the last step
    last_energy_bill: np.ndarray  # (B, N) USD paid for power in the last step, tax included
    last_research_flops: np.ndarray  # (B, N) FLOP/s, peak, on research experiments last step
    facility_mw: np.ndarray  # (B, N) MW of data-centre critical load built (facility watts)
    own_mw: np.ndarray  # (B, N) MW of the lab's own generation online
    own_pipeline: np.ndarray  # (B, N, K) MW of own generation due k steps from now
    run_active: np.ndarray  # (B, N) bool: a training run is in progress
    run_start: np.ndarray  # (B, N) yr, start of the current (or last) run
    run_end: np.ndarray  # (B, N) yr, its planned end (a step's end)
    run_compute: np.ndarray  # (B, N) FLOP of logical compute it has trained
    run_flop: np.ndarray  # (B, N) training FLOP: its GPUs' work at MFU, no software multiplier
    run_flops: np.ndarray  # (B, N) FLOP/s training at its start
    run_log2_software: np.ndarray  # (B, N) log2 S at its start
    run_units: np.ndarray  # (B, N) GPUs training at its start
    run_chip: np.ndarray  # (B, N) int, chip variant with most of the fleet's FLOP/s then
    runs_started: np.ndarray  # (B, N) int, runs started so far
    spending_rate: np.ndarray  # (B, N) USD/yr, trailing (about one year) spending
    market_share: np.ndarray  # (B, N) 1, share of the AI-services market in the last step
    opening_share: np.ndarray  # (B, N) 1, share at the start: the reference of standing


@dataclass(frozen=True)
class Purchase:
    """One step's GPU deliveries to every lab: a cohort, retired together ``lifetime`` later."""

    units: np.ndarray  # (B, N, Sc) GPUs from each supplier
    variant: np.ndarray  # (B, N, Sc) int, the chip variant each delivered
    bought: np.ndarray  # (B,) yr, model time of the step it was delivered in


@dataclass(frozen=True)
class Fleet:
    """Each lab's GPUs: per chip variant (for dispatch) and per cohort (for retirement).

    A chip variant ``V`` is a roadmap chip as held at the start, or as sold
    by one supplier on the lab's edge (derated under export controls);
    :class:`sim.economy.params.Hardware` gives each variant's FLOP/s and watts.
    Cohorts are the ``K0`` items of the starting fleet and one
    :class:`Purchase` per step since, kept as an immutable tuple that each
    step extends, so installing and retiring touch only the cohorts concerned.
    """

    units: np.ndarray  # (B, N, V) GPUs installed per chip variant
    total_units: np.ndarray  # (B, N) GPUs installed
    total_flops: np.ndarray  # (B, N) FLOP/s, peak, installed
    total_watts: np.ndarray  # (B, N) W, board power installed
    initial_units: np.ndarray  # (B, N, K0) GPUs of the starting fleet's items
    initial_variant: np.ndarray  # (B, N, K0) int
    initial_bought: np.ndarray  # (B, N, K0) yr (<= 0: owned before the start)
    initial_retired: np.ndarray  # (B, N, K0) bool
    purchases: tuple[Purchase, ...]  # one per step installed so far
    pending: Purchase | None  # delivered in the last step, installed in this one


@dataclass(frozen=True)
class ChipMarketState:
    """Chip suppliers' prices, packaging capacity, order queues and production pipelines.

    A lab's queue at a supplier holds one chip variant: the one it ordered last.
    """

    price_index: np.ndarray  # (B, Sc) 1, multiple of list prices quoted next step
    packaging: np.ndarray  # (B, Sc) wafers a month of advanced packaging (inf: never binding)
    backlog: np.ndarray  # (B, Sc, N) GPUs ordered and paid for, not yet in production
    backlog_value: np.ndarray  # (B, Sc, N) USD paid for them, tariffs excluded
    backlog_variant: np.ndarray  # (B, Sc, N) int, the chip variant queued
    in_production: np.ndarray  # (B, Sc, N, K) GPUs delivered k steps from now
    in_production_variant: np.ndarray  # (B, Sc, N, K) int


@dataclass(frozen=True)
class EnergyState:
    """Energy suppliers' capacity, build pipeline and the prices the market published."""

    capacity_mw: np.ndarray  # (B, Se) MW online
    pipeline: np.ndarray  # (B, Se, K) MW ordered, due k steps from now (slot k)
    price: np.ndarray  # (B, Se) USD/MWh, last clearing price of the region, tax included
    price_ceiling: np.ndarray  # (B, Se) USD/MWh, highest price the region can clear at
    expected_price: np.ndarray  # (B, Se) USD/MWh, trailing one-year mean of the price received
    own_price: np.ndarray  # (B, N) USD/MWh of each lab's own generation, carbon tax included


@dataclass(frozen=True)
class State:
    """The whole economy after ``step`` steps."""

    step: int
    labs: LabState
    fleet: Fleet
    chips: ChipMarketState
    energy: EnergyState
    frontier_history: np.ndarray  # (B, H) the run's largest log2 S, slot k: k steps ago
