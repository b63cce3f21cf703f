"""Hot-path shortcuts of the model give the same answers as the plain computation."""

from __future__ import annotations

import math

import mesa
import numpy as np
import pytest

from sim.markets import _largest_sum, _sums_fit
from sim.model import RaceModel, _undominated, release
from sim.rnd import rd_gamma, spillover_gamma
from tests.builders import build, small_economy_dict


def _brute_force_best(model: RaceModel, lab, energy_price: float):
    """The best offer over every released chip, as before offers were pruned."""
    best, best_value = None, 0.0
    for supplier, edge, _ in model._chip_routes[lab.index]:
        markup = supplier.quoted_index * (1.0 + edge["tariff"])  # the step's prices
        for chip, lifetime_mwh in model._released_offers(supplier, edge["max_tpp"]):
            price = chip.price * markup
            cost = price + lifetime_mwh * energy_price
            if chip.flops / cost > best_value:
                best_value = chip.flops / cost
                best = (supplier, chip, price, edge["tariff"], cost)
    return best


def test_pruned_offers_pick_the_same_chip_at_any_energy_price():
    scenario = build(
        small_economy_dict(),
        policy__export_controls={"restricted_regions": ["cn"], "max_tpp": 2000.0},
    )
    model = RaceModel(scenario)
    try:
        for _ in range(scenario.n_steps):
            model.step()
            for lab in model.labs:
                for price in (0.0, 1e-3, 50.0, 400.0, 1e4, 1e7):
                    lab.expected_energy_price = price
                    model._offer_cache = {}
                    assert model._best_offer(lab) == _brute_force_best(model, lab, price)
    finally:
        release(model)


def test_undominated_keeps_order_and_ties():
    class Chip:
        def __init__(self, flops: float, price: float):
            self.flops, self.price = flops, price

    a, b, c, d = Chip(10.0, 1.0), Chip(5.0, 1.0), Chip(20.0, 4.0), Chip(10.0, 1.0)
    offers = [(a, 1.0), (b, 1.0), (c, 1.0), (d, 1.0)]
    # b loses to a on both ratios; c wins per MWh and loses per USD; d ties a.
    assert _undominated(offers) == [(a, 1.0), (c, 1.0), (d, 1.0)]
    assert _undominated([]) == []


def test_sums_fit_agrees_with_computing_every_sum():
    rng = np.random.default_rng(7)
    for _ in range(3000):
        n = int(rng.integers(0, 20))
        values = (rng.random(n) * 10.0 ** rng.integers(-3, 9, n)).tolist()
        total = math.fsum(values)
        for capacity in (
            total,
            math.nextafter(total, 0.0),
            math.nextafter(total, math.inf),
            total * (1 + 1e-15),
            total * (1 - 1e-15),
            total * 2.0,
            0.0,
            math.inf,
        ):
            assert _sums_fit(values, capacity) == (_largest_sum(values) <= capacity)


def test_inlined_rnd_gamma_equals_the_documented_forms():
    """The model inlines rd_gamma and spillover_gamma; both must give the same gamma."""
    scenario = build(
        small_economy_dict(),
        rnd__noise=0.0,
        policy__spillover_strength=0.3,
        policy__rd_subsidy_rate=0.5,
    )
    rnd = scenario.rnd
    model = RaceModel(scenario)
    chip_market, checked = model._chip_market, []

    def check_then_clear(budgets):  # runs right after every lab has decided
        for lab in model.labs:
            if lab.exogenous_gamma is None:
                expected = rd_gamma(
                    lab.rnd_rate, rnd.gamma_max, rnd.half_saturation, rnd.base_gamma
                ) + spillover_gamma(lab.log2_software, model._frontier_log2_software, 0.3)
                assert lab.gamma_software == expected, lab.name
                checked.append(lab.gamma_software)
        chip_market(budgets)

    model._chip_market = check_then_clear
    try:
        model.run()
    finally:
        release(model)
    assert len(checked) >= scenario.n_steps and max(checked) > min(checked) > 0


