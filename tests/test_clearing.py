"""Behaviour of the batched market-clearing rules of sim.economy.clearing.

Every rule takes a batch (first axis = runs). The tests check what a market
economist expects of each rule (rationing within capacity, priority by bid,
prices that follow excess demand, shares and concentration) and that a run's
result does not depend on the other runs of its batch.

Ported from the first engine's tests of its scalar market rules; their input
validation cases have no counterpart here: the array rules trust their
inputs, which the scenario schema and sim.economy.build validate once.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.economy.clearing import (
    MAX_DEMAND_RATIO,
    adjust_price_index,
    by_bid,
    hhi,
    logit_shares,
    pro_rata,
    scarcity_price,
    utilization,
)

# Degenerate inputs (zero supply, zero totals) divide by zero by design: the rules mask
# the quotient with np.where, and the engine runs them under np.errstate (sim.economy.phases.step).
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REL = 1e-12  # relative rounding allowed where the rule itself is not exact

# Zero or a positive quantity well clear of underflow (fractions of denormals are not exact).
quantity = st.one_of(st.just(0.0), st.floats(1e-6, 1e6))


def summation_orders(values: np.ndarray) -> list[float]:
    """The sum of ``values`` (1-D) in the orders a caller may add them up."""
    items = [float(v) for v in values]
    return [
        sum(items),
        math.fsum(items),
        float(np.sum(values)),
        sum(sorted(items)),
        sum(sorted(items, reverse=True)),
    ]


@st.composite
def capacities(draw, requests: list[float], bids: list[float] | None = None) -> float:
    """A capacity for one run: often at, or some ulps beside, a sum of its requests.

    The sums are those of every set a rule may serve in full (all requests, or
    those bidding at least some level), in each summation order, moved by up
    to 128 ulps: the cases where rounding decides who is served.
    """
    kind = draw(st.sampled_from(["zero", "random", "inf", "edge", "edge"]))
    if kind == "zero":
        return 0.0
    if kind == "inf":
        return math.inf
    if kind == "random" or not requests:
        return draw(st.floats(1e-6, 2e6))
    wanted = np.array(requests)
    levels = [None] if bids is None else sorted(set(bids))
    edges = []
    for level in levels:
        served = wanted if level is None else wanted[np.array(bids) >= level]
        edges.extend(summation_orders(served))
    edge = draw(st.sampled_from(edges))
    beside = edge * (1.0 + draw(st.integers(-128, 128)) * 2.0**-52)  # within some ulps
    return beside if beside > 1e-300 else 0.0  # never negative, nor a fraction of a denormal


@st.composite
def rationing_batches(draw, with_bids: bool):
    """(requests (B, n), bids (B, n) or None, capacity (B,)) for 1-4 runs of 0-11 buyers."""
    runs = draw(st.integers(1, 4))
    buyers = draw(st.integers(0 if not with_bids else 1, 11))
    rows, bid_rows, caps = [], [], []
    for _ in range(runs):
        row = draw(st.lists(quantity, min_size=buyers, max_size=buyers))
        bid_row = draw(st.lists(st.integers(0, 3).map(float), min_size=buyers, max_size=buyers))
        rows.append(row)
        bid_rows.append(bid_row)
        caps.append(draw(capacities(row, bid_row if with_bids else None)))
    requests = np.array(rows, dtype=float).reshape(runs, buyers)
    bids = np.array(bid_rows, dtype=float).reshape(runs, buyers) if with_bids else None
    return requests, bids, np.array(caps)


def assert_within_request_and_capacity(filled, requests, capacity):
    """``0 <= fill <= request`` and the fills of each run add up to at most its capacity."""
    assert filled.shape == requests.shape
    assert np.all(filled >= 0.0)
    assert np.all(filled <= requests)
    batch_sums = filled.sum(axis=-1)
    for run, cap in enumerate(capacity):
        assert max(summation_orders(filled[run])) <= cap, (requests[run], cap, filled[run])
        assert batch_sums[run] <= cap


def assert_full_when_requests_fit(filled, requests, capacity):
    """Requests that fit are served: exactly with room to spare, to rounding at the edge.

    At the edge the rule keeps a few ulps of the capacity back for rounding;
    they may all come out of one small request, so the bound is on the capacity.
    """
    for run, cap in enumerate(capacity):
        wanted = requests[run]
        if math.fsum(wanted) * (1.0 + 1e-12) <= cap:
            np.testing.assert_array_equal(filled[run], wanted)
        elif max(summation_orders(wanted)) <= cap:
            np.testing.assert_allclose(filled[run], wanted, rtol=0.0, atol=REL * cap)


def assert_no_idle_capacity_while_short(filled, requests, capacity):
    """If anyone is short, the capacity is used up (to rounding): rationing wastes nothing."""
    for run, cap in enumerate(capacity):
        if np.any(filled[run] < requests[run]):
            assert math.fsum(filled[run]) >= cap * (1.0 - 1e-12), (requests[run], cap)


# -- pro rata -----------------------------------------------------------------


@SETTINGS
@given(rationing_batches(with_bids=False))
def test_pro_rata_fills_within_request_and_capacity(batch):
    requests, _, capacity = batch
    filled = pro_rata(requests, capacity)
    assert_within_request_and_capacity(filled, requests, capacity)
    assert_full_when_requests_fit(filled, requests, capacity)
    assert_no_idle_capacity_while_short(filled, requests, capacity)


@SETTINGS
@given(rationing_batches(with_bids=False))
def test_pro_rata_fills_share_one_fraction(batch):
    requests, _, capacity = batch
    filled = pro_rata(requests, capacity)
    for run in range(len(capacity)):
        positive = requests[run] > 0.0
        fractions = filled[run][positive] / requests[run][positive]
        if fractions.size:
            np.testing.assert_allclose(fractions, fractions[0], rtol=REL, atol=0.0)


def test_pro_rata_examples():
    filled = pro_rata(np.array([[10.0, 30.0], [1.0, 2.0], [4.0, 0.0]]), np.array([20.0, 3.0, 0.0]))
    np.testing.assert_allclose(filled[0], [5.0, 15.0], rtol=REL)
    np.testing.assert_allclose(filled[1], [1.0, 2.0], rtol=REL)  # exactly enough: all served
    assert filled[1].sum() <= 3.0
    np.testing.assert_array_equal(filled[2], [0.0, 0.0])  # nothing to share
    roomy = pro_rata(np.array([[1.0, 2.0], [1.0, 2.0]]), np.array([3.0 + 1e-9, math.inf]))
    np.testing.assert_array_equal(roomy, [[1.0, 2.0], [1.0, 2.0]])  # room to spare: exactly
    assert pro_rata(np.zeros((3, 0)), np.ones(3)).shape == (3, 0)


def test_pro_rata_full_service_never_exceeds_capacity():
    """numpy adds [1, 1e-16, 1e-16] up to 1.0, math.fsum to 1.0000000000000002."""
    requests = np.array(
        [[1.0, 1e-16, 1e-16], [0.4359628674588153, 0.7308765923577873, 0.7173379623560996]]
    )
    capacity = np.array([1.0, 1.8841774221727021])
    assert_within_request_and_capacity(pro_rata(requests, capacity), requests, capacity)


@FEW
@given(rationing_batches(with_bids=False), st.integers(-20, 20))
def test_pro_rata_scales_with_units(batch, power):
    """Measuring in other units (a power of two, exact) scales the fills and nothing else."""
    requests, _, capacity = batch
    k = 2.0**power
    np.testing.assert_array_equal(
        pro_rata(requests * k, capacity * k), pro_rata(requests, capacity) * k
    )


# -- by bid -------------------------------------------------------------------


@SETTINGS
@given(rationing_batches(with_bids=True))
def test_by_bid_fills_within_request_and_capacity(batch):
    requests, bids, capacity = batch
    filled = by_bid(requests, bids, capacity)
    assert_within_request_and_capacity(filled, requests, capacity)
    assert_full_when_requests_fit(filled, requests, capacity)
    assert_no_idle_capacity_while_short(filled, requests, capacity)


@SETTINGS
@given(rationing_batches(with_bids=True))
def test_by_bid_serves_higher_bids_first(batch):
    requests, bids, capacity = batch
    filled = by_bid(requests, bids, capacity)
    for run in range(len(capacity)):
        wanted, fill, bid = requests[run], filled[run], bids[run]
        for short in np.flatnonzero(fill < wanted):
            # while anyone is short, nobody bidding less gets anything, not even rounding dust
            np.testing.assert_array_equal(fill[bid < bid[short]], 0.0)


@SETTINGS
@given(rationing_batches(with_bids=True))
def test_by_bid_splits_equal_bids_pro_rata(batch):
    requests, bids, capacity = batch
    filled = by_bid(requests, bids, capacity)
    for run in range(len(capacity)):
        for level in np.unique(bids[run]):
            members = (bids[run] == level) & (requests[run] > 0.0)
            fractions = filled[run][members] / requests[run][members]
            if fractions.size:
                np.testing.assert_allclose(fractions, fractions[0], rtol=REL, atol=0.0)


@FEW
@given(rationing_batches(with_bids=True))
def test_by_bid_with_one_bid_is_pro_rata(batch):
    requests, _, capacity = batch
    same = np.full_like(requests, 7.0)
    np.testing.assert_allclose(
        by_bid(requests, same, capacity), pro_rata(requests, capacity), rtol=REL, atol=0.0
    )


@FEW
@given(rationing_batches(with_bids=True))
def test_by_bid_uses_bids_only_to_rank(batch):
    """A strictly increasing transform of the bids (same ranking) changes no fill."""
    requests, bids, capacity = batch
    np.testing.assert_array_equal(
        by_bid(requests, 1e3 * bids**3 + 12.5, capacity), by_bid(requests, bids, capacity)
    )


def test_by_bid_examples():
    filled = by_bid(
        np.array([[10.0, 10.0, 10.0], [10.0, 10.0, 10.0], [10.0, 10.0, 10.0]]),
        np.array([[1.0, 2.0, 2.0], [1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]),
        np.array([15.0, 25.0, 40.0]),
    )
    np.testing.assert_allclose(filled[0], [0.0, 7.5, 7.5], rtol=REL)
    np.testing.assert_allclose(filled[1], [5.0, 10.0, 10.0], rtol=REL)
    np.testing.assert_array_equal(filled[2], [10.0, 10.0, 10.0])
    assert filled[0, 0] == 0.0


def test_by_bid_leaves_no_rounding_dust_to_lower_bids():
    """Short bid-1 buyers once left 2.2e-16 to a bid-0 buyer (and overran the capacity)."""
    requests = np.array([
        [0.7542910962400441, 0.3385654343489425, 0.1009344012723642, 0.4523160862298,
         0.6055230123569166, 0.0],
        [0.28014759677474455, 0.957962676121434, 0.3227680329196584, 0.2733316648972234,
         0.14289372324495242, 0.49131127565483257],
    ])  # fmt: skip
    bids = np.array([[2.0, 2.0, 1.0, 2.0, 0.0, 0.0], [1.0, 1.0, 2.0, 2.0, 1.0, 0.0]])
    capacity = np.array([1.6461070180911508, 1.977103693958023])
    filled = by_bid(requests, bids, capacity)
    assert_within_request_and_capacity(filled, requests, capacity)
    assert filled[1, 0] < requests[1, 0]  # capacity falls short within the bid-1 level ...
    assert filled[0, 4] == 0.0 and filled[1, 5] == 0.0  # ... so bid 0 gets nothing


def test_by_bid_full_levels_never_exceed_capacity():
    """Serving the top level in full, numpy's sum said it fit while math.fsum said it did not."""
    requests = np.array([[0.3365589623455405, 0.76431977131766, 0.7637254583177344,
                          0.5512789807712775, 0.17378871872749102, 0.38620429566027503,
                          0.2908501182392267]])  # fmt: skip
    bids = np.array([[2.0, 2.0, 0.0, 1.0, 2.0, 2.0, 2.0]])
    capacity = np.array([1.9517218662901936])
    assert_within_request_and_capacity(by_bid(requests, bids, capacity), requests, capacity)


