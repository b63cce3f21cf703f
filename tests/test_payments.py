"""Behaviour of sim.economy.payments: who pays whom, the labs' cash, conservation of money.

A step's payments are one array of amounts per channel (run axis first);
:func:`pay` moves the labs' cash by them and the ledger books the same
arrays between the payer and payee that :data:`CHANNELS` names. These tests
check the routing an economist expects, that a lab's cash moves by exactly
its own payments and receipts, that bad amounts are refused by name, and that
booking every channel's payer and payee conserves money.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.economy.payments import (
    CHANNELS,
    CHIP_SUPPLIER,
    CONSTRUCTION,
    CUSTOMERS,
    ENERGY_SUPPLIER,
    GOVERNMENT,
    INVESTORS,
    LAB,
    RESERVED_ACCOUNTS,
    WORKFORCE,
    lab_cash_change,
    pay,
)

# Degenerate inputs (zero supply, zero totals) divide by zero by design: the rules mask
# the quotient with np.where, and the engine runs them under np.errstate (sim.economy.phases.step).
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REL = 1e-12

PER_SUPPLIER = {
    "chips": CHIP_SUPPLIER,
    "chip_refunds": CHIP_SUPPLIER,
    "energy": ENERGY_SUPPLIER,
    "carbon_tax": ENERGY_SUPPLIER,
}
"""Channels booked per (lab, supplier) pair, as the phases book them; the rest per lab."""

amount = st.one_of(st.just(0.0), st.floats(1e-2, 1e12))


@st.composite
def step_payments(draw, categories=tuple(CHANNELS)):
    """(cash (B, labs), {category: amounts}, sizes) for 1-3 runs, 1-4 labs, 1-3 suppliers each."""
    runs, labs = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    suppliers = {CHIP_SUPPLIER: draw(st.integers(1, 3)), ENERGY_SUPPLIER: draw(st.integers(1, 3))}
    chosen = draw(st.sets(st.sampled_from(categories), min_size=1))
    payments = {}
    for category in (c for c in CHANNELS if c in chosen):  # booking order
        shape = (runs, labs)
        if category in PER_SUPPLIER:
            shape = (runs, labs, suppliers[PER_SUPPLIER[category]])
        payments[category] = draw(arrays(np.float64, shape, elements=amount))
    cash = draw(arrays(np.float64, (runs, labs), elements=st.floats(-1e12, 1e12)))
    return cash, payments, suppliers


def _per_lab(amounts: np.ndarray) -> np.ndarray:
    """(B, labs) total of a channel's amounts for each lab, correctly rounded."""
    if amounts.ndim == 2:
        return amounts.copy()
    return np.array([[math.fsum(pair) for pair in run] for run in amounts])


def _lab_sign(category: str) -> float:
    """+1 if labs receive the channel, -1 if they pay it, 0 if it passes them by."""
    payer, payee = CHANNELS[category]
    return 1.0 if payee == LAB else -1.0 if payer == LAB else 0.0


# -- routing --------------------------------------------------------------------


def test_channels_route_money_as_the_economy_does():
    """Who pays whom: labs are funded and earn; they pay workers, suppliers and taxes."""
    assert CHANNELS == {
        "facilities": (LAB, CONSTRUCTION),  # a data centre is paid to its builders
        "generation": (LAB, CONSTRUCTION),  # so is a lab's own power plant
        "funding": (INVESTORS, LAB),
        "rnd": (LAB, WORKFORCE),
        "rd_subsidy": (GOVERNMENT, WORKFORCE),  # the match goes to the researchers, not the lab
        "projects": (LAB, WORKFORCE),
        "chips": (LAB, CHIP_SUPPLIER),
        "chip_refunds": (CHIP_SUPPLIER, LAB),  # a cancelled order's money goes back
        "tariffs": (LAB, GOVERNMENT),  # a tariff is the government's, not the fab's
        "energy": (LAB, ENERGY_SUPPLIER),
        "carbon_tax": (LAB, GOVERNMENT),
        "own_power": (LAB, CONSTRUCTION),  # its operator runs it for the lab
        "own_carbon_tax": (LAB, GOVERNMENT),
        "compliance": (LAB, GOVERNMENT),
        "revenue": (CUSTOMERS, LAB),
        "payouts": (LAB, INVESTORS),  # cash a lab cannot use goes back to its investors
    }
    agents = {LAB, CHIP_SUPPLIER, ENERGY_SUPPLIER}
    for category, (payer, payee) in CHANNELS.items():
        assert payer != payee, category
        assert {payer, payee} <= agents | set(RESERVED_ACCOUNTS), category