def test_fleet_turn_over_equals_installs_then_retire():
    """turn_over recounts once; the fleet must end as install-each-then-retire leaves it."""
    from sim.chips import ChipModel
    from sim.fleet import Cohort, Fleet

    rng = np.random.default_rng(7)
    chips = [ChipModel(f"c{i}", 2020 + i, 1e15 * (i + 1), 300.0 + 100 * i, 1e4) for i in range(4)]
    step_by_step, at_once = Fleet(), Fleet()
    for step in range(60):
        t = step / 12
        delivered = [
            Cohort(chips[int(rng.integers(4))], float(rng.uniform(0, 50)), t)
            for _ in range(int(rng.integers(0, 3)))
        ]
        for cohort in delivered:
            step_by_step.install(cohort)
        retired = step_by_step.retire(t, 1.5)
        assert at_once.turn_over(delivered, t, 1.5) == retired
        for name in ("units", "flops", "watts"):
            assert getattr(at_once, name) == getattr(step_by_step, name), (step, name)
        assert at_once.by_chip == step_by_step.by_chip
        assert at_once.running(1e5) == step_by_step.running(1e5)
    assert step_by_step.units > 0 and len(step_by_step.cohorts) < 60


def test_cheapest_project_shortcut_buys_the_same_projects(monkeypatch):
    """Skipping the project search when the cheapest project is over budget changes nothing."""
    scenario = build(small_economy_dict())
    shortcut = RaceModel(scenario).run()
    tables = shortcut.recorder.tables()
    bought = [list(lab.projects_done) for lab in shortcut.labs]
    release(shortcut)
    plain_gains = RaceModel._project_gains

    def no_shortcut(self, lab):
        gains, _ = plain_gains(self, lab)
        return gains, 0.0  # never over budget: always search

    monkeypatch.setattr(RaceModel, "_project_gains", no_shortcut)
    plain = RaceModel(scenario).run()
    try:
        assert [list(lab.projects_done) for lab in plain.labs] == bought
        assert any(bought), "no lab bought a project: the test would not notice a wrong skip"
        for name, table in plain.recorder.tables().items():
            assert table.equals(tables[name]), name
    finally:
        release(plain)


def test_rnd_shocks_drawn_a_horizon_at_a_time_are_the_per_step_draws():
    """The block of shocks is the stream that drawing one row per step would give."""
    scenario = build(small_economy_dict(), rnd__noise=0.3)
    model = RaceModel(scenario)
    reference = mesa.Model(rng=model.seed_used).rng  # the generator the model started with
    try:
        for _ in range(scenario.n_steps + 2):  # past the horizon: a second block
            model.step()
            expected = reference.standard_normal(len(model.labs)).tolist()
            assert model._rnd_shocks == expected
    finally:
        release(model)


def _negative_funding(model):
    model.labs[0].funding_per_year = -1.0


def _nan_funding(model):
    model.labs[0].funding_per_year = math.nan


def _negative_rnd(model):
    model.labs[0].strategy.split = lambda marginals: (0.0, -1.0)


def _negative_energy_price(model):
    for supplier in model.energy_suppliers:
        supplier.base_price = -50.0


def _negative_revenue(model):
    model.market_size_in_step = lambda: -1.0


def _negative_chip_bill(model):
    for supplier in model.chip_suppliers:
        fill = supplier.fill_unchecked

        def negative_index(*args, fill=fill):
            units, index = fill(*args)
            return units, -index

        supplier.fill_unchecked = negative_index


@pytest.mark.parametrize(
    "corrupt",
    [
        _negative_funding,
        _nan_funding,
        _negative_rnd,
        _negative_energy_price,
        _negative_revenue,
        _negative_chip_bill,
    ],
)
def test_inlined_bookings_refuse_bad_amounts_as_the_ledger_does(corrupt):
    """Each hot-path booking keeps the ledger's check: no negative or non-finite payment."""
    model = RaceModel(build(small_economy_dict()))
    try:
        corrupt(model)
        with pytest.raises(ValueError, match=r"transfer amount must be in \[0, inf\)"):
            for _ in range(3):
                model.step()
    finally:
        release(model)


def _train_through_lab_methods(self) -> None:
    """RaceModel._train as it read before inlining: lab.running and lab.train, per lab."""
    threshold = self.scenario.policy.compute_threshold
    ceiling = threshold.flop if threshold.flop is not None and threshold.cap else math.inf
    for lab in self.labs:
        account = lab.account
        units, flops = lab.running(account.power_mw, self.watts_factor)
        account.running_units, account.running_flops = units, flops
        lab.last_running_units, lab.last_fleet_units = units, lab.fleet.units
        lab.train(flops, self._mfu, self.dt, ceiling)
        if threshold.flop is not None:
            self._check_threshold(lab)


