"""Tests for sim.suppliers: chip and energy supplier agents."""

from __future__ import annotations

import math

import mesa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.chips import CALIBRATED_CHIPS, ChipModel
from sim.suppliers import HOURS_PER_YEAR, ChipFill, ChipOrder, ChipSupplier, EnergySupplier

H100 = next(c for c in CALIBRATED_CHIPS if c.name == "H100")
B200 = next(c for c in CALIBRATED_CHIPS if c.name == "B200")


def make_chip_supplier(**overrides) -> ChipSupplier:
    kwargs = {
        "name": "Fab",
        "region": "TW",
        "roadmap": CALIBRATED_CHIPS,
        "capacity_per_year": 4e6,
        "capacity_growth": 0.25,
        "price_response": 0.5,
    } | overrides
    return ChipSupplier(mesa.Model(rng=0), **kwargs)


def make_energy_supplier(**overrides) -> EnergySupplier:
    kwargs = {
        "name": "Grid",
        "region": "US",
        "capacity_mw": 1000.0,
        "base_price": 81.0,
        "build_rate_mw_per_year": 400.0,
        "lead_time_years": 5.0,
        "carbon_intensity": 0.4,
    } | overrides
    return EnergySupplier(mesa.Model(rng=0), **kwargs)


# -- chip supplier: capacity --------------------------------------------------


def test_capacity_integrates_growth_exactly():
    fab = make_chip_supplier()
    expected = 4e6 * (1.25**1.5 - 1.25**0.5) / math.log(1.25)
    assert fab.capacity(0.5, 1.0) == pytest.approx(expected, rel=1e-12)
    # Step-size independence: four quarters add up to the year.
    quarters = sum(fab.capacity(0.5 + 0.25 * k, 0.25) for k in range(4))
    assert quarters == pytest.approx(expected, rel=1e-12)
    flat = make_chip_supplier(capacity_growth=0.0)
    assert flat.capacity(3.0, 0.25) == pytest.approx(1e6)


def test_epoch_shifts_the_clock():
    fab = make_chip_supplier(epoch=2025.0)
    assert fab.capacity(2025.0, 1.0) == pytest.approx(make_chip_supplier().capacity(0.0, 1.0))


@settings(max_examples=60, deadline=None)
@given(
    start=st.floats(0.0, 5.0),
    duration=st.floats(0.1, 3.0),
    lost=st.floats(0.0, 1.0),
    t=st.floats(0.0, 10.0),
    dt=st.floats(0.05, 1.0),
)
def test_outage_lowers_capacity_by_fraction_only_while_active(start, duration, lost, t, dt):
    fab = make_chip_supplier()
    before = fab.capacity(t, dt)
    fab.add_outage(start, duration, lost)
    after = fab.capacity(t, dt)
    end = start + duration
    if t + dt <= start or t >= end:
        assert after == pytest.approx(before, rel=1e-12)
    elif start <= t and t + dt <= end:
        assert after == pytest.approx(before * (1 - lost), rel=1e-9, abs=1e-9)
    else:
        assert before * (1 - lost) - 1e-6 <= after <= before + 1e-6


def test_outage_partial_step_is_exact():
    fab = make_chip_supplier(capacity_growth=0.0)
    fab.add_outage(1.5, 1.0, 0.5)
    assert fab.capacity(1.0, 1.0) == pytest.approx(4e6 * (0.5 + 0.5 * 0.5))
    assert fab.capacity(3.0, 1.0) == pytest.approx(4e6)


@pytest.mark.parametrize(
    ("args", "name"),
    [((0.0, 0.0, 0.5), "duration_years"), ((0.0, 1.0, 1.5), "fraction_lost")],
)
def test_outage_validates(args, name):
    with pytest.raises(ValueError, match=name):
        make_chip_supplier().add_outage(*args)


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"capacity_per_year": -1.0}, "capacity_per_year"),
        ({"capacity_growth": -1.0}, "capacity_growth"),
        ({"price_response": float("nan")}, "price_response"),
        ({"allocation": "auction"}, "allocation"),
        ({"roadmap": ()}, "roadmap"),
    ],
)
def test_chip_supplier_validates(overrides, name):
    with pytest.raises(ValueError, match=name):
        make_chip_supplier(**overrides)


