"""Double-entry money ledger: every payment moves money between two named accounts.

Accounts are labs, suppliers, the government, and three outside-world accounts
(``investors`` who fund labs, ``customers`` who buy AI services, ``workforce``
paid for R&D and projects). Every transfer debits one account and credits
another, so the balances always sum to zero: money is conserved by
construction, and the tests check the books rather than trust them.

A transfer only appends its row (the journal); balances are posted from the
journal when they are read. Posting applies the rows in order, so the
balances are exactly those of updating both accounts at every transfer, while
a step of the model (dozens of payments, balances never read) stays cheap.
"""

from __future__ import annotations

import math
from collections import defaultdict

GOVERNMENT = "government"
INVESTORS = "investors"
CUSTOMERS = "customers"
WORKFORCE = "workforce"


class Ledger:
    """The journal of transfers (``rows``) and the balances per account posted from it."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, str, str, float]] = []
        self._balances: dict[str, float] = defaultdict(float)
        self._posted = 0  # rows already applied to ``_balances``

    def open(self, account: str, balance: float) -> None:
        """Open an account with a starting balance, funded by its owner's past (``investors``)."""
        self.transfer(0, INVESTORS, account, balance, "opening_balance")

    def transfer(self, step: int, payer: str, payee: str, amount: float, category: str) -> None:
        """Move ``amount`` USD from ``payer`` to ``payee`` (a zero amount books nothing).

        Raises:
            ValueError: on a negative or non-finite amount.
        """
        if not amount >= 0 or amount == math.inf:
            raise ValueError(f"transfer amount must be in [0, inf), got {amount} ({category})")
        if amount != 0.0:
            self.rows.append((step, payer, payee, category, amount))

    @property
    def balances(self) -> dict[str, float]:
        """Balance per account, posted up to the latest transfer."""
        self._post()
        return self._balances

    def _post(self) -> None:
        """Apply the rows not yet posted, in journal order."""
        balances = self._balances
        for _, payer, payee, _, amount in self.rows[self._posted :]:
            balances[payer] -= amount
            balances[payee] += amount
        self._posted = len(self.rows)

    def balance(self, account: str) -> float:
        """Current balance of ``account`` (0 if it never traded)."""
        return self.balances.get(account, 0.0)

    def total(self) -> float:
        """Sum of all balances: zero up to rounding when money is conserved."""
        return sum(self.balances.values())
