"""RaceModel: the economy of AI labs, chip suppliers and energy suppliers.

Step order (each step is ``dt`` years, starting at model time ``t``):

1. policy and infrastructure: energy suppliers commission and order capacity
   (grid build-out lever), labs install the GPUs delivered last step and
   retire old ones, outside funding arrives;
2. labs decide: reserve the power bill at the worst-case price, buy one-off
   projects, split the rest between GPUs and R&D by strategy, set gamma;
3. chip market: orders on allowed network edges, explicit rationing, tariffs;
4. energy market: merit order over the region's suppliers under power caps;
5. labs train along the law, integrating ``2^(gamma t)`` exactly;
6. revenue: the AI-services market is shared by a logit in ``-L / T``;
7. record.

Every payment goes through :class:`sim.ledger.Ledger`, so money is conserved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mesa
import numpy as np

from sim import network as net
from sim.chips import ChipModel, available, extrapolate_roadmap
from sim.config import ProjectSpec, Scenario
from sim.fleet import Cohort
from sim.flows import EdgeFlows
from sim.labs import HOURS_PER_YEAR, Lab, StepAccount
from sim.law import LN2, SECONDS_PER_YEAR, SERIES_BELOW, parameter_set
from sim.ledger import CODES, Ledger, pack_row
from sim.markets import hhi, logit_shares, logit_shares_unchecked
from sim.recorder import Recorder
from sim.rnd import project_log2_gain, rd_gamma_slope
from sim.strategies import Marginals, make_strategy
from sim.suppliers import ChipSupplier, EnergySupplier

# Ledger codes of the fixed accounts and the categories the model books.
_INVESTORS, _CUSTOMERS = CODES["investors"], CODES["customers"]
_WORKFORCE, _GOVERNMENT = CODES["workforce"], CODES["government"]
_FUNDING, _REVENUE = CODES["funding"], CODES["revenue"]
_CHIPS, _TARIFFS = CODES["chips"], CODES["tariffs"]
_ENERGY, _CARBON_TAX, _RND = CODES["energy"], CODES["carbon_tax"], CODES["rnd"]
_RD_SUBSIDY, _PROJECTS, _COMPLIANCE = (CODES[c] for c in ("rd_subsidy", "projects", "compliance"))
_INF = math.inf


class RaceModel(mesa.Model):
    """The efficiency-race economy built from a validated :class:`Scenario`.

    Args:
        scenario: the validated scenario.
        seed: overrides ``scenario.seed`` if given.
    """

    def __init__(self, scenario: Scenario, seed: int | None = None):
        self.seed_used = scenario.seed if seed is None else int(seed)
        super().__init__(rng=self.seed_used)
        self.scenario = scenario
        self.dt = scenario.dt
        self.t = 0.0
        self.step_year = scenario.start_year
        self._set_law()
        self.watts_factor = scenario.hardware.pue * scenario.hardware.server_overhead
        self._cache_levers(scenario)
        self.ledger = Ledger()
        self._book = self.ledger.book
        self._journal = self.ledger.journal
        self.roadmap = self._build_roadmap()
        self.chip_suppliers = [self._make_chip_supplier(s) for s in scenario.chip_suppliers]
        self.energy_suppliers = [self._make_energy_supplier(s) for s in scenario.energy_suppliers]
        self.labs = [self._make_lab(spec) for spec in scenario.labs]
        for index, lab in enumerate(self.labs):
            lab.index = index
        # A strategy without the attribute gets marginals (the Strategy protocol's safe side).
        self._uses_marginals = [getattr(lab.strategy, "uses_marginals", True) for lab in self.labs]
        self.worst_energy_price = self._worst_energy_prices()
        self.cheapest_energy_price = self._cheapest_energy_prices()
        self._network = self._build_network()
        self.flows = EdgeFlows(self._network)
        # (supplier id, lab id) -> (the edge's attribute dict, its number in self.flows)
        self._chip_edges = {
            (s.unique_id, lab.unique_id): (
                self._network[s.unique_id][lab.unique_id],
                self.flows.index[s.unique_id, lab.unique_id],
            )
            for s in self.chip_suppliers
            for lab in self.labs
        }
        self._energy_buyers = {
            s.unique_id: [
                lab
                for lab in self._network.successors(s.unique_id)
                if self._network[s.unique_id][lab]["allowed"]
            ]
            for s in self.energy_suppliers
        }
        self._chip_routes = self._allowed_chip_routes()
        self._chip_terms = {
            terms: (supplier, edge)
            for routes in self._chip_routes
            for supplier, edge, terms in routes
        }
        self._merit = self._merit_order()
        self._catalogue: dict[tuple[int, float], list[tuple[ChipModel, float]]] = {}
        self._released_cache: dict[tuple[int, float], _Released] = {}
        self._offers_on_terms: dict[tuple[int, float, float], list[tuple]] = {}
        self._offer_cache: dict[int, tuple | None] = {}
        self._competitive_cache: dict[tuple[int, float, int], list[tuple[ChipModel, float]]] = {}
        self._project_gain_cache: dict[int, tuple[tuple[float, int], tuple[list, float]]] = {}
        self.initial_loss = {lab.name: self.loss_of(lab.compute) for lab in self.labs}
        self.recorder = Recorder(self)
        self.recorder.record_start()

    # ------------------------------------------------------------------ build

    def _set_law(self) -> None:
        params = parameter_set(self.scenario.law.params)
        self.E, self.K = params.E, params.K
        self.kappa = self.scenario.law.kappa or params.kappa

    def _cache_levers(self, scenario: Scenario) -> None:
        """Copy the levers and parameters the step reads into plain attributes.

        Levers are fixed for a run, and reading a plain attribute is several
        times cheaper than a chain through the pydantic scenario (whose
        ``__getattr__`` hook every read pays).
        """
        policy, rnd = scenario.policy, scenario.rnd
        self._carbon_tax = policy.carbon_tax
        self._capital_availability = policy.capital_availability
        self._rd_subsidy_rate = policy.rd_subsidy_rate
        self._spillover_strength = policy.spillover_strength
        self._buildout = policy.grid_buildout_multiplier
        self._rnd_noise, self._rnd_base_gamma = rnd.noise, rnd.base_gamma
        self._rnd_noise_drift = rnd.noise**2 / 2  # mean-one lognormal shock: exp(s z - s^2/2)
        self._shock_rows: list[list[float]] = []  # this run's R&D shocks, last step first
        self._rnd_gamma_max, self._rnd_half_saturation = rnd.gamma_max, rnd.half_saturation
        self._mfu, self._lifetime = scenario.hardware.mfu, scenario.hardware.lifetime_years
        self._mwh_per_mw = HOURS_PER_YEAR * self.dt  # MWh per MW over one step
        self._n_projects = len(scenario.projects.catalogue)

    def loss_of(self, compute: float) -> float:
        """``L(C) = E + K C^-kappa`` (hot path: math only)."""
        return self.E + self.K * compute**-self.kappa

    def _build_roadmap(self) -> tuple[ChipModel, ...]:
        hw = self.scenario.hardware
        chips = [ChipModel(c.name, c.year, c.flops, c.watts, c.price) for c in hw.chips]
        return extrapolate_roadmap(
            chips,
            until_year=self.scenario.start_year + self.scenario.years,
            cadence_years=hw.cadence_years,
            flops_per_watt_growth=hw.flops_per_watt_growth,
            flops_per_dollar_growth=hw.flops_per_dollar_growth,
            watts_growth=hw.watts_growth,
        )

    def _make_chip_supplier(self, spec) -> ChipSupplier:
        calibrated = {c.name for c in self.scenario.hardware.chips}
        wanted = set(spec.chips) if spec.chips is not None else None
        roadmap = tuple(
            c
            for c in self.roadmap
            if (c.name in calibrated and (wanted is None or c.name in wanted))
            or (c.name not in calibrated and spec.extrapolate)
        )
        supplier = ChipSupplier(
            self,
            name=spec.name,
            region=spec.region,
            roadmap=roadmap,
            capacity_per_year=spec.capacity_per_year,
            capacity_growth=spec.capacity_growth,
            price_response=spec.price_response,
            allocation=spec.allocation,
            price_floor=spec.price_floor,
            price_ceiling=spec.price_ceiling,
        )
        supplier.ledger_code = self.ledger.open(spec.name, 0.0)
        shock = self.scenario.policy.supply_shock
        start = shock.start_year - self.scenario.start_year
        end = start + shock.duration_years
        if shock.supplier == spec.name and end > max(start, 0.0):
            supplier.add_outage(max(start, 0.0), end - max(start, 0.0), shock.fraction_lost)
        return supplier

    def _make_energy_supplier(self, spec) -> EnergySupplier:
        supplier = EnergySupplier(
            self,
            name=spec.name,
            region=spec.region,
            capacity_mw=spec.capacity_mw,
            base_price=spec.base_price,
            build_rate_mw_per_year=spec.build_rate_mw_per_year,
            lead_time_years=spec.lead_time_years,
            carbon_intensity=spec.carbon_intensity,
            scarcity_knee=spec.scarcity_knee,
            scarcity_slope=spec.scarcity_slope,
        )
        supplier.ledger_code = self.ledger.code(spec.name)
        return supplier

    def _make_lab(self, spec) -> Lab:
        chips = {c.name: c for c in self.roadmap}
        cohorts = [Cohort(chips[i.chip], i.units, -i.age_years) for i in spec.fleet]
        lab = Lab(
            self,
            name=spec.name,
            region=spec.region,
            strategy=make_strategy(spec.strategy),
            cash=spec.cash,
            funding_per_year=spec.funding_per_year,
            funding_growth=spec.funding_growth,
            spend_rate=spec.spend_rate,
            cohorts=cohorts,
            exogenous_gamma=spec.software_gamma,
            buys_projects=spec.buys_projects,
            idle_tolerance=spec.idle_tolerance,
        )
        lab.ledger_code = self.ledger.open(spec.name, spec.cash)
        baseline_year = lab.one_year_compute(self.scenario.hardware.mfu)
        lab.compute = spec.initial_compute or baseline_year
        if lab.compute <= 0:
            raise ValueError(
                f"labs.{spec.name}: needs a fleet or an initial_compute > 0 to have a loss"
            )
        return lab

    def _build_network(self):
        graph = net.build_supply_network(
            [(lab.unique_id, lab.name, lab.region) for lab in self.labs],
            [(s.unique_id, s.name, s.region) for s in self.chip_suppliers],
            [(s.unique_id, s.name, s.region) for s in self.energy_suppliers],
        )
        policy = self.scenario.policy
        controls = policy.export_controls
        if controls.restricted_regions:
            net.apply_export_controls(
                graph, controls.restricted_regions, controls.max_tpp, controls.exporter_regions
            )
        if policy.tariffs:
            net.apply_tariffs(graph, policy.tariffs)
        return graph

    def _allowed_chip_routes(self) -> list[list[tuple[ChipSupplier, dict, tuple]]]:
        """Per lab (by index), the chip suppliers it may buy from: ``(supplier, edge, terms)``.

        ``edge`` is the edge's attribute dict and ``terms`` the key
        ``(supplier id, tariff, max_tpp)`` of the offers on it: labs buying on
        the same terms see the same offers. Policy edits the network only while
        the model is built, so routes and terms are fixed for the run.
        """
        routes = []
        for lab in self.labs:
            edges = [
                (s, self._chip_edges[s.unique_id, lab.unique_id][0]) for s in self.chip_suppliers
            ]
            routes.append(
                [
                    (supplier, edge, (supplier.unique_id, edge["tariff"], edge["max_tpp"]))
                    for supplier, edge in edges
                    if edge["allowed"]
                ]
            )
        return routes

    def _merit_order(self) -> list[tuple[EnergySupplier, list[tuple[Lab, int, int]]]]:
        """Energy suppliers, cheapest first (carbon tax included), with their allowed buyers.

        Base prices, carbon intensities and the tax are fixed for the run, so the
        merit order is too. Buyers keep the network's order, each as
        ``(lab, lab index, number of the edge in`` :attr:`flows` ``)``.
        """
        tax = self.scenario.policy.carbon_tax
        labs = {lab.unique_id: lab for lab in self.labs}
        merit = sorted(self.energy_suppliers, key=lambda s: s.base_price + tax * s.carbon_intensity)
        return [
            (
                supplier,
                [
                    (
                        labs[lab_id],
                        labs[lab_id].index,
                        self.flows.index[supplier.unique_id, lab_id],
                    )
                    for lab_id in self._energy_buyers[supplier.unique_id]
                ],
            )
            for supplier in merit
        ]

    # ------------------------------------------------------------------- step

    def step(self) -> None:
        """Advance the economy by one step of ``dt`` years (see the module docstring)."""
        self.t = (self.steps - 1) * self.dt
        self.step_year = self.year
        self._reset_step_caches()
        self.flows.start_step()
        self._infrastructure()
        self._open_accounts(self._growth_integrals())
        self._frontier_log2_software = max([lab.log2_software for lab in self.labs])
        if self._rnd_noise > 0:
            self._rnd_shocks = self._next_shocks()
        self._chip_market(self._decide())
        self._energy_market()
        self._train()
        self._revenue()
        self.t = self.steps * self.dt
        self.recorder.record_step()

    def _next_shocks(self) -> list[float]:
        """This step's standard normal R&D shock per lab, from ``self.rng``.

        Drawn a horizon (``n_steps`` rows) at a time: numpy draws an array's
        normals one after another from the same stream, so the shocks, and the
        generator's state once the horizon is run, are those of drawing each
        step's row in its step.
        """
        if not self._shock_rows:
            block = self.rng.standard_normal((self.scenario.n_steps, len(self.labs)))
            self._shock_rows = block.tolist()[::-1]
        return self._shock_rows.pop()

    def _reset_step_caches(self) -> None:
        """Forget last step's best offers; price this step's offers."""
        self._offer_cache = {}
        self._offers_on_terms = {
            terms: self._priced_offers(supplier, edge)
            for terms, (supplier, edge) in self._chip_terms.items()
        }

    @property
    def network(self):
        """The supply network (``networkx.DiGraph``), its edges' flows brought up to date.

        The model books trades in :attr:`flows` and writes them into the
        edge attributes only when the graph is read (:meth:`EdgeFlows.sync`).
        """
        self.flows.sync()
        return self._network

    @property
    def year(self) -> float:
        """Calendar year of the current model time."""
        return self.scenario.start_year + self.t

    def _infrastructure(self) -> None:
        multiplier, t, dt = self._buildout, self.t, self.dt
        for supplier in self.energy_suppliers:
            supplier.advance_unchecked(t, dt, multiplier)
        lifetime = self._lifetime
        for lab in self.labs:  # = lab.renew_fleet(t, lifetime), inlined (a hot path)
            if lab.pending:  # GPUs delivered last step
                lab.fleet.turn_over(lab.pending, t, lifetime)
                lab.pending = []
            else:
                lab.fleet.retire(t, lifetime)

    def _pay(self, lab: Lab, payee: int, amount: float, category: int) -> None:
        """Book a payment by ``lab`` to the account coded ``payee`` (zero amounts book nothing).

        ``payee`` and ``category`` are ledger codes (:meth:`sim.ledger.Ledger.book`).
        """
        if 0.0 < amount < _INF:  # = self._book(...), inlined: a hot path
            self._journal.append(pack_row(self.steps, lab.ledger_code, payee, category, amount))
            lab.cash -= amount
        elif amount != 0.0:
            self._book(self.steps, lab.ledger_code, payee, amount, category)  # raises

    def _receive(self, lab: Lab, payer: int, amount: float, category: int) -> None:
        """Book a payment to ``lab`` from the account coded ``payer`` (zero amounts: nothing)."""
        if 0.0 < amount < _INF:  # = self._book(...), inlined: a hot path
            self._journal.append(pack_row(self.steps, payer, lab.ledger_code, category, amount))
            lab.cash += amount
        elif amount != 0.0:
            self._book(self.steps, payer, lab.ledger_code, amount, category)  # raises

    def _growth_integral(self, growth: float) -> float:
        """``integral_t^(t+dt) (1 + g)^tau d tau``: a flow growing at ``g``/yr over this step."""
        log_growth = math.log1p(growth)
        if log_growth == 0:
            return self.dt
        return math.exp(log_growth * self.t) * math.expm1(log_growth * self.dt) / log_growth

    def _growth_integrals(self) -> dict[float, float]:
        """This step's growth integral for every distinct funding growth rate of the labs."""
        return {g: self._growth_integral(g) for g in {lab.funding_growth for lab in self.labs}}

    def _open_accounts(self, growth_integrals: dict[float, float]) -> None:
        """Per lab: the energy price it expects, a fresh step account, and its funding.

        One loop for the three (a hot path): ``expected_energy_price`` and
        ``_receive`` are inlined, each marked.
        """
        steps, journal, dt = self.steps, self._journal, self.dt
        cheapest, availability = self.cheapest_energy_price, self._capital_availability
        for lab in self.labs:
            last = lab.account  # = self.expected_energy_price(lab), from last step's account
            mwh = last.power_mw * HOURS_PER_YEAR * dt
            if mwh <= 0:
                lab.expected_energy_price = cheapest[lab.region]
            else:
                lab.expected_energy_price = (last.energy + last.carbon_tax) / mwh
            account = lab.account = StepAccount()
            integral = growth_integrals[lab.funding_growth]
            amount = account.funding = lab.funding_per_year * integral * availability
            if 0.0 < amount < _INF:  # = self._receive(lab, _INVESTORS, amount, _FUNDING)
                journal.append(pack_row(steps, _INVESTORS, lab.ledger_code, _FUNDING, amount))
                lab.cash += amount
            elif amount != 0.0:
                self._receive(lab, _INVESTORS, amount, _FUNDING)  # raises

    # ---------------------------------------------------------------- decide

    def _worst_energy_prices(self) -> dict[str, float]:
        """Per region, the highest price per MWh any supplier can charge, carbon tax included."""
        tax = self.scenario.policy.carbon_tax
        worst: dict[str, float] = {}
        for s in self.energy_suppliers:
            price = s.base_price * (1.0 + s.scarcity_slope) + tax * s.carbon_intensity
            worst[s.region] = max(worst.get(s.region, 0.0), price)
        return worst

    def _decide(self) -> list[float]:
        """Each lab reserves power, buys a project, splits the rest and funds R&D.

        Returns the capex budget per lab (by index; 0 while the idle-fleet rule
        blocks purchases) and sets ``power_requested_mw`` on each step account.
        One loop over the labs with the step's constants read once (a hot
        path); R&D funding (pay, subsidy, then this step's software
        gamma from ``rd_gamma``, the noise and ``spillover_gamma``, docs/model.md
        section 3.9) is the marked block.
        """
        dt, mwh_per_mw, watts_factor = self.dt, self._mwh_per_mw, self.watts_factor
        worst_prices, n_projects, uses_marginals = (
            self.worst_energy_price,
            self._n_projects,
            self._uses_marginals,
        )
        steps, journal, subsidy_rate = self.steps, self._journal, self._rd_subsidy_rate
        base_gamma, gamma_max = self._rnd_base_gamma, self._rnd_gamma_max
        half_saturation, noise, drift = (
            self._rnd_half_saturation,
            self._rnd_noise,
            self._rnd_noise_drift,
        )
        frontier, spillover = self._frontier_log2_software, self._spillover_strength
        capex_budgets = []
        for lab in self.labs:
            account, cash = lab.account, lab.cash
            # a if a < b else b is min(a, b) exactly, without a builtin call (hot path)
            wanted = account.funding + lab.spend_rate * dt * cash
            spendable = wanted if wanted < cash else cash
            worst = worst_prices[lab.region]
            need_mw = lab.fleet.watts * watts_factor / 1e6  # MW to run the whole fleet
            bill = need_mw * mwh_per_mw * worst
            energy_budget = bill if bill < spendable else spendable
            account.power_requested_mw = energy_budget / (mwh_per_mw * worst)
            discretionary = spendable - energy_budget
            if lab.buys_projects and len(lab.projects_done) < n_projects:
                discretionary -= self._buy_project(lab, discretionary)
            marginals = self._marginals(lab) if uses_marginals[lab.index] else None
            capex_share, rnd_share = lab.strategy.split(marginals)
            exogenous = lab.exogenous_gamma
            budget = 0.0 if exogenous is not None else rnd_share * discretionary
            # --- R&D: pay (plus the government's match) and set this step's software gamma
            if 0.0 < budget < _INF:  # = self._pay(lab, _WORKFORCE, budget, _RND), inlined
                journal.append(pack_row(steps, lab.ledger_code, _WORKFORCE, _RND, budget))
                lab.cash -= budget
            elif budget != 0.0:
                self._pay(lab, _WORKFORCE, budget, _RND)  # raises
            subsidy = budget * subsidy_rate
            if subsidy != 0.0:
                self._book(steps, _GOVERNMENT, _WORKFORCE, subsidy, _RD_SUBSIDY)
            account.rnd = budget
            if exogenous is not None:
                lab.gamma_software = exogenous
            else:
                effective = lab.rnd_rate = (budget + subsidy) / dt
                # = rd_gamma(effective, gamma_max, half_saturation, base_gamma), inlined
                gamma = base_gamma + gamma_max * effective / (effective + half_saturation)
                if noise > 0:
                    gamma *= math.exp(noise * self._rnd_shocks[lab.index] - drift)
                # = spillover_gamma(lab.log2_software, frontier, strength), inlined
                gap = frontier - lab.log2_software
                lab.gamma_software = gamma + spillover * (gap if gap > 0.0 else 0.0)
            # --- end of R&D
            # No GPU purchases while more than idle_tolerance of the fleet sat unpowered.
            wants = (
                lab.last_fleet_units <= 0
                or steps <= 1
                or lab.last_running_units >= (1.0 - lab.idle_tolerance) * lab.last_fleet_units
            )
            capex_budgets.append(capex_share * discretionary if wants else 0.0)
        return capex_budgets

    def _buy_project(self, lab: Lab, discretionary: float) -> float:
        """Buy the best remaining project if it fits the strategy's project share."""
        share = lab.strategy.project_share
        if not lab.buys_projects or share <= 0 or discretionary <= 0:
            return 0.0
        if len(lab.projects_done) == self._n_projects:
            return 0.0
        gains, cheapest = self._project_gains(lab)
        units = lab.fleet.units
        budget = share * discretionary
        # Every candidate costs at least the cheapest per GPU times the units (x * units is
        # monotonic): when that is over budget, so is the best, and nothing is bought.
        if cheapest * units > budget:
            return 0.0
        best, best_value = None, 0.0
        for project, gain in gains:
            cost = project.cost_per_gpu * units
            value = gain / cost if cost > 0 else math.inf
            if gain > 0 and value > best_value:
                best, best_value = (project, gain, cost), value
        if best is None or best[2] > budget:
            return 0.0
        project, gain, cost = best
        self._pay(lab, _WORKFORCE, cost, _PROJECTS)
        lab.account.projects = cost
        lab.projects_done.append(project.name)
        lab.recovered_share += project.waste_share * self.scenario.projects.recoverable
        lab.log2_software += gain
        return cost

    def _project_gains(self, lab: Lab) -> tuple[list[tuple[ProjectSpec, float]], float]:
        """The projects ``lab`` has not done, with the doublings each would add now.

        Also returns the lowest cost per GPU among those that would add any
        (``inf`` if none would). Gains depend only on what the lab has
        recovered so far, so they are recomputed only after it buys a project,
        not every step.
        """
        key = (lab.recovered_share, len(lab.projects_done))
        cached = self._project_gain_cache.get(lab.index)
        if cached is not None and cached[0] == key:
            return cached[1]
        projects = self.scenario.projects
        gains = [
            (
                project,
                project_log2_gain(
                    projects.waste_fraction,
                    lab.recovered_share,
                    project.waste_share * projects.recoverable,
                ),
            )
            for project in projects.catalogue
            if project.name not in lab.projects_done
        ]
        cheapest = min([p.cost_per_gpu for p, gain in gains if gain > 0], default=math.inf)
        self._project_gain_cache[lab.index] = (key, (gains, cheapest))
        return gains, cheapest

    def _marginals(self, lab: Lab) -> Marginals:
        """Loss reduction per dollar over one year: more GPUs now vs more R&D now."""
        hw = self.scenario.hardware
        slope = self.kappa * (self.loss_of(lab.compute) - self.E) / lab.compute
        offer = self._best_offer(lab)
        capex = 0.0
        if offer is not None:
            per_chip_year = offer[1].flops * hw.mfu * SECONDS_PER_YEAR * lab.software_multiplier()
            capex = slope * per_chip_year / offer[4]
        rnd = self.scenario.rnd
        rate = lab.one_year_compute(hw.mfu)
        dgamma = rd_gamma_slope(lab.rnd_rate, rnd.gamma_max, rnd.half_saturation)
        rnd_gain = slope * rate * math.log(2.0) * dgamma / 2.0
        return Marginals(capex=capex, rnd=rnd_gain)

    # ----------------------------------------------------------- chip market

    def available_chips(self, supplier: ChipSupplier, max_tpp: float) -> list[ChipModel]:
        """Chips on sale from ``supplier`` at the start of this step under ``max_tpp`` (cached)."""
        self._released_offers(supplier, max_tpp)
        return self._released_cache[supplier.unique_id, max_tpp].chips

    def best_value_chip(self, supplier: ChipSupplier) -> ChipModel | None:
        """The uncontrolled chip on sale from ``supplier`` with the most FLOP/s per list USD.

        The first of equals in roadmap order; None before the first release.
        Found once per set of released chips (cached with them).
        """
        self._released_offers(supplier, math.inf)
        return self._released_cache[supplier.unique_id, math.inf].best_value

    def _released_offers(
        self, supplier: ChipSupplier, max_tpp: float
    ) -> list[tuple[ChipModel, float]]:
        """``(chip, lifetime MWh)`` on sale from ``supplier`` this step under ``max_tpp`` (cached).

        Same chips as :func:`sim.chips.available` at the step's year; the
        derated variants and their lifetime energy are built once per run.
        The list is kept while the year stays between two release years of
        the catalogue, where the filter ``chip.year <= year`` cannot change.
        """
        key = (supplier.unique_id, max_tpp)
        year = self.step_year
        released = self._released_cache.get(key)
        if released is None or not released.since <= year < released.until:
            catalogue = self._catalogue_of(supplier, max_tpp)
            offers = [entry for entry in catalogue if entry[0].year <= year]
            years = [entry[0].year for entry in catalogue]
            released = self._released_cache[key] = _Released(
                offers=offers,
                chips=[chip for chip, _ in offers],
                since=max([y for y in years if y <= year], default=-math.inf),
                until=min([y for y in years if y > year], default=math.inf),
                best_value=max(
                    (chip for chip, _ in offers), key=lambda c: c.flops_per_dollar, default=None
                ),
            )
        return released.offers

    def _catalogue_of(
        self, supplier: ChipSupplier, max_tpp: float
    ) -> list[tuple[ChipModel, float]]:
        """The supplier's whole roadmap under ``max_tpp``: ``(derated chip, lifetime MWh)``."""
        key = (supplier.unique_id, max_tpp)
        catalogue = self._catalogue.get(key)
        if catalogue is None:
            newest = max(chip.year for chip in supplier.roadmap)
            chips = available(supplier.roadmap, newest, max_tpp)
            catalogue = [(chip, self._lifetime_mwh(chip)) for chip in chips]
            self._catalogue[key] = catalogue
        return catalogue

    def _cheapest_energy_prices(self) -> dict[str, float]:
        """Per region, the lowest price per MWh on offer at the start, carbon tax included."""
        tax = self.scenario.policy.carbon_tax
        cheapest: dict[str, float] = {}
        for s in self.energy_suppliers:
            price = s.base_price + tax * s.carbon_intensity
            cheapest[s.region] = min(cheapest.get(s.region, math.inf), price)
        return cheapest

    def expected_energy_price(self, lab: Lab) -> float:
        """USD per MWh the lab expects to pay: what it paid last step, carbon tax included.

        Before its first purchase, the cheapest price on offer in its region.
        """
        mwh = lab.account.power_mw * HOURS_PER_YEAR * self.dt
        if mwh <= 0:
            return self.cheapest_energy_price[lab.region]
        return (lab.account.energy + lab.account.carbon_tax) / mwh

    def ownership_cost(self, lab: Lab, chip: ChipModel, unit_price: float) -> float:
        """Price of a GPU plus the power it draws over its lifetime at the expected price.

        Labs size GPU orders by this total cost of ownership, so dearer power
        (a carbon tax, scarcity) buys fewer and more energy-efficient GPUs.
        """
        return unit_price + self._lifetime_mwh(chip) * lab.expected_energy_price

    def _lifetime_mwh(self, chip: ChipModel) -> float:
        """MWh one GPU draws over its lifetime, facility overheads included."""
        hw = self.scenario.hardware
        return chip.watts * self.watts_factor / 1e6 * HOURS_PER_YEAR * hw.lifetime_years

    def _best_offer(self, lab: Lab):
        """The offer with the most FLOP per dollar of ownership cost, or None.

        Returns ``(supplier, chip, unit price incl. tariff, tariff, ownership cost)``.
        Only allowed network edges count. Prices move only when markets clear,
        so this is cached per step.
        """
        if lab.unique_id in self._offer_cache:
            return self._offer_cache[lab.unique_id]
        best, best_value = None, 0.0
        energy_price = lab.expected_energy_price
        for supplier, edge, terms in self._chip_routes[lab.index]:
            for chip, flops, price, lifetime_mwh in self._offers_on_terms[terms]:
                cost = price + lifetime_mwh * energy_price  # = self.ownership_cost(...)
                value = flops / cost
                if value > best_value:
                    best_value = value
                    best = (supplier, chip, price, edge["tariff"], cost)
        self._offer_cache[lab.unique_id] = best
        return best

    def _priced_offers(self, supplier: ChipSupplier, edge: dict) -> list[tuple]:
        """``(chip, FLOP/s, unit price incl. tariff, lifetime MWh)`` on one route this step.

        Computed once per step for every distinct set of terms and shared by the
        labs buying on them (prices move only when the market clears, after
        every lab has chosen).
        """
        markup = supplier.price_index * (1.0 + edge["tariff"])
        return [
            (chip, chip.flops, chip.price * markup, lifetime_mwh)
            for chip, lifetime_mwh in self._competitive_offers(supplier, edge["max_tpp"])
        ]

    def _competitive_offers(
        self, supplier: ChipSupplier, max_tpp: float
    ) -> list[tuple[ChipModel, float]]:
        """The released offers that can be some lab's best offer, in catalogue order (cached).

        A lab picks the most FLOP/s per ``price x markup + MWh x energy price``
        with ``markup > 0`` and an energy price ``>= 0`` (prices and taxes are
        non-negative). An offer beaten by another by more than
        ``_DOMINANCE_MARGIN`` in both FLOP/s per list USD and FLOP/s per MWh
        is beaten by at least that margin at every markup and energy price,
        far beyond rounding, so it is never the strict maximum
        :meth:`_best_offer` keeps and dropping it leaves the choice unchanged.
        The released set only grows, so its size identifies it.
        """
        released = self._released_offers(supplier, max_tpp)
        key = (supplier.unique_id, max_tpp, len(released))
        offers = self._competitive_cache.get(key)
        if offers is None:
            offers = self._competitive_cache[key] = _undominated(released)
        return offers

    def _chip_market(self, budgets: list[float]) -> None:
        """Each lab orders its best offer with its capex budget; suppliers ration and bill.

        Orders go to each supplier as parallel lists (:meth:`ChipSupplier.fill_unchecked`,
        the hot path of :meth:`ChipSupplier.clear`): labs, chips, units and bids.
        """
        orders: dict[int, _Orders] = {s.unique_id: _Orders() for s in self.chip_suppliers}
        for lab in self.labs:
            budget = budgets[lab.index]
            if budget <= 0:
                continue
            offer = self._best_offer(lab)
            if offer is None:
                continue
            supplier, chip, _, _, ownership = offer
            units = budget / ownership
            order = orders[supplier.unique_id]
            order.labs.append(lab)
            order.chips.append(chip)
            order.units.append(units)
            order.bids.append(units * (chip.price * supplier.price_index))  # unit_price(chip)
            order.list_prices.append(chip.price)
            lab.account.chips_ordered += units
        t, dt = self.t, self.dt
        for supplier in self.chip_suppliers:
            order = orders[supplier.unique_id]
            filled, index = supplier.fill_unchecked(
                order.units, order.bids, order.list_prices, t, dt
            )
            self._settle_chips(supplier, order, filled, index)

    def _settle_chips(
        self, supplier: ChipSupplier, order: _Orders, filled: list[float], index: float
    ) -> None:
        """Bill each ordering lab for its delivered GPUs (plus tariff); record the trades.

        ``filled`` are the units delivered per order and ``index`` the price
        index quoted this step: a GPU costs ``chip.price * index``.
        """
        steps, journal, t, seller = self.steps, self._journal, self.t, supplier.ledger_code
        flows = self.flows
        quantity, value_of = flows.quantity, flows.value
        cum_quantity, cum_value = flows.cum_quantity, flows.cum_value
        for lab, chip, units in zip(order.labs, order.chips, filled, strict=True):
            if units <= 0:
                continue
            edge, number = self._chip_edges[supplier.unique_id, lab.unique_id]
            value = units * (chip.price * index)
            account = lab.account
            if 0.0 < value < _INF:  # = self._pay(lab, seller, value, _CHIPS), inlined
                journal.append(pack_row(steps, lab.ledger_code, seller, _CHIPS, value))
                lab.cash -= value
            elif value != 0.0:
                self._pay(lab, seller, value, _CHIPS)  # raises
            account.capex += value
            tariff_rate = edge["tariff"]
            if tariff_rate:
                tariff = value * tariff_rate
                self._pay(lab, _GOVERNMENT, tariff, _TARIFFS)
                account.tariffs += tariff
            account.chips_received += units
            lab.pending.append(Cohort(chip, units, t))  # installed at the next step
            # = flows.add(number, units, value), inlined (a hot path); a lab orders from one
            # supplier a step, so its edge's step flows are 0.0 until now and 0.0 + x == x
            quantity[number] = units
            value_of[number] = value
            cum_quantity[number] += units
            cum_value[number] += value

    # --------------------------------------------------------- energy market

    def _region_caps(self) -> dict[int, float | None]:
        """Each energy supplier's share of its region's power cap, by capacity."""
        caps = self.scenario.policy.power_caps
        totals: dict[str, float] = {}
        for s in self.energy_suppliers:
            totals[s.region] = totals.get(s.region, 0.0) + s.capacity_mw
        return {
            s.unique_id: (
                caps[s.region] * s.capacity_mw / totals[s.region] if s.region in caps else None
            )
            for s in self.energy_suppliers
        }

    def _energy_market(self) -> None:
        """Merit order: labs fill from the cheapest supplier they have an edge to (tax included)."""
        caps = self._region_caps() if self.scenario.policy.power_caps else {}
        remaining = [lab.account.power_requested_mw for lab in self.labs]
        t, dt = self.t, self.dt
        for supplier, buyers in self._merit:
            active = [buyer for buyer in buyers if remaining[buyer[1]] > 0]
            requests = [remaining[i] for _, i, _ in active]
            delivered, price = supplier.deliver(requests, caps.get(supplier.unique_id), t, dt)
            self._settle_energy(supplier, active, delivered, price, remaining)

    def _settle_energy(
        self,
        supplier: EnergySupplier,
        buyers: list[tuple[Lab, int, int]],
        delivered: list[float],
        price: float,
        remaining: list[float],
    ) -> None:
        """Bill each buyer for its delivered power (plus carbon tax); record the trades.

        ``buyers`` are ``(lab, lab index, edge number)``, ``delivered`` their MW;
        each buyer's MW still wanted, ``remaining[lab index]``, goes down by its MW.
        """
        steps, journal, flows = self.steps, self._journal, self.flows
        quantity, value = flows.quantity, flows.value
        cum_quantity, cum_value = flows.cum_quantity, flows.cum_value
        hours, dt, seller = HOURS_PER_YEAR, self.dt, supplier.ledger_code
        tax_rate = self._carbon_tax
        for (lab, i, edge), mw in zip(buyers, delivered, strict=True):
            if mw <= 0:
                continue  # nothing delivered: nothing billed, remaining[i] - 0.0 unchanged
            remaining[i] -= mw
            mwh = mw * hours * dt
            cost = mwh * price
            account = lab.account
            if 0.0 < cost < _INF:  # = self._pay(lab, seller, cost, _ENERGY), inlined
                journal.append(pack_row(steps, lab.ledger_code, seller, _ENERGY, cost))
                lab.cash -= cost
            elif cost != 0.0:
                self._pay(lab, seller, cost, _ENERGY)  # raises
            account.energy += cost
            if tax_rate:
                tax = mwh * supplier.carbon_intensity * tax_rate
                self._pay(lab, _GOVERNMENT, tax, _CARBON_TAX)
                account.carbon_tax += tax
            account.power_mw += mw
            # = flows.add(edge, mwh, cost), inlined (a hot path); a supplier serves each of
            # its buyers once a step, so the edge's step flows are 0.0 until now (0.0 + x == x)
            quantity[edge] = mwh
            value[edge] = cost
            cum_quantity[edge] += mwh
            cum_value[edge] += cost

    # ----------------------------------------------------------------- train

    def _train(self) -> None:
        mfu, threshold = self._mfu, self.scenario.policy.compute_threshold
        ceiling = threshold.flop if threshold.flop is not None and threshold.cap else math.inf
        watts_factor, dt = self.watts_factor, self.dt
        for lab in self.labs:
            account, fleet = lab.account, lab.fleet
            # = lab.running(account.power_mw, watts_factor), without the extra call; a fully
            # powered fleet (fleet.running's first case) needs no call at all
            power_w = account.power_mw * 1e6 / watts_factor
            if power_w >= fleet.watts:
                units, flops = fleet.units, fleet.flops
            else:
                units, flops = fleet.running(power_w)
            account.running_units, account.running_flops = units, flops
            lab.last_running_units, lab.last_fleet_units = units, fleet.units
            # = lab.train(flops, mfu, dt, ceiling), inlined (a hot path)
            headroom = ceiling - lab.compute
            headroom = 0.0 if headroom < 0.0 else headroom
            # = step_efficiency_integral(dt, lab.gamma_software), inlined (a hot path)
            x = lab.gamma_software * LN2 * dt
            if -SERIES_BELOW < x < SERIES_BELOW:  # abs(x) < SERIES_BELOW, no call
                integral = dt * (1.0 + x / 2.0)
            else:
                integral = dt * math.expm1(x) / x
            added = flops * mfu * SECONDS_PER_YEAR * 2.0**lab.log2_software * integral
            lab.compute += headroom if headroom < added else added
            lab.log2_software += lab.gamma_software * dt
            if threshold.flop is not None:
                self._check_threshold(lab)

    def _check_threshold(self, lab: Lab) -> None:
        """Charge the one-off compliance cost when a lab first crosses the compute threshold."""
        threshold = self.scenario.policy.compute_threshold
        if threshold.flop is None or lab.crossed_threshold or lab.compute < threshold.flop:
            return
        lab.crossed_threshold = True
        cost = min(threshold.compliance_cost, lab.cash)
        self._pay(lab, _GOVERNMENT, cost, _COMPLIANCE)
        lab.account.compliance = cost

    # --------------------------------------------------------------- revenue

    def market_size_in_step(self) -> float:
        """AI-services revenue of the step: ``M0 integral (1+g)^tau`` over the step."""
        market = self.scenario.market
        return market.initial_size * self._growth_integral(market.growth)

    def shares(self) -> np.ndarray:
        """Market shares by logit in ``-L / T``."""
        losses = np.array([self.loss_of(lab.compute) for lab in self.labs])
        return logit_shares(losses, self.scenario.market.temperature)

    def _revenue(self) -> None:
        """Share out the step's AI-services market by the logit of the labs' losses."""
        size = self.last_market_size = self.market_size_in_step()
        E, K, kappa = self.E, self.K, self.kappa
        # = [self.loss_of(lab.compute) ...], inlined (a hot path)
        losses = self.last_losses = [E + K * lab.compute**-kappa for lab in self.labs]
        shares = self.last_share_list = logit_shares_unchecked(
            losses, self.scenario.market.temperature
        )
        kept = self.scenario.market.training_share
        steps, journal = self.steps, self._journal
        for lab, share in zip(self.labs, shares, strict=True):
            revenue = lab.account.revenue = share * size * kept
            if 0.0 < revenue < _INF:  # = self._receive(lab, _CUSTOMERS, revenue, _REVENUE), inlined
                journal.append(pack_row(steps, _CUSTOMERS, lab.ledger_code, _REVENUE, revenue))
                lab.cash += revenue
            elif revenue != 0.0:
                self._receive(lab, _CUSTOMERS, revenue, _REVENUE)  # raises

    @property
    def last_shares(self) -> np.ndarray:
        """Market shares of the last step, by lab (``last_share_list`` as an array)."""
        return np.array(self.last_share_list)

    # ------------------------------------------------------------- run/query

    def run(self) -> RaceModel:
        """Run every step of the scenario's horizon and return self.

        Calls the class's own ``step`` and counts ``steps`` as Mesa 3.3's
        step wrapper does, without the wrapper's per-step debug-log message
        (an f-string built whether or not debug logging is on).
        """
        step = RaceModel.step.__get__(self)
        for _ in range(self.scenario.n_steps):
            self.steps += 1  # what mesa.Model._wrapped_step does before calling step
            step()
        return self

    def compute_hhi(self) -> float:
        """Concentration of cumulative compute across labs."""
        return hhi(np.array([lab.compute for lab in self.labs]))


