"""Tests for sim.markets: allocation, price rules, shares and concentration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.markets import (
    adjust_price_index,
    allocate_by_bid,
    allocate_pro_rata,
    hhi,
    logit_shares,
    scarcity_price,
)

# Zero or a positive quantity well clear of underflow (fractions of denormals are not exact).
quantity = st.one_of(st.just(0.0), st.floats(1e-6, 1e6))
amounts = st.lists(quantity, min_size=0, max_size=8)
capacities = st.one_of(st.just(0.0), st.floats(1e-6, 2e6))


# -- allocation -------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(requests=amounts, capacity=capacities)
def test_pro_rata_never_exceeds_request_or_capacity(requests, capacity):
    wanted = np.array(requests)
    filled = allocate_pro_rata(wanted, capacity)
    assert filled.shape == wanted.shape
    assert np.all(filled >= 0)
    assert np.all(filled <= wanted)
    assert filled.sum() <= capacity
    if wanted.sum() <= capacity:
        np.testing.assert_array_equal(filled, wanted)
    else:
        positive = wanted > 0
        fractions = filled[positive] / wanted[positive]
        np.testing.assert_allclose(fractions, fractions[0], rtol=1e-9)
        assert filled.sum() == pytest.approx(capacity, rel=1e-9, abs=1e-9)


def test_pro_rata_example():
    filled = allocate_pro_rata(np.array([10.0, 30.0]), 20.0)
    np.testing.assert_allclose(filled, [5.0, 15.0])
    np.testing.assert_array_equal(allocate_pro_rata(np.array([1.0, 2.0]), math.inf), [1.0, 2.0])


@pytest.mark.parametrize(
    ("requests", "capacity", "name"),
    [
        ([1.0, -1.0], 1.0, "requests"),
        ([1.0, float("nan")], 1.0, "requests"),
        ([1.0, float("inf")], 1.0, "requests"),
        ([1.0], -1.0, "capacity"),
        ([1.0], float("nan"), "capacity"),
        ([[1.0]], 1.0, "requests"),
    ],
)
def test_pro_rata_validates(requests, capacity, name):
    with pytest.raises(ValueError, match=name):
        allocate_pro_rata(np.array(requests), capacity)


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(
        st.tuples(quantity, st.integers(0, 3)),
        min_size=1,
        max_size=8,
    ),
    capacity=capacities,
)
def test_by_bid_serves_higher_bids_first(data, capacity):
    wanted = np.array([r for r, _ in data])
    bids = np.array([float(b) for _, b in data])
    filled = allocate_by_bid(wanted, bids, capacity)
    assert np.all((filled >= 0) & (filled <= wanted))
    assert filled.sum() <= capacity
    # Anyone short means nobody with a lower bid got anything.
    short = filled < wanted * (1 - 1e-9)
    if short.any():
        top_short = bids[short].max()
        assert np.all(filled[bids < top_short] == 0)
    # Within a level, equal fill fractions.
    for level in np.unique(bids):
        members = (bids == level) & (wanted > 0)
        if members.sum() > 1:
            fractions = filled[members] / wanted[members]
            np.testing.assert_allclose(fractions, fractions[0], rtol=1e-9, atol=1e-12)


def test_by_bid_example():
    filled = allocate_by_bid(np.array([10.0, 10.0, 10.0]), np.array([1.0, 2.0, 2.0]), 15.0)
    np.testing.assert_allclose(filled, [0.0, 7.5, 7.5])
    with pytest.raises(ValueError, match="bids"):
        allocate_by_bid(np.array([1.0]), np.array([1.0, 2.0]), 1.0)


# -- price index ------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    index=st.floats(0.5, 5.0),
    demand=st.floats(0.0, 1e9),
    supply=st.floats(0.0, 1e9),
    response=st.floats(0.0, 10.0),
    dt=st.floats(0.01, 1.0),
)
def test_price_index_stays_in_bounds_and_follows_excess_demand(index, demand, supply, response, dt):
    new = adjust_price_index(index, demand, supply, response, dt)
    assert 0.5 <= new <= 5.0
    if supply > 0 and demand > supply * (1 + 1e-9):
        assert new >= index
    if supply > 0 and demand < supply * (1 - 1e-9):
        assert new <= index


def test_excess_demand_raises_price_and_ratio_is_capped():
    up = adjust_price_index(1.0, demand=2.0, supply=1.0, response=0.5, dt=0.25)
    assert up == pytest.approx(math.exp(0.5 * 0.25 * 1.0))
    down = adjust_price_index(1.0, demand=0.5, supply=1.0, response=0.5, dt=0.25)
    assert down < 1.0
    spike = adjust_price_index(1.0, 1e9, 1.0, 0.1, 0.25)
    assert spike == pytest.approx(math.exp(0.1 * 0.25 * 9.0))
    assert adjust_price_index(1.0, 5.0, 0.0, 0.1, 0.25) == spike
    assert adjust_price_index(1.3, 0.0, 0.0, 0.1, 0.25) == 1.3
    assert adjust_price_index(1.0, 1e9, 1.0, 100.0, 1.0) == 5.0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"index": 0.0}, "index"),
        ({"demand": -1.0}, "demand"),
        ({"supply": float("nan")}, "supply"),
        ({"response": -0.1}, "response"),
        ({"dt": 0.0}, "dt"),
        ({"floor": 2.0, "ceiling": 1.0}, "ceiling"),
    ],
)
def test_price_index_validates(kwargs, name):
    args = {"index": 1.0, "demand": 1.0, "supply": 1.0, "response": 0.1, "dt": 0.25} | kwargs
    with pytest.raises(ValueError, match=name):
        adjust_price_index(**args)


# -- scarcity price -----------------------------------------------------------


def test_scarcity_price_form():
    assert scarcity_price(80.0, 0.5) == 80.0
    assert scarcity_price(80.0, 0.8) == 80.0
    assert scarcity_price(80.0, 1.0) == pytest.approx(80.0 * 5.0)
    assert scarcity_price(80.0, 0.9) == pytest.approx(80.0 * (1 + 4.0 * 0.25))
    prices = scarcity_price(80.0, np.array([0.0, 0.85, 0.95]))
    assert isinstance(prices, np.ndarray)
    assert np.all(np.diff(prices) >= 0)


@settings(max_examples=100, deadline=None)
@given(u1=st.floats(0.0, 1.5), u2=st.floats(0.0, 1.5))
def test_scarcity_price_is_monotone(u1, u2):
    low, high = sorted((u1, u2))
    assert scarcity_price(81.0, low) <= scarcity_price(81.0, high)


@pytest.mark.parametrize(
    ("args", "name"),
    [((-1.0, 0.5), "base_price"), ((80.0, -0.1), "utilization"), ((80.0, 0.5, 1.0), "knee")],
)
def test_scarcity_price_validates(args, name):
    with pytest.raises(ValueError, match=name):
        scarcity_price(*args)


# -- shares and HHI -------------------------------------------------------------

losses_st = st.lists(st.floats(-50.0, 50.0), min_size=1, max_size=10)


@settings(max_examples=200, deadline=None)
@given(losses=losses_st, temperature=st.floats(1e-3, 100.0))
def test_logit_shares_sum_to_one_and_favour_lower_loss(losses, temperature):
    loss = np.array(losses)
    shares = logit_shares(loss, temperature)
    assert shares.sum() == pytest.approx(1.0)
    assert np.all((shares >= 0) & (shares <= 1))
    order = np.argsort(loss, kind="stable")
    assert np.all(np.diff(shares[order]) <= 1e-15)


def test_logit_shares_limits():
    assert logit_shares(np.array([]), 1.0).size == 0
    np.testing.assert_allclose(logit_shares(np.array([2.0, 2.0]), 0.1), [0.5, 0.5])
    assert logit_shares(np.array([2.0, 3.0]), 1e-4)[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="temperature"):
        logit_shares(np.array([1.0]), 0.0)


@settings(max_examples=200, deadline=None)
@given(shares=st.lists(st.floats(0.0, 1e6), min_size=1, max_size=10))
def test_hhi_between_one_over_n_and_one(shares):
    values = np.array(shares)
    h = hhi(values)
    if values.sum() <= 0:
        assert h == 0.0
    else:
        assert 1.0 / len(values) - 1e-12 <= h <= 1.0 + 1e-12


def test_hhi_examples():
    assert hhi(np.array([])) == 0.0
    assert hhi(np.zeros(3)) == 0.0
    assert hhi(np.array([5.0])) == 1.0
    assert hhi(np.array([1.0, 1.0, 1.0, 1.0])) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="shares"):
        hhi(np.array([-1.0, 2.0]))
