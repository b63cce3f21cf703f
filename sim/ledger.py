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

The journal is one flat list of numbers, five per transfer: the step, the
payer, payee and category as small integer codes into one table of names,
and the amount. Ints and floats are not tracked by the garbage collector, so
thousands of payments add no work for it (a tuple per row would trigger
several collections per run), and the recorder slices the columns out of it
without a pass over Python objects per row.
"""

from __future__ import annotations

import math
from collections import defaultdict

GOVERNMENT = "government"
INVESTORS = "investors"
CUSTOMERS = "customers"
WORKFORCE = "workforce"

_WIDTH = 5  # numbers per transfer in the journal


class Ledger:
    """The journal of transfers and the balances per account posted from it.

    Attributes:
        names: every account and category name seen, indexed by its code.
    """

    def __init__(self) -> None:
        self.names: list[str] = []
        # name -> code (index into ``names``). A plain dict, not a subclass with
        # __missing__: the interpreter specialises lookups in exact dicts only.
        self._codes: dict[str, int] = {}
        self._journal: list[int | float] = []  # step, payer, payee, category, amount, ...
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
        if 0.0 < amount < math.inf:  # the common case first: one comparison chain
            codes = self._codes
            try:
                row = (step, codes[payer], codes[payee], codes[category], amount)
            except KeyError:  # a name seen for the first time
                row = (step, self._code(payer), self._code(payee), self._code(category), amount)
            self._journal.extend(row)
        elif amount != 0.0:  # negative, infinite or NaN
            raise ValueError(f"transfer amount must be in [0, inf), got {amount} ({category})")

    def _code(self, name: str) -> int:
        """The code of ``name``, giving it the next one if it has none yet."""
        code = self._codes.get(name)
        if code is None:
            code = self._codes[name] = len(self.names)
            self.names.append(name)
        return code

    def __len__(self) -> int:
        """Number of transfers booked."""
        return len(self._journal) // _WIDTH

    @property
    def rows(self) -> list[tuple[int, str, str, str, float]]:
        """The journal as ``(step, payer, payee, category, amount)`` rows, in booking order."""
        names = self.names
        columns = zip(*self.columns(), strict=True)
        return [
            (step, names[payer], names[payee], names[category], amount)
            for step, payer, payee, category, amount in columns
        ]

    def columns(self) -> tuple[list[int], list[int], list[int], list[int], list[float]]:
        """The journal by column: steps, payer codes, payee codes, category codes, amounts.

        Codes index :attr:`names`.
        """
        journal = self._journal
        return tuple(journal[i::_WIDTH] for i in range(_WIDTH))

    @property
    def balances(self) -> dict[str, float]:
        """Balance per account, posted up to the latest transfer."""
        self._post()
        return self._balances

    def _post(self) -> None:
        """Apply the rows not yet posted, in journal order."""
        balances, names, journal = self._balances, self.names, self._journal
        start = self._posted * _WIDTH
        payers, payees = journal[start + 1 :: _WIDTH], journal[start + 2 :: _WIDTH]
        for payer, payee, amount in zip(payers, payees, journal[start + 4 :: _WIDTH], strict=True):
            balances[names[payer]] -= amount
            balances[names[payee]] += amount
        self._posted = len(self)

    def balance(self, account: str) -> float:
        """Current balance of ``account`` (0 if it never traded)."""
        return self.balances.get(account, 0.0)

    def total(self) -> float:
        """Sum of all balances: zero up to rounding when money is conserved."""
        return sum(self.balances.values())
