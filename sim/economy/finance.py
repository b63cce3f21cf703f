"""A lab's finances: investors back leaders, and a lab keeps a cash buffer (docs/model.md 3.23).

Real labs raise money when they need runway and do not sit on years of it:
outside funding is offered in proportion to the lab's standing in the
market and raised only up to what its buffer needs; cash above the buffer
is returned to investors. The buffer is counted in years of the lab's own
trailing spending, so it scales with the lab.
"""

from __future__ import annotations

import numpy as np

SPENDING_MEMORY_YEARS = 1.0
"""Time constant of the trailing spending rate: roughly the last year's spending."""


def offered(
    base: np.ndarray, share: np.ndarray, opening: np.ndarray, elasticity: np.ndarray
) -> np.ndarray:
    """(B, N) USD investors offer: the scheduled funding times the lab's standing.

    ``base x (share / opening share)^elasticity``: a lab that has gained
    market share since the start is offered more, one that lost it less; at
    the start (or with elasticity 0) the scheduled funding.
    """
    standing = np.where(opening > 0.0, share / opening, 1.0)
    return base * standing**elasticity


def target_cash(buffer_years: np.ndarray, spending_rate: np.ndarray) -> np.ndarray:
    """(B, N) USD a lab keeps: its buffer in years of trailing spending (inf: keeps all)."""
    return np.where(np.isinf(buffer_years), np.inf, buffer_years * spending_rate)


def raised(
    offer: np.ndarray, cash: np.ndarray, target: np.ndarray, step_spending: np.ndarray
) -> np.ndarray:
    """(B, N) USD raised: the offer, at most what refills the buffer and pays this step.

    ``min(offer, max(target + spending_rate x dt - cash, 0))``: a lab whose
    revenue keeps it above its buffer and this step's spending raises nothing.
    """
    return np.minimum(offer, np.maximum(target + step_spending - cash, 0.0))


def spendable(
    cash: np.ndarray, funding: np.ndarray, drawn: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """(B, N) USD a lab may spend in the step: its inflow and draw, or all above its buffer.

    ``min(cash, max(funding + drawn, cash - target))`` with ``drawn =
    spend_rate x dt x cash``: a lab spends what it raised plus a share of its
    reserve, and whatever lies above its buffer (a lab whose revenue outgrows
    its needs spends it rather than hoarding it).
    """
    return np.minimum(cash, np.maximum(funding + drawn, cash - target))


def trailing_rate(rate: np.ndarray, spent: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """(B, N) USD/yr: the trailing spending rate after a step that spent ``spent`` USD.

    An exponential average with time constant :data:`SPENDING_MEMORY_YEARS`,
    exact for any step length: ``rate + (spent / dt - rate) (1 - exp(-dt / tau))``.
    """
    weight = -np.expm1(-dt / SPENDING_MEMORY_YEARS)
    return rate + (spent / dt - rate) * weight


def payout(cash: np.ndarray, target: np.ndarray, earned: np.ndarray) -> np.ndarray:
    """(B, N) USD returned to investors: the cash above the buffer and the step's revenue.

    The revenue just earned is kept for the next step, which spends what lies
    above the buffer (:func:`spendable`); what is still above it a step
    later, the lab could not use, and goes back to its investors.
    """
    return np.where(np.isinf(target), 0.0, np.maximum(cash - target - earned, 0.0))