@pytest.mark.parametrize("category", list(CHANNELS))
def test_lab_cash_change_has_the_channel_sign(category):
    amounts = np.array([[3.0, 0.0, 5.5]])
    if category in PER_SUPPLIER:
        amounts = np.array([[[1.0, 2.0], [0.0, 0.0], [5.0, 0.5]]])
    change = lab_cash_change(category, amounts)
    assert change.shape == (1, 3)
    np.testing.assert_array_equal(change, _lab_sign(category) * np.array([[3.0, 0.0, 5.5]]))


def test_research_subsidy_leaves_lab_cash_alone():
    cash = np.array([[1e9, -2.5e8], [0.0, 7.0]])
    subsidy = np.array([[4e8, 1e6], [3.0, 0.0]])
    np.testing.assert_array_equal(lab_cash_change("rd_subsidy", subsidy), np.zeros((2, 2)))
    np.testing.assert_array_equal(pay(cash, {"rd_subsidy": subsidy}), cash)
    rnd = np.array([[2e8, 5e5], [1.5, 0.0]])
    np.testing.assert_array_equal(
        pay(cash, {"rnd": rnd, "rd_subsidy": subsidy}), pay(cash, {"rnd": rnd})
    )


# -- refusals ---------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1.0, -1e-300, math.nan, math.inf])
@pytest.mark.parametrize("category", list(CHANNELS))
def test_pay_refuses_a_negative_nan_or_infinite_amount_by_category(category, bad):
    """An infinite payment is no payment: the ledger's sums would be inf - inf = nan."""
    amounts = np.array([[10.0, 20.0], [30.0, 40.0]])
    if category in PER_SUPPLIER:
        amounts = np.full((2, 2, 3), 10.0)
    amounts.flat[-1] = bad  # one bad entry among good ones, in the last run
    payments = {"funding": np.ones((2, 2)), category: amounts}
    with pytest.raises(ValueError, match=rf"^{category}: .* got {re.escape(str(bad))}$"):
        pay(np.zeros((2, 2)), payments)


def test_pay_refuses_an_unknown_channel():
    with pytest.raises(KeyError, match="bribes"):
        pay(np.zeros((1, 1)), {"bribes": np.ones((1, 1))})


def test_zero_payments_change_nothing():
    cash = np.array([[5.0, -3.0]])
    zeros = {
        category: np.array([[0.0, -0.0]]) for category in CHANNELS if category not in PER_SUPPLIER
    }
    np.testing.assert_array_equal(pay(cash, zeros), cash)
    np.testing.assert_array_equal(pay(cash, {}), cash)


# -- the labs' cash -----------------------------------------------------------------


@SETTINGS
@given(step_payments(), st.data())
def test_a_lab_pays_and_receives_exactly_its_own_amounts(step, data):
    """One channel at a time, from zero cash: the change is exactly the lab's amounts."""
    cash, payments, _ = step
    for category, amounts in payments.items():
        change = pay(np.zeros_like(cash), {category: amounts})
        np.testing.assert_allclose(change, _lab_sign(category) * _per_lab(amounts), rtol=1e-15)
        if amounts.ndim == 2:
            np.testing.assert_array_equal(change, _lab_sign(category) * amounts)
        # another lab's amounts do not touch this lab's cash
        lab = data.draw(st.integers(0, cash.shape[1] - 1))
        only = np.zeros_like(amounts)
        only[:, lab] = amounts[:, lab]
        moved = pay(cash, {category: only})
        others = np.arange(cash.shape[1]) != lab
        np.testing.assert_array_equal(moved[:, others], cash[:, others])


