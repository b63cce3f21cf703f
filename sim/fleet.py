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


@dataclass
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


class Fleet:
    """The installed GPUs of one lab."""

    def __init__(self, cohorts: list[Cohort] | None = None):
        self.cohorts: deque[Cohort] = deque()
        self.by_chip: dict[ChipModel, float] = {}
        self._cohort_count: dict[ChipModel, int] = {}
        self._order: list[ChipModel] = []
        self.units = self.flops = self.watts = 0.0
        for cohort in sorted(cohorts or [], key=lambda c: c.bought):
            self.install(cohort)

    def install(self, cohort: Cohort) -> None:
        """Add a cohort (its purchase time must not precede the newest cohort's)."""
        if cohort.units <= 0:
            return
        self.cohorts.append(cohort)
        chip = cohort.chip
        if chip not in self.by_chip:
            self.by_chip[chip] = 0.0
            self._cohort_count[chip] = 0
            self._order = sorted(self.by_chip, key=lambda c: -c.flops_per_watt)
        self.by_chip[chip] += cohort.units
        self._cohort_count[chip] += 1
        self._totals()

    def retire(self, t: float, lifetime: float) -> float:
        """Remove cohorts at least ``lifetime`` years old at ``t``; return the units removed."""
        removed = 0.0
        while self.cohorts and t - self.cohorts[0].bought >= lifetime - _EPSILON_YEARS:
            cohort = self.cohorts.popleft()
            removed += cohort.units
            self._remove(cohort)
        if removed:
            self._totals()
        return removed

    def _remove(self, cohort: Cohort) -> None:
        chip = cohort.chip
        self._cohort_count[chip] -= 1
        if self._cohort_count[chip] == 0:
            del self.by_chip[chip], self._cohort_count[chip]
            self._order.remove(chip)
        else:
            self.by_chip[chip] -= cohort.units

    def _totals(self) -> None:
        self.units = sum(self.by_chip.values())
        self.flops = sum(units * chip.flops for chip, units in self.by_chip.items())
        self.watts = sum(units * chip.watts for chip, units in self.by_chip.items())

    def running(self, power_w: float) -> tuple[float, float]:
        """GPUs and FLOP/s that ``power_w`` watts of board power run, most FLOP/W first."""
        if power_w >= self.watts:
            return self.units, self.flops
        units = flops = 0.0
        for chip in self._order:
            if power_w <= 0:
                break
            run = min(self.by_chip[chip], power_w / chip.watts)
            power_w -= run * chip.watts
            units += run
            flops += run * chip.flops
        return units, flops
