"""The Lab agent: a GPU fleet in cohorts, a software-efficiency multiplier, cash.

A lab's logical compute in a step is
``running FLOP/s x MFU x seconds x software multiplier``, where the software
multiplier ``S = 2^(log2 S)`` grows as ``2^(gamma t)`` within the step and is
integrated exactly (:func:`sim.law.step_efficiency_integral`), and the running
GPUs are limited by both the fleet and the power delivered. Power goes to the
most energy-efficient cohorts first. The market-facing decisions live in
:mod:`sim.model`; this module holds the lab's own state and arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa

from sim.fleet import Cohort, Fleet
from sim.law import SECONDS_PER_YEAR, step_efficiency_integral
from sim.strategies import Strategy

HOURS_PER_YEAR = 8766.0


@dataclass(slots=True)
class StepAccount:
    """What a lab spent and received in the current step (USD unless stated)."""

    funding: float = 0.0
    revenue: float = 0.0
    capex: float = 0.0
    tariffs: float = 0.0
    energy: float = 0.0
    carbon_tax: float = 0.0
    rnd: float = 0.0
    projects: float = 0.0
    compliance: float = 0.0
    chips_ordered: float = 0.0
    chips_received: float = 0.0
    power_requested_mw: float = 0.0
    power_mw: float = 0.0
    running_units: float = 0.0
    running_flops: float = 0.0


class Lab(mesa.Agent):
    """An AI lab racing along the shared law.

    Attributes:
        name, region: identity; index: position among the model's labs.
        ledger_code: code of the lab's account in the model's :class:`sim.ledger.Ledger`.
        strategy: the budget-split strategy instance.
        cash: USD on hand (mirrors the ledger).
        fleet: the installed GPUs (:class:`sim.fleet.Fleet`).
        pending: GPUs delivered this step, installed at the start of the next.
        log2_software: log2 of the software-efficiency multiplier S.
        gamma_software: software doublings per year in force this step.
        exogenous_gamma: fixed software gamma, or None when R&D buys it.
        rnd_rate: effective R&D spend rate of the last step, USD/yr (subsidy included).
        expected_energy_price: USD/MWh (tax included) the lab expects to pay this step.
        compute: cumulative logical compute, FLOP.
        recovered_share: waste share recovered by projects so far.
        projects_done: names of projects bought.
    """

    def __init__(
        self,
        model: mesa.Model,
        *,
        name: str,
        region: str,
        strategy: Strategy,
        cash: float,
        funding_per_year: float,
        funding_growth: float,
        spend_rate: float,
        cohorts: list[Cohort],
        exogenous_gamma: float | None,
        buys_projects: bool,
        idle_tolerance: float = 0.05,
    ):
        super().__init__(model)
        self.name = name
        self.region = region
        self.strategy = strategy
        self.cash = cash
        self.funding_per_year = funding_per_year
        self.funding_growth = funding_growth
        self.spend_rate = spend_rate
        self.index = 0
        self.ledger_code = -1  # the lab's account in the model's ledger, set by the model
        self.fleet = Fleet(cohorts)
        self.pending: list[Cohort] = []
        self.exogenous_gamma = exogenous_gamma
        self.gamma_software = exogenous_gamma or 0.0
        self.buys_projects = buys_projects
        self.log2_software = 0.0
        self.compute = 0.0
        self.recovered_share = 0.0
        self.projects_done: list[str] = []
        self.crossed_threshold = False
        self.rnd_rate = 0.0
        self.idle_tolerance = idle_tolerance
        self.last_running_units = 0.0
        self.last_fleet_units = 0.0
        self.expected_energy_price = 0.0
        self.account = StepAccount()

    def fleet_units(self) -> float:
        """GPUs installed."""
        return self.fleet.units

    def fleet_flops(self) -> float:
        """Peak dense FLOP/s of the installed fleet."""
        return self.fleet.flops

    def renew_fleet(self, t: float, lifetime: float) -> None:
        """Install the GPUs delivered last step, then retire those ``lifetime`` years old at ``t``.

        One recount of the fleet's totals (:meth:`sim.fleet.Fleet.turn_over`).
        """
        if self.pending:  # GPUs delivered last step
            self.fleet.turn_over(self.pending, t, lifetime)
            self.pending = []
        else:
            self.fleet.retire(t, lifetime)

    def running(self, power_mw: float, watts_factor: float) -> tuple[float, float]:
        """GPUs and FLOP/s the delivered power can run, most FLOP/W first."""
        return self.fleet.running(power_mw * 1e6 / watts_factor)

    def software_multiplier(self) -> float:
        """S, the software-efficiency multiplier (1 at the start)."""
        return 2.0**self.log2_software

    def train(self, running_flops: float, mfu: float, dt: float, ceiling: float) -> float:
        """Accrue the step's compute (up to ``ceiling``) and advance S; return FLOP added.

        The step's logical FLOP: ``flops x MFU x s/yr x S_t x integral_0^dt 2^(gamma s) ds``.
        """
        headroom = ceiling - self.compute
        headroom = 0.0 if headroom < 0.0 else headroom  # max(headroom, 0.0) without a call
        integral = step_efficiency_integral(dt, self.gamma_software)
        added = running_flops * mfu * SECONDS_PER_YEAR * 2.0**self.log2_software * integral
        added = headroom if headroom < added else added  # min(added, headroom)
        self.compute += added
        self.log2_software += self.gamma_software * dt
        return added

    def one_year_compute(self, mfu: float) -> float:
        """Compute of one year on the current fleet at the current multiplier (gamma held at 0)."""
        return self.fleet_flops() * mfu * SECONDS_PER_YEAR * self.software_multiplier()
