"""Every payment is one entry of a flow array: money is conserved by construction.

A payment *channel* is a category with a fixed payer and payee: funding flows
from the investors to a lab, chips from a lab to a chip supplier, and so on.
A step's payments are, per channel, an array of amounts with the run axis
first: ``(B, labs)`` for channels between a lab and an outside account,
``(B, labs, suppliers)`` for channels between a lab and each supplier. A lab's
cash changes only through :func:`lab_cash_change` of those same arrays, and
the ledger table is written from them, so what one account pays another
receives, to the last bit.
"""

from __future__ import annotations

import numpy as np

from sim.config.scenario import RESERVED_ACCOUNTS

INVESTORS, CUSTOMERS, WORKFORCE, GOVERNMENT, CONSTRUCTION = RESERVED_ACCOUNTS

LAB, CHIP_SUPPLIER, ENERGY_SUPPLIER = "lab", "chip_supplier", "energy_supplier"

CHANNELS: dict[str, tuple[str, str]] = {
    "facilities": (LAB, CONSTRUCTION),  # data-centre capex for the MW a lab adds
    "generation": (LAB, CONSTRUCTION),  # capex of a lab's own generation
    "funding": (INVESTORS, LAB),
    "rnd": (LAB, WORKFORCE),
    "rd_subsidy": (GOVERNMENT, WORKFORCE),  # the government's match of a lab's R&D, per lab
    "projects": (LAB, WORKFORCE),
    "chips": (LAB, CHIP_SUPPLIER),  # (B, labs, chip suppliers): paid when ordered
    "chip_refunds": (CHIP_SUPPLIER, LAB),  # queued orders an export control cancelled
    "tariffs": (LAB, GOVERNMENT),
    "energy": (LAB, ENERGY_SUPPLIER),  # (B, labs, energy suppliers)
    "carbon_tax": (LAB, GOVERNMENT),  # (B, labs, energy suppliers): tax on each delivery
    "own_power": (LAB, CONSTRUCTION),  # running cost of the MWh of own generation used
    "own_carbon_tax": (LAB, GOVERNMENT),  # tax on those MWh
    "compliance": (LAB, GOVERNMENT),
    "revenue": (CUSTOMERS, LAB),
    "payouts": (LAB, INVESTORS),  # cash above a lab's buffer, returned
}
"""Category -> (payer, payee): an account name, or the kind of agent of the entry's axis."""

CATEGORIES = ("opening_balance", *CHANNELS)
"""Ledger categories: the opening balances (step 0) and the channels, in booking order."""


def lab_cash_change(category: str, amounts: np.ndarray) -> np.ndarray:
    """``(B, labs)`` change of the labs' cash from one channel's amounts.

    Args:
        category: a key of :data:`CHANNELS`.
        amounts: the channel's amounts, ``(B, labs)`` or ``(B, labs, suppliers)``, USD.
    """
    payer, payee = CHANNELS[category]
    per_lab = amounts if amounts.ndim == 2 else amounts.sum(axis=2)
    if payer == LAB:
        return -per_lab
    if payee == LAB:
        return per_lab
    return np.zeros_like(per_lab)


INCOME = ("funding", "revenue")
"""Channels that bring a lab money from outside the economy's trade: not spending."""


def lab_spending(payments: dict[str, np.ndarray]) -> np.ndarray:
    """``(B, labs)`` USD a lab spent: what it paid net of refunds, income and payouts aside."""
    spent = [
        -lab_cash_change(category, amounts)
        for category, amounts in payments.items()
        if category not in (*INCOME, "payouts")
    ]
    return np.sum(spent, axis=0)


def up_to_cash(amount: np.ndarray, cash: np.ndarray) -> np.ndarray:
    """What a lab pays of ``amount`` that it may pay only from cash: at most what it holds.

    A bill paid to the last dollar (power reserved and billed at the worst
    price) can leave cash a rounding error below zero; a lab holding no cash
    pays nothing rather than a negative amount.
    """
    return np.minimum(amount, np.maximum(cash, 0.0))


def pay(cash: np.ndarray, payments: dict[str, np.ndarray]) -> np.ndarray:
    """The labs' cash after ``payments`` (category -> amounts), each checked to be in [0, inf)."""
    for category, amounts in payments.items():
        valid = (amounts >= 0.0) & (amounts < np.inf)
        if not np.all(valid):
            bad = amounts[~valid].flat[0]
            raise ValueError(f"{category}: a payment must be in [0, inf), got {bad}")
        cash = cash + lab_cash_change(category, amounts)
    return cash