# -- batch independence ---------------------------------------------------------


def _random_rationing(rng: np.random.Generator, shape: tuple[int, ...]):
    """Requests (often zero), few distinct bids, and capacities at or near their sums."""
    requests = np.where(rng.random(shape) < 0.2, 0.0, rng.lognormal(0.0, 2.0, shape))
    bids = rng.integers(0, 3, shape).astype(float)
    total = requests.sum(axis=-1)
    capacity = total * rng.choice([0.0, 0.3, 1.0, 1.0 + 1e-16, 2.0], total.shape)
    return requests, bids, capacity


def _assert_runs_alone_match(function, batch_args, runs):
    """Each run of ``function(*batch_args)`` equals the same run computed as a batch of one."""
    together = function(*batch_args)
    for run in range(runs):
        alone = function(*(np.ascontiguousarray(a[run : run + 1]) for a in batch_args))
        np.testing.assert_allclose(alone[0], together[run], rtol=REL, atol=0.0)


@FEW
@given(st.integers(0, 2**32 - 1), st.integers(2, 12), st.integers(1, 10))
def test_rationing_of_a_run_does_not_depend_on_its_batch(seed, runs, buyers):
    rng = np.random.default_rng(seed)
    requests, bids, capacity = _random_rationing(rng, (runs, buyers))
    _assert_runs_alone_match(pro_rata, (requests, capacity), runs)
    _assert_runs_alone_match(by_bid, (requests, bids, capacity), runs)
    # as the chip market calls them: (runs, suppliers, labs)
    requests, bids, capacity = _random_rationing(rng, (runs, 3, buyers))
    _assert_runs_alone_match(pro_rata, (requests, capacity), runs)
    _assert_runs_alone_match(by_bid, (requests, bids, capacity), runs)


