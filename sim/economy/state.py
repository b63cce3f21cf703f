"""The state a step changes: frozen dataclasses of arrays with a leading run axis.

Axes as in :mod:`sim.economy.params`, plus ``K`` fleet cohorts (the initial
fleet's items, then one slot per step for that step's deliveries) and ``T``
steps. Phases never change an array in place: they return a new state
(:func:`dataclasses.replace`), so a state once made stays what it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LabState:
    """What each lab holds between steps."""

    cash: np.ndarray  # (B, N) USD
    compute: np.ndarray  # (B, N) FLOP, cumulative logical compute
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


@dataclass(frozen=True)
class Fleet:
    """Each lab's GPUs: per chip variant (for dispatch) and per cohort (for retirement).

    A chip variant ``V`` is a roadmap chip as held at the start, or as sold
    by one supplier on the lab's edge (derated under export controls);
    :class:`sim.economy.params.Hardware` gives each variant's FLOP/s and watts.
    A retired or empty cohort has zero units.
    """

    units: np.ndarray  # (B, N, V) GPUs installed per chip variant
    total_units: np.ndarray  # (B, N) GPUs installed
    total_flops: np.ndarray  # (B, N) FLOP/s, peak, installed
    total_watts: np.ndarray  # (B, N) W, board power installed
    cohort_units: np.ndarray  # (B, N, K) GPUs
    cohort_variant: np.ndarray  # (B, N, K) int, the cohort's chip variant
    cohort_bought: np.ndarray  # (B, N, K) yr, model time of purchase
    pending_units: np.ndarray  # (B, N) GPUs delivered last step, installed this step
    pending_variant: np.ndarray  # (B, N) int
    pending_bought: np.ndarray  # (B, N) yr


@dataclass(frozen=True)
class ChipMarketState:
    """Chip suppliers' prices."""

    price_index: np.ndarray  # (B, Sc) 1, multiple of list prices quoted next step


@dataclass(frozen=True)
class EnergyState:
    """Energy suppliers' capacity and build pipeline."""

    capacity_mw: np.ndarray  # (B, Se) MW online
    order_mw: np.ndarray  # (B, Se, T) MW ordered in each step
    order_due: np.ndarray  # (B, Se, T) yr when that order comes online (inf: none pending)


@dataclass(frozen=True)
class State:
    """The whole economy after ``step`` steps."""

    step: int
    labs: LabState
    fleet: Fleet
    chips: ChipMarketState
    energy: EnergyState