# -- chip supplier: clearing ----------------------------------------------------


def test_clear_fills_all_when_capacity_suffices():
    fab = make_chip_supplier(capacity_growth=0.0)
    fills = fab.clear([ChipOrder(1, H100, 1000.0), ChipOrder(2, B200, 500.0)], 0.0, 0.25)
    assert [f.units for f in fills] == [1000.0, 500.0]
    assert fills[0].unit_price == H100.price
    assert fab.last_revenue == pytest.approx(1000 * H100.price + 500 * B200.price)
    assert fab.last_shortage == 0.0
    assert fab.price_index < 1.0  # slack: price falls for the next step


def test_excess_demand_rations_records_shortage_and_raises_next_price():
    fab = make_chip_supplier(capacity_growth=0.0)
    supply = fab.capacity(0.0, 0.25)
    orders = [ChipOrder(1, H100, supply), ChipOrder(2, H100, supply)]
    fills = fab.clear(orders, 0.0, 0.25)
    assert sum(f.units for f in fills) == pytest.approx(supply)
    assert fills[0].units == pytest.approx(fills[1].units)
    assert fab.last_shortage == pytest.approx(supply)
    assert all(f.unit_price == H100.price for f in fills)  # quoted at the start of the step
    assert fab.price_index == pytest.approx(math.exp(0.5 * 0.25 * 1.0))
    later = fab.clear([ChipOrder(1, H100, 1.0)], 0.25, 0.25)
    assert later[0].unit_price == pytest.approx(H100.price * math.exp(0.125))


def test_by_bid_allocation_serves_higher_bid_first():
    fab = make_chip_supplier(capacity_growth=0.0, allocation="by_bid")
    supply = fab.capacity(0.0, 1.0)
    fills = fab.clear(
        [ChipOrder(1, H100, supply, bid=1.0), ChipOrder(2, H100, supply, bid=2.0)], 0.0, 1.0
    )
    assert fills[1].units == pytest.approx(supply)
    assert fills[0].units == 0.0
    assert isinstance(fills[0], ChipFill)
    assert fills[0].shortage == pytest.approx(supply)


@settings(max_examples=40, deadline=None)
@given(
    units=st.lists(st.floats(0.0, 5e6), min_size=0, max_size=6),
    steps=st.integers(1, 6),
    allocation=st.sampled_from(["pro_rata", "by_bid"]),
)
def test_supplier_never_sells_more_than_capacity(units, steps, allocation):
    fab = make_chip_supplier(allocation=allocation)
    fab.add_outage(0.5, 0.5, 0.6)
    dt = 0.25
    total_capacity = 0.0
    for k in range(steps):
        t = k * dt
        orders = [ChipOrder(i, H100, u, bid=float(i % 2)) for i, u in enumerate(units)]
        fills = fab.clear(orders, t, dt)
        assert sum(f.units for f in fills) <= fab.last_supply
        assert all(0 <= f.units <= f.requested for f in fills)
        assert fab.last_sold + fab.last_shortage == pytest.approx(fab.last_demand, abs=1e-6)
        assert 0.5 <= fab.price_index <= 5.0
        total_capacity += fab.last_supply
    assert fab.produced == fab.sold <= total_capacity


def test_clear_rejects_negative_order():
    with pytest.raises(ValueError, match="units"):
        make_chip_supplier().clear([ChipOrder(1, H100, -1.0)], 0.0, 0.25)


def test_offers_apply_year_and_export_control():
    fab = make_chip_supplier()
    offers = fab.offers(2024.0, max_tpp=4800)
    assert [c.name for c in offers] == ["A100-export", "H100-export", "H200-export"]
    assert isinstance(offers[0], ChipModel)