@FEW
@given(st.integers(0, 2**32 - 1), st.integers(2, 12), st.integers(1, 10))
def test_prices_and_shares_of_a_run_do_not_depend_on_its_batch(seed, runs, labs):
    rng = np.random.default_rng(seed)
    suppliers = (runs, 3)
    requested = np.where(rng.random(suppliers) < 0.2, 0.0, rng.lognormal(0, 1, suppliers))
    available = np.where(rng.random(suppliers) < 0.2, 0.0, rng.lognormal(0, 1, suppliers))
    _assert_runs_alone_match(utilization, (requested, available), runs)
    u = rng.uniform(0.0, 1.0, runs)
    knee, slope = rng.uniform(0.0, 0.99, runs), rng.uniform(0.0, 10.0, runs)
    _assert_runs_alone_match(scarcity_price, (rng.uniform(1, 200, runs), u, knee, slope), runs)
    index_args = (
        rng.uniform(0.5, 5.0, suppliers), requested, available, rng.uniform(0, 5, suppliers),
        rng.uniform(0.01, 1.0, (runs, 1)), np.full(suppliers, 0.5), np.full(suppliers, 5.0),
    )  # fmt: skip
    _assert_runs_alone_match(adjust_price_index, index_args, runs)
    losses, temperature = rng.uniform(1.5, 3.0, (runs, labs)), rng.uniform(0.01, 1.0, runs)
    _assert_runs_alone_match(logit_shares, (losses, temperature), runs)
    compute = np.where(rng.random((runs, labs)) < 0.3, 0.0, rng.lognormal(0, 3, (runs, labs)))
    _assert_runs_alone_match(hhi, (compute,), runs)