@pytest.mark.parametrize("cap", [False, True])
def test_inlined_training_equals_the_lab_methods(monkeypatch, cap):
    scenario = build(
        small_economy_dict(),
        policy__compute_threshold={"flop": 3e25, "cap": cap},
        policy__power_caps={"us": 200.0},  # some fleets run partly powered
    )
    inlined = RaceModel(scenario).run()
    expected = inlined.recorder.tables()
    release(inlined)
    monkeypatch.setattr(RaceModel, "_train", _train_through_lab_methods)
    plain = RaceModel(scenario).run()
    try:
        for name, table in plain.recorder.tables().items():
            assert table.equals(expected[name]), name
        powered = plain.recorder.tables()["labs"]
        assert (powered["running_units"] < powered["fleet_units"]).any()  # partial power seen
    finally:
        release(plain)


def test_run_equals_stepping_through_mesas_wrapper():
    """run() skips Mesa's step wrapper; it must count steps and record exactly as step() does."""
    scenario = build(small_economy_dict())
    stepped = RaceModel(scenario)
    for _ in range(scenario.n_steps):
        stepped.step()  # Mesa's wrapped step
    expected = stepped.recorder.tables()
    steps = stepped.steps
    release(stepped)
    ran = RaceModel(scenario).run()
    try:
        assert ran.steps == steps == scenario.n_steps
        for name, table in ran.recorder.tables().items():
            assert table.equals(expected[name]), name
    finally:
        release(ran)


def test_fleet_chip_records_match_the_cohorts_they_hold():
    """The remembered last record and the per-cohort records never go stale.

    Chips recur as equal but distinct objects (the cache is by identity, the
    records by equality), and short lifetimes delete records and re-create them.
    """
    import copy

    from sim.chips import ChipModel
    from sim.fleet import Cohort, Fleet

    rng = np.random.default_rng(11)
    chips = [ChipModel(f"c{i}", 2020 + i, 1e15 * (i + 1), 300.0 + 100 * i, 1e4) for i in range(3)]
    fleet = Fleet()
    for step in range(200):
        t = step / 12
        chip = chips[int(rng.integers(3))]
        if rng.random() < 0.5:
            chip = copy.copy(chip)  # equal, not identical
        fleet.turn_over([Cohort(chip, float(rng.uniform(1, 10)), t)], t, 0.25)
        expected: dict = {}
        for cohort in fleet.cohorts:
            expected[cohort.chip] = expected.get(cohort.chip, 0.0) + cohort.units
        assert set(fleet.by_chip) == set(expected), step
        for held, units in fleet.by_chip.items():
            assert units == pytest.approx(expected[held], rel=1e-12), step
        assert fleet.units == pytest.approx(sum(expected.values()), rel=1e-12)


def _open_accounts_through_methods(self, growth_integrals) -> None:
    """RaceModel._open_accounts before inlining: expected_energy_price, then _receive."""
    from sim.labs import StepAccount
    from sim.ledger import CODES

    for lab in self.labs:
        lab.expected_energy_price = self.expected_energy_price(lab)
        lab.account = StepAccount()
        integral = growth_integrals[lab.funding_growth]
        amount = lab.funding_per_year * integral * self._capital_availability
        lab.account.funding = amount
        self._receive(lab, CODES["investors"], amount, CODES["funding"])


def _infrastructure_through_methods(self) -> None:
    """RaceModel._infrastructure before inlining: Lab.renew_fleet per lab."""
    for supplier in self.energy_suppliers:
        supplier.advance_unchecked(self.t, self.dt, self._buildout)
    for lab in self.labs:
        lab.renew_fleet(self.t, self._lifetime)


def test_inlined_accounts_and_fleet_renewal_equal_the_methods(monkeypatch):
    scenario = build(small_economy_dict())
    inlined = RaceModel(scenario).run()
    expected = inlined.recorder.tables()
    release(inlined)
    monkeypatch.setattr(RaceModel, "_open_accounts", _open_accounts_through_methods)
    monkeypatch.setattr(RaceModel, "_infrastructure", _infrastructure_through_methods)
    plain = RaceModel(scenario).run()
    try:
        for name, table in plain.recorder.tables().items():
            assert table.equals(expected[name]), name
    finally:
        release(plain)


def test_best_value_chip_is_the_best_released_chip_each_step():
    scenario = build(small_economy_dict())
    model = RaceModel(scenario)
    try:
        for _ in range(scenario.n_steps):
            model.step()
            for supplier in model.chip_suppliers:
                chips = model.available_chips(supplier, math.inf)
                best = max(chips, key=lambda c: c.flops / c.price) if chips else None
                assert model.best_value_chip(supplier) is best
    finally:
        release(model)
