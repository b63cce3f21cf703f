"""Lab strategies: how a lab splits its discretionary budget, pluggable by name.

A strategy answers two questions each step: which shares of the discretionary
budget go to GPUs (capex) and to R&D (the rest is saved), and how much of the
budget one-off efficiency projects may take. Register a new one with
:func:`register` and name it in a scenario's ``labs[].strategy``.

Shares (documented in docs/model.md): ``hare`` front-loads GPUs (capex 0.85,
R&D 0.15), ``turtle`` keeps a small fleet and pushes efficiency (0.35 / 0.65),
``baseline`` balances them like the paper's gamma = 0.5 lab (0.6 / 0.4),
``static`` buys nothing (the fixed fleet of the closed-form case), and
``adaptive`` moves its split each step toward whichever of GPUs or R&D buys
more loss reduction per dollar, a myopic marginal comparison on the law.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Marginals:
    """Loss reduction per marginal dollar of each use, over a one-year horizon."""

    capex: float
    rnd: float


class Strategy(Protocol):
    """What every strategy provides."""

    name: str
    project_share: float
    uses_marginals: bool

    def split(self, marginals: Marginals | None) -> tuple[float, float]:
        """Return (capex share, R&D share) of the discretionary budget; sum <= 1.

        ``marginals`` is None for strategies whose ``uses_marginals`` is false
        (the model skips computing what they ignore).
        """
        ...


@dataclass
class FixedSplit:
    """A strategy with constant shares."""

    name: str
    capex_share: float
    rnd_share: float
    project_share: float
    uses_marginals: bool = False

    def split(self, marginals: Marginals | None) -> tuple[float, float]:
        """Constant shares, whatever the marginals."""
        return self.capex_share, self.rnd_share


@dataclass
class Adaptive:
    """Move ``adjustment`` of the budget per step toward the use with the larger marginal.

    Attributes:
        capex_share: current share to GPUs (the rest of ``spend_share`` to R&D).
        adjustment: share moved per step.
        floor: minimum share kept in each use.
    """

    name: str = "adaptive"
    capex_share: float = 0.6
    spend_share: float = 1.0
    adjustment: float = 0.05
    floor: float = 0.1
    project_share: float = 0.2
    uses_marginals: bool = True

    def split(self, marginals: Marginals | None) -> tuple[float, float]:
        """Shift toward the better marginal use, then return the shares."""
        if marginals.capex > marginals.rnd:
            self.capex_share += self.adjustment
        elif marginals.rnd > marginals.capex:
            self.capex_share -= self.adjustment
        upper = self.spend_share - self.floor
        self.capex_share = min(max(self.capex_share, self.floor), upper)
        return self.capex_share, self.spend_share - self.capex_share


def _hare() -> Strategy:
    return FixedSplit("hare", capex_share=0.85, rnd_share=0.15, project_share=0.05)


def _turtle() -> Strategy:
    return FixedSplit("turtle", capex_share=0.35, rnd_share=0.65, project_share=0.5)


def _baseline() -> Strategy:
    return FixedSplit("baseline", capex_share=0.6, rnd_share=0.4, project_share=0.2)


def _static() -> Strategy:
    return FixedSplit("static", capex_share=0.0, rnd_share=0.0, project_share=0.0)


_REGISTRY = {
    "hare": _hare,
    "turtle": _turtle,
    "baseline": _baseline,
    "static": _static,
    "adaptive": Adaptive,
}


def register(name: str, factory) -> None:
    """Make a strategy available by name; ``factory()`` returns a fresh instance per lab."""
    _REGISTRY[name] = factory


def make_strategy(name: str) -> Strategy:
    """A fresh strategy instance (strategies may keep per-lab state).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise ValueError(f"strategy must be one of {', '.join(_REGISTRY)}, got {name!r}") from None


def known_strategies() -> list[str]:
    """Names of every registered strategy."""
    return list(_REGISTRY)