# -- utilization ------------------------------------------------------------------


@SETTINGS
@given(
    st.lists(st.tuples(quantity, st.one_of(quantity, st.just(math.inf))), min_size=1, max_size=6)
)
def test_utilization_is_requested_over_available_capped_at_one(pairs):
    requested = np.array([r for r, _ in pairs])
    available = np.array([a for _, a in pairs])
    u = utilization(requested, available)
    assert np.all((u >= 0.0) & (u <= 1.0))
    for r, a, value in zip(requested, available, u, strict=True):
        if r == 0.0:
            assert value == 0.0  # no demand, no load, even without supply
        elif a == 0.0:
            assert value == 1.0  # demand meets no supply: fully loaded
        else:
            assert value == min(r / a, 1.0)


def test_utilization_examples():
    u = utilization(np.array([50.0, 200.0, 0.0, 3.0, 0.0]), np.array([100.0, 100.0, 0.0, 0.0, 5.0]))
    np.testing.assert_array_equal(u, [0.5, 1.0, 0.0, 1.0, 0.0])


# -- scarcity price -----------------------------------------------------------------


def test_scarcity_price_form():
    u = np.array([0.0, 0.5, 0.8, 0.9, 1.0])
    n = u.size
    prices = scarcity_price(np.full(n, 80.0), u, np.full(n, 0.8), np.full(n, 4.0))
    np.testing.assert_allclose(prices, [80.0, 80.0, 80.0, 80.0 * (1 + 4.0 * 0.25), 80.0 * 5.0])
    assert prices[:3].tolist() == [80.0, 80.0, 80.0]  # exactly the base price up to the knee


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.one_of(st.just(0.0), st.floats(1e-3, 1e4)),
            st.floats(0.0, 0.99),
            st.one_of(st.just(0.0), st.floats(1e-3, 50.0)),
            st.floats(0.0, 1.0),
            st.floats(0.0, 1.0),
        ),  # fmt: skip
        min_size=1,
        max_size=5,
    )
)
def test_scarcity_price_is_base_below_the_knee_and_rises_above(suppliers):
    """Each supplier: (base price, knee, slope, one load, another load)."""
    base, knee, slope, u1, u2 = (np.array(column) for column in zip(*suppliers, strict=True))
    low, high = np.minimum(u1, u2), np.maximum(u1, u2)
    p_low = scarcity_price(base, low, knee, slope)
    p_high = scarcity_price(base, high, knee, slope)
    below = low <= knee
    np.testing.assert_array_equal(p_low[below], base[below])
    assert np.all(p_low >= base)
    assert np.all(p_high >= p_low)  # never cheaper at a higher load
    rising = (high > knee) & (high > low) & (base > 0.0) & (slope > 0.0)
    rising &= (high - np.maximum(low, knee)) > 1e-6  # clear of rounding
    assert np.all(p_high[rising] > p_low[rising])  # strictly dearer above the knee
    at_full = scarcity_price(base, np.ones_like(base), knee, slope)
    np.testing.assert_allclose(at_full, base * (1.0 + slope), rtol=1e-9)


