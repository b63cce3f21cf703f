"""RaceModel: the Mesa face of the array engine, a batch of one run.

Mesa users, ``DataCollector`` reporters and the dashboard see ordinary
agents (``model.agents_by_type[Lab]``): :class:`Lab`, :class:`ChipSupplier`
and :class:`EnergySupplier` are ``mesa.Agent``s whose attributes read the
engine's arrays for their run. ``model.step()`` advances the engine one step
(:func:`sim.economy.phases.step`); ``model.network`` is the supply network, a
``networkx`` graph keyed by the agents' ids with each edge's trades.
"""

from __future__ import annotations

import mesa
import networkx as nx
import numpy as np
import pandas as pd

from sim.config.scenario import Scenario
from sim.economy import phases
from sim.economy.build import build, supply_network
from sim.economy.engine import BatchRun
from sim.economy.phases import StepResult
from sim.economy.tables import run_tables
from sim.economy.trace import Trace, opening


class _View(mesa.Agent):
    """An agent whose attributes are views onto its entries of the model's arrays."""

    def __init__(self, model: RaceModel, index: int, spec) -> None:
        super().__init__(model)
        self.index = index
        self.name = spec.name
        self.region = spec.region

    def _state(self, group: str, field: str) -> float:
        return float(getattr(getattr(self.model.state, group), field)[0, self.index])

    def _last(self, value: np.ndarray) -> float:
        return float(value[0, self.index])


class Lab(_View):
    """An AI lab: cash, fleet, compute and software efficiency (views onto the arrays)."""

    def __init__(self, model: RaceModel, index: int, spec) -> None:
        super().__init__(model, index, spec)
        self.strategy = spec.strategy

    cash = property(lambda self: self._state("labs", "cash"), doc="USD on hand")
    compute = property(lambda self: self._state("labs", "compute"), doc="cumulative FLOP")
    log2_software = property(lambda self: self._state("labs", "log2_software"))
    gamma_software = property(lambda self: self._state("labs", "gamma_software"))
    fleet_units = property(lambda self: self._last(self.model.state.fleet.total_units))
    fleet_flops = property(lambda self: self._last(self.model.state.fleet.total_flops))
    power_mw = property(lambda self: self._last(self.model.last_result.energy.power_mw))
    facility_mw = property(
        lambda self: self._state("labs", "facility_mw"), doc="data-centre MW built"
    )
    market_share = property(lambda self: self._last(self.model.last_result.revenue.shares))

    @property
    def loss(self) -> float:
        """L(C) of the lab's compute, nats/token."""
        return self.model.loss_of(self.compute)

    def software_multiplier(self) -> float:
        """S, the software-efficiency multiplier (1 at the start)."""
        return 2.0**self.log2_software


class ChipSupplier(_View):
    """A chip maker: its price index and last step's market (views onto the arrays)."""

    price_index = property(lambda self: self._state("chips", "price_index"))
    quoted_index = property(lambda self: self._last(self.model.last_result.chips.quoted_index))
    last_demand = property(lambda self: self._last(self.model.last_result.chips.demand))
    last_supply = property(lambda self: self._last(self.model.last_result.chips.supply))
    last_sold = property(lambda self: self._last(self.model.last_result.chips.sold))
    last_revenue = property(lambda self: self._last(self.model.last_result.chips.revenue))


class EnergySupplier(_View):
    """A regional power supplier: capacity and last step's market (views onto the arrays)."""

    def __init__(self, model: RaceModel, index: int, spec) -> None:
        super().__init__(model, index, spec)
        self.base_price = spec.base_price
        self.carbon_intensity = spec.carbon_intensity

    capacity_mw = property(lambda self: self._state("energy", "capacity_mw"))
    expected_price = property(
        lambda self: self._state("energy", "expected_price"),
        doc="USD/MWh, trailing mean of the price received (drives its build-out)",
    )
    last_price = property(lambda self: self._last(self.model.last_result.energy.price))
    last_requested_mw = property(
        lambda self: self._last(self.model.last_result.energy.requested_mw)
    )
    last_delivered_mw = property(lambda self: self._last(self.model.last_result.energy.sold_mw))
    last_utilization = property(
        lambda self: self._last(self.model.last_result.energy.utilization)
    )