# -- energy supplier ------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    lead=st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 5.0]),
    dt=st.sampled_from([0.25, 0.5, 1.0]),
)
def test_builds_come_online_exactly_after_lead_time(lead, dt):
    grid = make_energy_supplier(lead_time_years=lead, build_rate_mw_per_year=100.0)
    initial = grid.capacity_mw
    for k in range(40):
        t = k * dt
        grid.advance(t, dt)
        # Orders placed at times s with s + lead <= t are online, none other.
        expected_online = sum(100.0 * dt for j in range(k + 1) if j * dt + lead <= t + 1e-12)
        assert grid.capacity_mw == pytest.approx(initial + expected_online)
        total_ordered = 100.0 * dt * (k + 1)
        assert grid.capacity_mw + grid.pipeline_mw == pytest.approx(initial + total_ordered)


def test_buildout_multiplier_scales_orders():
    grid = make_energy_supplier(lead_time_years=1.0)
    grid.advance(0.0, 0.5, buildout_multiplier=2.0)
    assert grid.pipeline() == [(1.0, 400.0)]
    assert grid.advance(0.5, 0.5) == 0.0
    assert grid.advance(1.0, 0.5) == pytest.approx(400.0)
    assert grid.capacity_mw == pytest.approx(1400.0)


@settings(max_examples=80, deadline=None)
@given(
    requests=st.lists(st.floats(0.0, 3000.0), min_size=0, max_size=5),
    cap=st.one_of(st.none(), st.floats(0.0, 3000.0)),
)
def test_energy_delivered_within_capacity_and_cap(requests, cap):
    grid = make_energy_supplier()
    out = grid.clear(dict(enumerate(requests)), cap, 0.0, 0.25)
    delivered = sum(mw for mw, _ in out.values())
    limit = grid.capacity_mw if cap is None else min(grid.capacity_mw, cap)
    assert delivered <= limit
    assert all(0 <= out[i][0] <= r for i, r in enumerate(requests))
    assert grid.last_delivered_mw == pytest.approx(delivered)
    assert grid.last_energy_mwh == pytest.approx(delivered * 0.25 * HOURS_PER_YEAR)
    assert grid.last_emissions_t == pytest.approx(grid.last_energy_mwh * 0.4)
    assert all(price >= 81.0 for _, price in out.values())


def test_binding_cap_raises_energy_price():
    free = make_energy_supplier()
    capped = make_energy_supplier()
    requests = {1: 300.0, 2: 300.0}
    price_free = free.clear(requests, None, 0.0, 0.25)[1][1]
    out = capped.clear(requests, 400.0, 0.0, 0.25)
    assert price_free == 81.0  # 60% utilization: below the knee
    assert out[1][1] > price_free
    assert out[1][0] + out[2][0] == pytest.approx(400.0)
    assert capped.last_utilization == 1.0
    assert out[1][1] == pytest.approx(81.0 * 5.0)


def test_energy_price_rises_with_utilization_above_knee():
    grid = make_energy_supplier()
    prices = [grid.clear({1: mw}, None, 0.0, 0.25)[1][1] for mw in (500, 850, 950, 1200)]
    assert prices[0] == 81.0
    assert prices[0] < prices[1] < prices[2] < prices[3]


def test_energy_outage_reduces_deliveries_while_active():
    grid = make_energy_supplier()
    grid.add_outage(1.0, 0.5, 0.5)
    assert grid.effective_capacity_mw(0.0, 0.25) == pytest.approx(1000.0)
    assert grid.effective_capacity_mw(1.0, 0.25) == pytest.approx(500.0)
    out = grid.clear({1: 900.0}, None, 1.0, 0.25)
    assert out[1][0] == pytest.approx(500.0)
    assert grid.effective_capacity_mw(1.5, 0.25) == pytest.approx(1000.0)


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"capacity_mw": -1.0}, "capacity_mw"),
        ({"lead_time_years": float("inf")}, "lead_time_years"),
        ({"scarcity_knee": 1.0}, "scarcity_knee"),
        ({"carbon_intensity": -0.1}, "carbon_intensity"),
    ],
)
def test_energy_supplier_validates(overrides, name):
    with pytest.raises(ValueError, match=name):
        make_energy_supplier(**overrides)


def test_energy_clear_validates():
    grid = make_energy_supplier()
    with pytest.raises(ValueError, match="requests_mw"):
        grid.clear({1: -5.0}, None, 0.0, 0.25)
    with pytest.raises(ValueError, match="cap_mw"):
        grid.clear({1: 5.0}, -1.0, 0.0, 0.25)