class _Orders:
    """One supplier's orders of a step, as parallel lists (one entry per ordering lab).

    A plain class: a dataclass's ``default_factory`` fields call ``list()``
    through a generated ``__init__``, twice per step for every supplier.
    """

    __slots__ = ("labs", "chips", "units", "bids", "list_prices")

    def __init__(self) -> None:
        self.labs: list[Lab] = []
        self.chips: list[ChipModel] = []
        self.units: list[float] = []
        self.bids: list[float] = []
        self.list_prices: list[float] = []


@dataclass(slots=True)
class _Released:
    """A supplier's released offers, valid for step years in ``[since, until)``."""

    offers: list[tuple[ChipModel, float]]
    chips: list[ChipModel]
    since: float
    until: float
    best_value: ChipModel | None  # most FLOP/s per list USD (first on ties), None if none


_DOMINANCE_MARGIN = 1e-9
"""Relative margin by which an offer must lose on both counts to be dropped."""


def _undominated(offers: list[tuple[ChipModel, float]]) -> list[tuple[ChipModel, float]]:
    """``(chip, lifetime MWh)`` offers not beaten by another on FLOP/s per USD and per MWh.

    "Beaten" means by more than ``_DOMINANCE_MARGIN`` on both ratios (see
    :meth:`RaceModel._competitive_offers`); order is kept.
    """
    ratios = [(chip.flops / chip.price, chip.flops / mwh) for chip, mwh in offers]
    keep = 1.0 + _DOMINANCE_MARGIN
    return [
        offer
        for offer, (per_usd, per_mwh) in zip(offers, ratios, strict=True)
        if not any(
            other_usd > per_usd * keep and other_mwh > per_mwh * keep
            for other_usd, other_mwh in ratios
        )
    ]


def release(model: mesa.Model) -> None:
    """Free a finished model: Mesa 3.3.1 keeps every model alive in ``Agent._ids``."""
    mesa.Agent._ids.pop(model, None)
