"""Lab strategies: parameter sets of one budget-split rule, registered by name.

Each step a lab splits its discretionary budget (what is left after its power
bill) into GPUs (``capex_share``), R&D (``rnd_share``) and savings (the
rest), after letting one-off efficiency projects take up to
``project_share`` of it. The rule itself is :func:`sim.economy.phases.split_budget`.

- ``hare`` front-loads GPUs (capex 0.85, R&D 0.15);
- ``turtle`` keeps a small fleet and pushes efficiency (0.35 / 0.65);
- ``baseline`` balances them like the paper's gamma = 0.5 lab (0.6 / 0.4);
- ``static`` buys nothing (the fixed fleet of the closed-form case);
- ``adaptive`` starts at 0.6 and moves its GPU share by ``adjustment`` each
  step toward whichever of GPUs or R&D buys more loss reduction per dollar
  over one year, within ``[floor, spend_share - floor]`` (R&D gets the rest
  of ``spend_share``), a myopic marginal comparison on the law.

Each strategy also splits the powered fleet's compute between its three uses
(``training_share``, ``research_share``, ``inference_share``, summing to 1):
frontier training, research experiments and inference serving. The shipped
ones use :data:`COMPUTE_USES` (Epoch AI's estimate of OpenAI's 2024 compute:
final training runs about a tenth of $5B R&D compute, inference $2B of $7B);
``static``, the closed-form lab, trains with all of it.

Register another with :func:`register` and name it in ``labs[].strategy``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Strategy:
    """One strategy's parameters (shares of the discretionary budget)."""

    name: str
    capex_share: float
    rnd_share: float
    project_share: float
    adaptive: bool = False
    adjustment: float = 0.0
    floor: float = 0.0
    spend_share: float = 1.0
    training_share: float = 1.0
    research_share: float = 0.0
    inference_share: float = 0.0

    def __post_init__(self) -> None:
        """Refuse shares outside [0, 1] or GPU and R&D shares that spend more than the budget."""
        shares = ("training_share", "research_share", "inference_share")
        for field in ("capex_share", "rnd_share", "project_share", "adjustment", "floor", *shares):
            if not 0.0 <= getattr(self, field) <= 1.0:
                raise ValueError(f"strategy {self.name}: {field} must be in [0, 1]")
        if self.capex_share + self.rnd_share > self.spend_share + 1e-12:
            raise ValueError(f"strategy {self.name}: capex_share + rnd_share exceeds spend_share")
        if abs(sum(getattr(self, field) for field in shares) - 1.0) > 1e-9:
            raise ValueError(f"strategy {self.name}: the compute-use shares must sum to 1")


COMPUTE_USES = {"training_share": 0.15, "research_share": 0.55, "inference_share": 0.30}
"""Training / research / inference split of the shipped strategies (docs/model.md 3.3)."""

_REGISTRY: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("hare", capex_share=0.85, rnd_share=0.15, project_share=0.05, **COMPUTE_USES),
        Strategy("turtle", capex_share=0.35, rnd_share=0.65, project_share=0.5, **COMPUTE_USES),
        Strategy("baseline", capex_share=0.6, rnd_share=0.4, project_share=0.2, **COMPUTE_USES),
        Strategy("static", capex_share=0.0, rnd_share=0.0, project_share=0.0),
        Strategy(
            "adaptive", capex_share=0.6, rnd_share=0.4, project_share=0.2,
            adaptive=True, adjustment=0.05, floor=0.1, **COMPUTE_USES,
        ),  # fmt: skip
    )
}


def register(strategy: Strategy) -> None:
    """Make a strategy available by its name."""
    _REGISTRY[strategy.name] = strategy


def make_strategy(name: str) -> Strategy:
    """The strategy called ``name``.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"strategy must be one of {', '.join(_REGISTRY)}, got {name!r}") from None