@SETTINGS
@given(step_payments())
def test_cash_moves_by_receipts_less_payments(step):
    cash, payments, _ = step
    before = cash.copy()
    after = pay(cash, payments)
    np.testing.assert_array_equal(cash, before)  # the input is left alone
    for run in range(cash.shape[0]):
        for lab in range(cash.shape[1]):
            flows = [cash[run, lab]]
            for category, amounts in payments.items():
                flows.append(_lab_sign(category) * _per_lab(amounts)[run, lab])
            scale = math.fsum(abs(f) for f in flows)
            assert abs(after[run, lab] - math.fsum(flows)) <= REL * scale
    reverse = dict(reversed(list(payments.items())))
    np.testing.assert_allclose(
        pay(cash, reverse), after, rtol=0.0, atol=REL * _gross(cash, payments)
    )


def _gross(cash: np.ndarray, payments: dict[str, np.ndarray]) -> float:
    """The largest sum of absolute cash and amounts in a run: the scale of its rounding."""
    total = np.abs(cash).sum(axis=1)
    for amounts in payments.values():
        total = total + amounts.reshape(amounts.shape[0], -1).sum(axis=1)
    return float(total.max())


@SETTINGS
@given(step_payments())
def test_pay_of_a_run_does_not_depend_on_its_batch(step):
    cash, payments, _ = step
    together = pay(cash, payments)
    for run in range(cash.shape[0]):
        alone = pay(cash[run : run + 1], {k: v[run : run + 1] for k, v in payments.items()})
        np.testing.assert_allclose(alone[0], together[run], rtol=REL, atol=0.0)


# -- conservation of money ----------------------------------------------------------------


def _book(payments: dict[str, np.ndarray], suppliers: dict[str, int], labs_net: np.ndarray):
    """Every account's received - paid per run: labs from :func:`pay`, the rest from CHANNELS."""
    runs = labs_net.shape[0]
    net = {account: np.zeros(runs) for account in RESERVED_ACCOUNTS}
    net |= {kind: np.zeros((runs, count)) for kind, count in suppliers.items()}
    net[LAB] = labs_net
    for category, amounts in payments.items():
        payer, payee = CHANNELS[category]
        for account, sign in ((payer, -1.0), (payee, 1.0)):
            if account == LAB:
                continue  # the labs' side is what pay() did
            if account in suppliers:  # per supplier: what every lab paid it
                net[account] = net[account] + sign * amounts.sum(axis=1)
            else:
                net[account] = net[account] + sign * amounts.reshape(runs, -1).sum(axis=1)
    return net


@SETTINGS
@given(step_payments())
def test_money_is_conserved_across_all_accounts(step):
    cash, payments, suppliers = step
    labs_net = pay(np.zeros_like(cash), payments)
    net = _book(payments, suppliers, labs_net)
    for run in range(cash.shape[0]):
        balances = [float(x) for values in net.values() for x in np.ravel(values[run])]
        assert abs(math.fsum(balances)) <= REL * max(_gross(cash * 0.0, payments), 1.0)


def test_money_is_conserved_in_an_example():
    payments = {
        "funding": np.array([[100.0, 50.0]]),
        "rd_subsidy": np.array([[4.0, 0.0]]),
        "chips": np.array([[[30.0, 10.0], [20.0, 0.0]]]),
        "tariffs": np.array([[4.0, 2.0]]),
        "energy": np.array([[[5.0], [3.0]]]),
        "carbon_tax": np.array([[[1.0], [0.5]]]),
        "revenue": np.array([[12.0, 8.0]]),
    }
    labs_net = pay(np.zeros((1, 2)), payments)
    np.testing.assert_array_equal(
        labs_net, [[100 - 40 - 4 - 5 - 1 + 12, 50 - 20 - 2 - 3 - 0.5 + 8]]
    )
    net = _book(payments, {CHIP_SUPPLIER: 2, ENERGY_SUPPLIER: 1}, labs_net)
    assert net[INVESTORS].tolist() == [-150.0]
    assert net[CUSTOMERS].tolist() == [-20.0]
    assert net[WORKFORCE].tolist() == [4.0]
    assert net[GOVERNMENT].tolist() == [-4.0 + 6.0 + 1.5]
    assert net[CHIP_SUPPLIER].tolist() == [[50.0, 10.0]]
    assert net[ENERGY_SUPPLIER].tolist() == [[8.0]]
    total = sum(float(np.sum(values)) for values in net.values())
    assert total == 0.0