# -- price index ---------------------------------------------------------------------


def _index(index, demand, supply, response=0.5, dt=0.25, floor=0.5, ceiling=5.0):
    """One run's tatonnement step as a float, through the batched rule."""
    args = (index, demand, supply, response, dt, floor, ceiling)
    return float(adjust_price_index(*(np.array([float(a)]) for a in args))[0])


@SETTINGS
@given(
    index=st.floats(0.5, 5.0),
    demand=st.one_of(st.just(0.0), st.floats(0.0, 1e9)),
    supply=st.one_of(st.just(0.0), st.floats(0.0, 1e9)),
    response=st.floats(0.0, 20.0),
    dt=st.floats(0.01, 1.0),
    more=st.floats(0.0, 1e9),
)
def test_price_index_stays_in_bounds_and_follows_excess_demand(
    index, demand, supply, response, dt, more
):
    new = _index(index, demand, supply, response, dt)
    assert 0.5 <= new <= 5.0
    if supply > 0 and demand > supply:
        assert new >= index  # excess demand never lowers the price
    if supply > 0 and demand < supply:
        assert new <= index  # slack never raises it
    if supply > 0 and demand == supply:
        assert new == index  # balance leaves it alone
    if supply > 0:
        bound = response * dt * (MAX_DEMAND_RATIO - 1.0)  # the demand ratio is capped
        assert abs(math.log(new / index)) <= max(bound, response * dt) * (1 + 1e-12) + 1e-15
    assert _index(index, demand + more, supply, response, dt) >= new  # more demand, dearer
    assert _index(index, demand, supply + more, response, dt) <= new  # more supply, cheaper


