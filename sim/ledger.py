"""Double-entry money ledger: every payment moves money between two named accounts.

Accounts are labs, suppliers, the government, and three outside-world accounts
(``investors`` who fund labs, ``customers`` who buy AI services, ``workforce``
paid for R&D and projects). Every transfer debits one account and credits
another, so the balances always sum to zero: money is conserved by
construction, and the tests check the books rather than trust them.
"""

from __future__ import annotations

from collections import defaultdict

GOVERNMENT = "government"
INVESTORS = "investors"
CUSTOMERS = "customers"
WORKFORCE = "workforce"


class Ledger:
    """Balances per account and the step's transfers by category."""

    def __init__(self) -> None:
        self.balances: dict[str, float] = defaultdict(float)
        self.rows: list[tuple[int, str, str, str, float]] = []

    def open(self, account: str, balance: float) -> None:
        """Open an account with a starting balance, funded by its owner's past (``investors``)."""
        self.transfer(0, INVESTORS, account, balance, "opening_balance")

    def transfer(self, step: int, payer: str, payee: str, amount: float, category: str) -> None:
        """Move ``amount`` USD from ``payer`` to ``payee``.

        Raises:
            ValueError: on a negative or non-finite amount.
        """
        if not amount >= 0 or amount == float("inf"):
            raise ValueError(f"transfer amount must be in [0, inf), got {amount} ({category})")
        if amount == 0.0:
            return
        self.balances[payer] -= amount
        self.balances[payee] += amount
        self.rows.append((step, payer, payee, category, amount))

    def balance(self, account: str) -> float:
        """Current balance of ``account`` (0 if it never traded)."""
        return self.balances.get(account, 0.0)

    def total(self) -> float:
        """Sum of all balances: zero up to rounding when money is conserved."""
        return sum(self.balances.values())