class RaceModel(mesa.Model):
    """The efficiency-race economy of one validated :class:`Scenario`.

    Args:
        scenario: the validated scenario.
        seed: overrides ``scenario.seed`` if given.
    """

    scenario: Scenario = None  # type: ignore[assignment]
    # A plain class attribute: Mesa >= 3.4's Model.scenario is a property for its own
    # mesa.experimental Scenario, whose setter would write ``scenario.model``.

    def __init__(self, scenario: Scenario, seed: int | None = None):
        self.seed_used = scenario.seed if seed is None else int(seed)
        super().__init__(rng=self.seed_used)
        self.scenario = scenario
        self.params, self.state, self._shocks = build([scenario], [self.seed_used])
        self.last_result: StepResult = opening(self.state, self.params)
        self.trace = Trace(self.params)
        self.trace.record(self.state, self.last_result)
        self.chip_suppliers = [
            ChipSupplier(self, i, s) for i, s in enumerate(scenario.chip_suppliers)
        ]
        self.energy_suppliers = [
            EnergySupplier(self, i, s) for i, s in enumerate(scenario.energy_suppliers)
        ]
        self.labs = [Lab(self, i, spec) for i, spec in enumerate(scenario.labs)]
        ids = [[agent.unique_id for agent in group]
               for group in (self.labs, self.chip_suppliers, self.energy_suppliers)]  # fmt: skip
        self._graph = supply_network(scenario, ids)
        self.initial_loss = {lab.name: lab.loss for lab in self.labs}

    def step(self) -> None:
        """Advance the economy by one step of ``dt`` years."""
        shocks = self._shocks[:, self.state.step]
        self.state, self.last_result = phases.step(
            self.state, self.params.in_force(self.state.step), shocks
        )
        self.trace.record(self.state, self.last_result)

    def run(self) -> RaceModel:
        """Run the remaining steps of the scenario's horizon and return self."""
        while self.state.step < self.params.n_steps:
            self.step()
        return self

    @property
    def t(self) -> float:
        """Model time in years since ``start_year`` (the end of the last step)."""
        return self.state.step * self.scenario.dt

    @property
    def year(self) -> float:
        """Calendar year of the model time."""
        return self.scenario.start_year + self.t

    def loss_of(self, compute: float) -> float:
        """``L(C) = E + K C^-kappa``, nats/token."""
        law = self.params.law
        return float(law.E[0] + law.K[0] * compute ** -law.kappa[0])

    def shares(self) -> np.ndarray:
        """The labs' market shares of the last step (of the start before any step)."""
        return self.last_result.revenue.shares[0].copy()

    def batch(self) -> BatchRun:
        """The model's run as a batch of one (its trace holds the steps run so far)."""
        return BatchRun((self.scenario,), (self.seed_used,), self.params, self.state, self.trace)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables of the steps run so far (:mod:`sim.economy.tables`)."""
        return run_tables(self.batch(), 0, rows=self.state.step + 1)

    @property
    def network(self) -> nx.DiGraph:
        """The supply network; each edge carries the last step's trades and their running sums."""
        flows = self.trace.series["edges"]
        groups = (("chip", self.chip_suppliers), ("energy", self.energy_suppliers))
        for kind, suppliers in groups:
            quantity = flows["chip_units" if kind == "chip" else "energy_mwh"][0]
            value = flows[f"{kind}_value"][0]  # (rows, N, S)
            for s, supplier in enumerate(suppliers):
                for n, lab in enumerate(self.labs):
                    if not self._graph.has_edge(supplier.unique_id, lab.unique_id):
                        continue
                    data = self._graph[supplier.unique_id][lab.unique_id]
                    data["quantity"] = float(quantity[-1, n, s])
                    data["value"] = float(value[-1, n, s])
                    data["cum_quantity"] = float(quantity[:, n, s].sum())
                    data["cum_value"] = float(value[:, n, s].sum())
        return self._graph
