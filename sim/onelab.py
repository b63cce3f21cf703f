"""The exact one-lab model: the degenerate case of the economy.

One lab with exogenous efficiency growth ``2^(gamma t)``, fixed power and no
market trains along the shared law. Each step adds exactly
``E0 * P * integral_t^(t+dt) 2^(gamma tau) d tau`` of logical compute, so the
cumulative compute and the relative loss equal the closed form of
:mod:`sim.law` at every step, whatever the step length.

The run starts after the baseline year (docs/model.md section 1.4): cumulative compute
at t = 0 is ``C0 = E0 * P * 1 yr`` and the loss there is ``L0``.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.law import (
    LN2,
    SECONDS_PER_YEAR,
    ParameterSet,
    efficiency_integral,
    loss,
    parameter_set,
)


def fleet_power_mw(gpus: float, gpu_watts: float, pue: float) -> float:
    """Facility power in MW drawn by ``gpus`` chips of ``gpu_watts`` at ``pue``."""
    return gpus * gpu_watts * pue / 1e6


def fleet_efficiency(chip_flops: float, mfu: float, gpu_watts: float, pue: float) -> float:
    """Logical FLOP per MW-year of facility power for one chip model at a given MFU."""
    flop_per_year = chip_flops * mfu * SECONDS_PER_YEAR
    return flop_per_year / (gpu_watts * pue / 1e6)


class TrainingLab(mesa.Agent):
    """A lab with fixed power whose efficiency doubles ``gamma`` times a year.

    Attributes:
        efficiency0: logical FLOP per MW-year at t = 0 (``E0``).
        power_mw: mean-field power ``P``.
        gamma: efficiency doublings per year.
        compute: cumulative logical compute, FLOP.
    """

    def __init__(self, model: OneLabModel, efficiency0: float, power_mw: float, gamma: float):
        super().__init__(model)
        self.efficiency0 = efficiency0
        self.power_mw = power_mw
        self.gamma = gamma
        self.compute = efficiency0 * power_mw * 1.0

    def efficiency(self, t: float) -> float:
        """Logical FLOP per MW-year at time ``t``: ``E0 2^(gamma t)``."""
        return self.efficiency0 * np.exp(self.gamma * LN2 * t)

    def train(self, t: float, dt: float) -> None:
        """Accrue the exact compute of the step ``[t, t + dt]``."""
        self.compute += self.efficiency0 * self.power_mw * efficiency_integral(t, dt, self.gamma)

    def years_to_compute(self, t: float, start_compute: float, target_compute: float) -> float:
        """Years after ``t`` until compute grows from ``start_compute`` to ``target_compute``.

        Inverts the same exact within-step integral the lab trains with, so a
        crossing found inside a step is located without interpolation error.
        """
        missing = max(target_compute - start_compute, 0.0)
        rate = self.gamma * LN2
        per_year = self.efficiency0 * self.power_mw * np.exp(rate * t)
        if rate == 0.0:
            return missing / per_year
        return float(np.log1p(missing * rate / per_year) / rate)


class OneLabModel(mesa.Model):
    """One lab, exogenous gamma, fixed power, no market.

    Args:
        gamma: efficiency doublings per year, >= 0.
        power_mw: mean-field power, > 0.
        efficiency0: logical FLOP per MW-year at t = 0, > 0.
        dt: step length in years, > 0.
        params: name of the scaling-law parameter set (see ``sim.law``).
        kappa: overrides the parameter set's exponent if given.
        seed: random seed (the model draws nothing; kept for Mesa's bookkeeping).
    """

    def __init__(
        self,
        *,
        gamma: float,
        power_mw: float = 100.0,
        efficiency0: float = 1e23,
        dt: float = 1 / 12,
        params: str = "kaplan",
        kappa: float | None = None,
        seed: int = 0,
    ):
        super().__init__(rng=seed)
        _require_positive("power_mw", power_mw)
        _require_positive("efficiency0", efficiency0)
        _require_positive("dt", dt)
        if not gamma >= 0.0:
            raise ValueError(f"gamma must be in [0, inf), got {gamma}")
        base = parameter_set(params)
        self.law = ParameterSet(
            base.name, base.E, base.K, base.kappa if kappa is None else kappa, base.source
        )
        self.dt = dt
        self.years = 0.0
        self.lab = TrainingLab(self, efficiency0, power_mw, gamma)
        self.initial_compute = self.lab.compute
        self.initial_loss = float(self.current_loss())
        self.history: list[tuple[float, float, float, float]] = []
        self._record()

    def current_loss(self) -> float:
        """Loss of the lab's cumulative compute along the law."""
        return float(loss(self.lab.compute, self.law.E, self.law.K, self.law.kappa))

    def relative_loss(self) -> float:
        """``(L - E) / (L0 - E)``: R(t) when E = 0, X(t) otherwise."""
        excess = self.current_loss() - self.law.E
        return excess / (self.initial_loss - self.law.E)

    def step(self) -> None:
        """Train one step; time is ``steps * dt`` so it never accumulates rounding."""
        start = (self.steps - 1) * self.dt
        self.lab.train(start, self.dt)
        self.years = self.steps * self.dt
        self._record()

    def _record(self) -> None:
        self.history.append(
            (self.years, self.lab.compute, self.current_loss(), self.relative_loss())
        )

    def target_compute(self, r_target: float) -> float:
        """Cumulative compute at which the relative (excess) loss equals ``r_target``."""
        if not 0.0 < r_target <= 1.0:
            raise ValueError(f"r_target must be in (0, 1], got {r_target}")
        return self.initial_compute * np.exp(-np.log(r_target) / self.law.kappa)

    def run_to_target(self, r_target: float, max_years: float = 1e5) -> float:
        """Step until the relative loss reaches ``r_target``; return the crossing time.

        The crossing inside the last step is located by inverting the lab's
        exact within-step compute path. Returns ``inf`` if ``max_years`` pass first.
        """
        target = self.target_compute(r_target)
        while self.lab.compute < target:
            if self.years >= max_years:
                return float("inf")
            start, before = self.years, self.lab.compute
            self.step()
            if self.lab.compute >= target:
                offset = self.lab.years_to_compute(start, before, target)
                return start + min(offset, self.dt)
        return self.years


def _require_positive(name: str, value: float) -> None:
    if not value > 0.0:
        raise ValueError(f"{name} must be in (0, inf), got {value}")
