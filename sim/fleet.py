"""A GPU fleet: cohorts in purchase order, retired after a lifetime, powered best-first.

Cohorts are kept in purchase order, so retirement pops from the front; units
are also aggregated per chip model, so dispatching power (most FLOP per watt
first) walks a handful of chip models rather than every cohort. Totals are
recomputed from the per-chip aggregates after every change, so they never
drift from the cohorts.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from sim.chips import ChipModel

_EPSILON_YEARS = 1e-12


@dataclass(slots=True)
class Cohort:
    """GPUs of one chip model bought at one time.

    Attributes:
        chip: the chip model.
        units: number of GPUs (fractional in this mean-field model).
        bought: model time of purchase in years (negative: owned before t = 0).
    """

    chip: ChipModel
    units: float
    bought: float


@dataclass(slots=True, eq=False)
class _ChipTotal:
    """Units of one chip model across a fleet's cohorts (compared by identity).

    ``flops`` and ``watts`` are ``units x chip.flops`` and ``units x chip.watts``,
    set together with ``units`` whenever it changes (the fleet totals add
    them up often, the units change rarely).
    """

    chip: ChipModel
    units: float
    cohorts: int
    flops: float = 0.0
    watts: float = 0.0


class Fleet:
    """The installed GPUs of one lab.

    Per chip model, one :class:`_ChipTotal` record: ``by_chip`` finds it,
    ``_order`` lists the records most FLOP per watt first, so dispatching
    power hashes nothing. Each cohort's record is kept beside it (retiring
    hashes nothing either), and the record of the last chip installed is
    remembered: a lab mostly buys the same chip step after step, and
    ``ChipModel.__hash__`` is a Python call.

    ``cohorts`` is for reading: change a fleet through :meth:`install`,
    :meth:`turn_over` and :meth:`retire`, which keep the records beside it.
    """

    def __init__(self, cohorts: list[Cohort] | None = None):
        self.cohorts: deque[Cohort] = deque()
        self._cohort_totals: deque[_ChipTotal] = deque()  # the record of each of self.cohorts
        self._totals_by_chip: dict[ChipModel, _ChipTotal] = {}
        self._order: list[_ChipTotal] = []
        self._last: tuple[ChipModel | None, _ChipTotal | None] = (None, None)
        self.units = self.flops = self.watts = 0.0
        for cohort in sorted(cohorts or [], key=lambda c: c.bought):
            self.install(cohort)

    @property
    def by_chip(self) -> dict[ChipModel, float]:
        """Units installed per chip model, in order of first installation."""
        return {chip: total.units for chip, total in self._totals_by_chip.items()}

    def install(self, cohort: Cohort) -> None:
        """Add a cohort (its purchase time must not precede the newest cohort's)."""
        if self._add(cohort):
            self._totals()

    def turn_over(self, cohorts: list[Cohort], t: float, lifetime: float) -> float:
        """Install ``cohorts``, then retire what is ``lifetime`` years old at ``t``.

        The same as :meth:`install` for each cohort, then :meth:`retire`, with
        the totals recounted once instead of after every change.

        Returns:
            The units retired.
        """
        changed = False
        for cohort in cohorts:
            changed = self._add(cohort) or changed
        removed = self._retire(t, lifetime)
        if changed or removed:
            self._totals()
        return removed

    def _add(self, cohort: Cohort) -> bool:
        """Add a cohort to the records, without recounting the totals; False if it is empty."""
        if cohort.units <= 0:
            return False
        chip = cohort.chip
        last_chip, total = self._last
        if chip is not last_chip:
            total = self._totals_by_chip.get(chip)
            if total is None:
                total = self._totals_by_chip[chip] = _ChipTotal(chip, 0.0, 0)
                self._order = sorted(
                    self._totals_by_chip.values(), key=lambda t: -t.chip.flops_per_watt
                )
            self._last = (chip, total)
        self.cohorts.append(cohort)
        self._cohort_totals.append(total)
        units = total.units + cohort.units  # flops and watts follow units
        total.units, total.flops, total.watts = units, units * chip.flops, units * chip.watts
        total.cohorts += 1
        return True

    def retire(self, t: float, lifetime: float) -> float:
        """Remove cohorts at least ``lifetime`` years old at ``t``; return the units removed."""
        removed = self._retire(t, lifetime)
        if removed:
            self._totals()
        return removed

    def _retire(self, t: float, lifetime: float) -> float:
        """:meth:`retire` without recounting the totals."""
        removed = 0.0
        while self.cohorts and t - self.cohorts[0].bought >= lifetime - _EPSILON_YEARS:
            cohort = self.cohorts.popleft()
            removed += cohort.units
            self._remove(cohort, self._cohort_totals.popleft())
        return removed

    def _remove(self, cohort: Cohort, total: _ChipTotal) -> None:
        """Take a retired cohort out of its chip's record ``total``."""
        total.cohorts -= 1
        if total.cohorts == 0:
            del self._totals_by_chip[cohort.chip]
            self._order.remove(total)
            if self._last[1] is total:
                self._last = (None, None)
        else:
            units = total.units - cohort.units
            chip = total.chip
            total.units, total.flops, total.watts = units, units * chip.flops, units * chip.watts

    def _totals(self) -> None:
        """Recompute units, FLOP/s and watts from the per-chip records, in their order.

        One pass with three running sums: the same additions in the same order
        as ``sum()`` over each, so the totals are bit-identical to it.
        """
        units = flops = watts = 0.0
        for total in self._totals_by_chip.values():
            units += total.units
            flops += total.flops  # = total.units * total.chip.flops
            watts += total.watts
        self.units, self.flops, self.watts = units, flops, watts

    def running(self, power_w: float) -> tuple[float, float]:
        """GPUs and FLOP/s that ``power_w`` watts of board power run, most FLOP/W first."""
        if power_w >= self.watts:
            return self.units, self.flops
        units = flops = 0.0
        for total in self._order:
            if power_w <= 0:
                break
            chip = total.chip
            powered = power_w / chip.watts
            run = powered if powered < total.units else total.units  # min(), no call
            power_w -= run * chip.watts
            units += run
            flops += run * chip.flops
        return units, flops
