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

Names (accounts and categories) are kept as small integer codes into one
table, :attr:`Ledger.names`. The fixed accounts and the model's payment
categories have fixed codes (:data:`CODES`), so the model books by code
(:meth:`Ledger.book`) without a lookup. Each row is packed into 40 bytes
(four 64-bit integers and a double): bytes are invisible to the garbage
collector, and the whole journal becomes numpy columns in one
``np.frombuffer``, with no pass over Python objects per row.
"""

from __future__ import annotations

import math
import struct
from collections import defaultdict

import numpy as np

GOVERNMENT = "government"
INVESTORS = "investors"
CUSTOMERS = "customers"
WORKFORCE = "workforce"

RESERVED_ACCOUNTS = (INVESTORS, CUSTOMERS, WORKFORCE, GOVERNMENT)
"""The outside-world and government accounts; no lab or supplier may take these names."""

CATEGORIES = (
    "opening_balance", "funding", "revenue", "chips", "tariffs", "energy", "carbon_tax",
    "rnd", "rd_subsidy", "projects", "compliance",
)  # fmt: skip
"""The categories of payment the model books."""

CODES = {name: code for code, name in enumerate((*RESERVED_ACCOUNTS, *CATEGORIES))}
"""Fixed codes of the reserved accounts and the categories, the same in every ledger."""

_ROW = struct.Struct("<qqqqd")  # step, payer, payee, category codes, amount
pack_row = _ROW.pack
"""``pack_row(step, payer, payee, category, amount)``: one journal row, as :meth:`Ledger.book`
packs it. For a hot-path caller that checks ``0 < amount < inf`` and books by code
itself (the model): ``ledger.journal.append(pack_row(...))`` is exactly :meth:`Ledger.book`."""
ROW_DTYPE = np.dtype(
    [("step", "<i8"), ("payer", "<i8"), ("payee", "<i8"), ("category", "<i8"), ("amount", "<f8")]
)
"""The numpy layout of one packed journal row."""


class Ledger:
    """The journal of transfers and the balances per account posted from it.

    Attributes:
        names: every account and category name seen, indexed by its code
            (the reserved accounts and the categories first, see :data:`CODES`).
        journal: the packed rows (:data:`pack_row`), in booking order; append
            only, and only rows with ``0 < amount < inf``.
    """

    def __init__(self) -> None:
        self.names: list[str] = list(CODES)
        self._codes: dict[str, int] = dict(CODES)
        self.journal: list[bytes] = []
        self._balances: dict[str, float] = defaultdict(float)
        self._posted = 0  # rows already applied to ``_balances``

    def open(self, account: str, balance: float) -> int:
        """Open an account with a starting balance, funded by its owner's past (``investors``).

        Returns:
            The account's code, for :meth:`book`.
        """
        self.transfer(0, INVESTORS, account, balance, "opening_balance")
        return self.code(account)

    def code(self, name: str) -> int:
        """The code of ``name``, giving it the next one if it has none yet."""
        code = self._codes.get(name)
        if code is None:
            code = self._codes[name] = len(self.names)
            self.names.append(name)
        return code

    def transfer(self, step: int, payer: str, payee: str, amount: float, category: str) -> None:
        """Move ``amount`` USD from ``payer`` to ``payee`` (a zero amount books nothing).

        Raises:
            ValueError: on a negative or non-finite amount.
        """
        self.book(step, self.code(payer), self.code(payee), amount, self.code(category))

    def book(self, step: int, payer: int, payee: int, amount: float, category: int) -> None:
        """:meth:`transfer` by codes (from :meth:`code` or :data:`CODES`): the model's hot path.

        Raises:
            ValueError: on a negative or non-finite amount.
        """
        if 0.0 < amount < math.inf:  # the common case first: one comparison chain
            self.journal.append(pack_row(step, payer, payee, category, amount))
        elif amount != 0.0:  # negative, infinite or NaN
            name = self.names[category] if 0 <= category < len(self.names) else category
            raise ValueError(f"transfer amount must be in [0, inf), got {amount} ({name})")

    def __len__(self) -> int:
        """Number of transfers booked."""
        return len(self.journal)

    @property
    def rows(self) -> list[tuple[int, str, str, str, float]]:
        """The journal as ``(step, payer, payee, category, amount)`` rows, in booking order."""
        names = self.names
        return [
            (step, names[payer], names[payee], names[category], amount)
            for step, payer, payee, category, amount in self._unpacked(0)
        ]

    def table(self) -> np.ndarray:
        """The journal as a structured array of :data:`ROW_DTYPE`, one record per transfer."""
        return np.frombuffer(b"".join(self.journal), dtype=ROW_DTYPE)

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The journal by column: steps, payer codes, payee codes, category codes, amounts.

        Codes index :attr:`names`.
        """
        table = self.table()
        return tuple(table[field] for field in ROW_DTYPE.names)

    def _unpacked(self, start: int):
        """The rows from ``start`` on, as tuples of numbers."""
        return _ROW.iter_unpack(b"".join(self.journal[start:]))

    @property
    def balances(self) -> dict[str, float]:
        """Balance per account, posted up to the latest transfer."""
        self._post()
        return self._balances

    def _post(self) -> None:
        """Apply the rows not yet posted, in journal order."""
        balances, names = self._balances, self.names
        for _, payer, payee, _, amount in self._unpacked(self._posted):
            balances[names[payer]] -= amount
            balances[names[payee]] += amount
        self._posted = len(self)

    def balance(self, account: str) -> float:
        """Current balance of ``account`` (0 if it never traded)."""
        return self.balances.get(account, 0.0)

    def total(self) -> float:
        """Sum of all balances: zero up to rounding when money is conserved."""
        return sum(self.balances.values())