@SETTINGS
@given(
    index=st.floats(0.5, 5.0),
    demand=st.floats(1e-3, 1e6),
    supply=st.floats(1e-3, 1e6),
    power=st.integers(-30, 30),
)
def test_price_index_depends_on_the_demand_ratio_only(index, demand, supply, power):
    k = 2.0**power
    assert _index(index, demand * k, supply * k) == _index(index, demand, supply)


def test_excess_demand_raises_price_and_ratio_is_capped():
    up = _index(1.0, demand=2.0, supply=1.0, response=0.5, dt=0.25)
    assert up == pytest.approx(math.exp(0.5 * 0.25 * 1.0), rel=REL)
    down = _index(1.0, demand=0.5, supply=1.0, response=0.5, dt=0.25)
    assert down == pytest.approx(math.exp(-0.5 * 0.25 * 0.5), rel=REL)
    spike = _index(1.0, 1e9, 1.0, 0.1, 0.25)
    assert spike == pytest.approx(math.exp(0.1 * 0.25 * (MAX_DEMAND_RATIO - 1.0)), rel=REL)
    assert _index(1.0, 5.0, 0.0, 0.1, 0.25) == spike  # demand without supply: the cap
    assert _index(1.3, 0.0, 0.0, 0.1, 0.25) == 1.3  # no market: unchanged
    assert _index(1.0, 1e9, 1.0, 100.0, 1.0) == 5.0  # the ceiling
    assert _index(1.0, 1e300, 1e-300, 1e6, 1.0) == 5.0  # no overflow
    assert _index(1.0, 0.0, 1.0, 100.0, 1.0) == 0.5  # the floor
    assert _index(1.0, 0.0, 1.0, 0.0, 1.0) == 1.0  # no response, no move


def test_price_index_bounds_are_per_supplier():
    new = adjust_price_index(
        np.array([[1.0, 1.0]]), np.array([[1e9, 0.0]]), np.array([[1.0, 1.0]]),
        np.array([[50.0, 50.0]]), np.array([[1.0]]), np.array([[0.5, 0.8]]),
        np.array([[2.0, 5.0]]),
    )  # fmt: skip
    np.testing.assert_array_equal(new, [[2.0, 0.8]])


# -- shares -------------------------------------------------------------------------


@st.composite
def loss_batches(draw):
    """(losses (B, N), temperature (B,)) for 1-3 runs of 1-10 labs."""
    runs, labs = draw(st.integers(1, 3)), draw(st.integers(1, 10))
    rows = draw(st.lists(st.lists(st.floats(-50.0, 50.0), min_size=labs, max_size=labs),
                         min_size=runs, max_size=runs))  # fmt: skip
    temperature = draw(st.lists(st.floats(1e-3, 100.0), min_size=runs, max_size=runs))
    return np.array(rows), np.array(temperature)


