"""The ledger's journal: rows, columns and balances agree, whatever the storage."""

from __future__ import annotations

import math

import pytest

from sim.ledger import GOVERNMENT, INVESTORS, Ledger


def _ledger() -> Ledger:
    ledger = Ledger()
    ledger.open("lab_a", 100.0)
    ledger.open("lab_b", 0.0)  # a zero amount books nothing
    ledger.transfer(1, "lab_a", GOVERNMENT, 2.5, "tariffs")
    ledger.transfer(1, "lab_a", "lab_b", 0.1, "chips")
    return ledger


def test_rows_keep_booking_order_and_names():
    assert _ledger().rows == [
        (0, INVESTORS, "lab_a", "opening_balance", 100.0),
        (1, "lab_a", GOVERNMENT, "tariffs", 2.5),
        (1, "lab_a", "lab_b", "chips", 0.1),
    ]


def test_columns_are_codes_into_names():
    ledger = _ledger()
    steps, payers, payees, categories, amounts = ledger.columns()
    assert len(ledger) == len(steps) == 3
    assert [ledger.names[c] for c in payers] == [INVESTORS, "lab_a", "lab_a"]
    assert [ledger.names[c] for c in payees] == ["lab_a", GOVERNMENT, "lab_b"]
    assert [ledger.names[c] for c in categories] == ["opening_balance", "tariffs", "chips"]
    assert amounts.tolist() == [100.0, 2.5, 0.1]


def test_balances_post_incrementally_and_sum_to_zero():
    ledger = _ledger()
    assert ledger.balance("lab_a") == 100.0 - 2.5 - 0.1
    ledger.transfer(2, "lab_b", "lab_a", 0.1, "chips")
    assert ledger.balance("lab_b") == 0.0
    assert ledger.balance("nobody") == 0.0
    assert math.isclose(ledger.total(), 0.0, abs_tol=1e-12)


@pytest.mark.parametrize("amount", [-1.0, math.inf, math.nan])
def test_bad_amounts_are_refused(amount):
    with pytest.raises(ValueError, match="transfer amount"):
        Ledger().transfer(1, "a", "b", amount, "chips")