@SETTINGS
@given(loss_batches())
def test_logit_shares_sum_to_one_and_favour_lower_loss(batch):
    losses, temperature = batch
    shares = logit_shares(losses, temperature)
    assert shares.shape == losses.shape
    assert np.all((shares >= 0.0) & (shares <= 1.0))
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, rtol=REL)
    for run in range(losses.shape[0]):
        order = np.argsort(losses[run], kind="stable")
        assert np.all(np.diff(shares[run][order]) <= 1e-15)  # lower loss, no smaller share
        best = losses[run] == losses[run].min()
        assert np.all(shares[run][best] == shares[run].max())


@SETTINGS
@given(loss_batches(), st.floats(-10.0, 10.0))
def test_logit_shares_depend_on_loss_differences_only(batch, shift):
    losses, temperature = batch
    np.testing.assert_allclose(
        logit_shares(losses + shift, temperature), logit_shares(losses, temperature), atol=1e-12
    )


@SETTINGS
@given(loss_batches(), st.floats(1.0, 100.0))
def test_colder_markets_are_more_concentrated(batch, factor):
    """A lower temperature (winner takes more) never lowers the HHI of the shares."""
    losses, temperature = batch
    hot = hhi(logit_shares(losses, temperature * factor))
    cold = hhi(logit_shares(losses, temperature))
    assert np.all(cold >= hot - 1e-12)


def test_logit_shares_limits():
    shares = logit_shares(
        np.array([[2.0, 2.0], [2.0, 3.0], [2.0, 3.0], [1e4, 0.0]]),
        np.array([0.1, 1e-4, 1e4, 1e-3]),
    )
    np.testing.assert_allclose(shares[0], [0.5, 0.5], rtol=REL)  # equal losses, equal shares
    np.testing.assert_allclose(shares[1], [1.0, 0.0], atol=1e-12)  # cold: the best takes all
    np.testing.assert_allclose(shares[2], [0.5, 0.5], rtol=1e-3)  # hot: shares even out
    np.testing.assert_array_equal(shares[3], [0.0, 1.0])  # no overflow
    expected = 1.0 / (1.0 + math.exp(-1.0))
    np.testing.assert_allclose(logit_shares(np.array([[0.0, 1.0]]), np.array([1.0]))[0, 0],
                               expected, rtol=REL)  # fmt: skip


# -- concentration -------------------------------------------------------------------


@SETTINGS
@given(st.lists(st.lists(quantity, min_size=4, max_size=4), min_size=1, max_size=4),
       st.integers(1, 4))  # fmt: skip
def test_hhi_between_one_over_n_and_one(rows, players):
    values = np.array(rows)[:, :players]
    h = hhi(values)
    assert h.shape == (values.shape[0],)
    for run, row in enumerate(values):
        if row.sum() <= 0:
            assert h[run] == 0.0
        else:
            assert 1.0 / players - 1e-12 <= h[run] <= 1.0 + 1e-12
            assert hhi(row[None] * 1e-3)[0] == pytest.approx(h[run], rel=1e-12)  # any unit
    if players >= 2 and values[:, :2].sum() > 0:
        merged = np.column_stack([values[:, 0] + values[:, 1], values[:, 2:players]])
        assert np.all(hhi(merged) >= h - 1e-12)  # a merger never lowers concentration


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 10])
def test_hhi_of_equal_players_is_one_over_n(n):
    h = hhi(np.full((2, n), [[3.0], [1e-5]]))
    np.testing.assert_allclose(h, 1.0 / n, rtol=REL)


def test_hhi_examples():
    assert hhi(np.zeros((2, 0))).tolist() == [0.0, 0.0]  # no players
    assert hhi(np.zeros((1, 3))).tolist() == [0.0]  # nothing to share
    assert hhi(np.array([[5.0]])).tolist() == [1.0]
    assert hhi(np.array([[0.0, 5.0, 0.0]])).tolist() == [1.0]  # a monopoly
    assert hhi(np.array([[1.0, 1.0, 1.0, 1.0]]))[0] == pytest.approx(0.25, rel=REL)
    assert hhi(np.array([[3.0, 1.0]]))[0] == pytest.approx(0.625, rel=REL)
