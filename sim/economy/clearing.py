"""Market-clearing rules over arrays: rationing, scarcity prices, tatonnement, shares.

Every function works on a batch: the first axis is the run, the last the
buyers (or labs) where there are any, and each run's result depends on that
run's entries only. Quotients that can divide by zero are replaced by
``np.where``; callers that mind numpy's warnings run these under
``np.errstate`` (:func:`sim.economy.phases.step` does).
"""

from __future__ import annotations

import numpy as np

MAX_DEMAND_RATIO = 10.0
"""Cap on demand / supply in the chip price update (zero supply counts as the cap)."""

_ROUNDING_MARGIN = 2.0**-50
"""Per buyer, a margin above the rounding error of summing fills: they never exceed supply."""


def pro_rata(requests: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Fill ``requests`` (B, buyers) at one common fraction per run within ``capacity`` (B,).

    When a run's requests fit with room for rounding (a few ulps), everyone
    gets exactly what they asked for; otherwise each request is filled at
    ``capacity / total``, shaved by a few ulps so that the fills add up to at
    most the capacity in any summation order.
    """
    total = requests.sum(axis=-1)
    buyers = requests.shape[-1]
    fraction = capacity / total * (1.0 - buyers * _ROUNDING_MARGIN)
    # numpy's total may round below another order's sum: in full only with room to spare
    fits = total <= capacity * (1.0 - buyers * _ROUNDING_MARGIN)
    fraction = np.where(fits, 1.0, np.minimum(fraction, 1.0))
    return requests * fraction[..., None]


def by_bid(requests: np.ndarray, bids: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Serve the highest bids first; requests with equal bids share pro rata.

    Each bid level takes what the higher levels left, ``max(0, capacity -
    requested above)`` (capacity shaved by a few ulps for rounding), pro rata
    within the level; below a rationed level nothing is left, not even
    rounding dust. Bids rank buyers only.
    """
    higher = bids[..., None, :] > bids[..., :, None]  # [.., i, j]: j bids more than i
    level = bids[..., None, :] == bids[..., :, None]
    above = (higher * requests[..., None, :]).sum(axis=-1)
    at_level = (level * requests[..., None, :]).sum(axis=-1)
    shave = 1.0 - requests.shape[-1] * _ROUNDING_MARGIN
    # the shave covers the rounding of ``above`` too, not only of this level's fills
    left = np.maximum(capacity[..., None] * shave - above, 0.0)
    rationed = at_level > left
    fraction = np.where(rationed, left / at_level * shave, 1.0)
    below_rationed = (higher & rationed[..., None, :]).any(axis=-1)
    return requests * np.where(below_rationed, 0.0, fraction)


def utilization(requested: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Requested over available, capped at 1; 1 when demand meets zero supply, 0 without demand."""
    ratio = np.minimum(requested / available, 1.0)
    return np.where(requested <= 0.0, 0.0, np.where(available <= 0.0, 1.0, ratio))


def scarcity_price(base: np.ndarray, u: np.ndarray, knee: np.ndarray, slope: np.ndarray):
    """``base x (1 + slope x (max(u - knee, 0) / (1 - knee))^2)``, USD/MWh."""
    excess = np.maximum(u - knee, 0.0) / (1.0 - knee)
    return base * (1.0 + slope * excess**2)


def adjust_price_index(
    index: np.ndarray,
    demand: np.ndarray,
    supply: np.ndarray,
    response: np.ndarray,
    dt: np.ndarray,
    floor: np.ndarray,
    ceiling: np.ndarray,
) -> np.ndarray:
    """Tatonnement: ``index x exp(response dt (demand / supply - 1))`` within [floor, ceiling].

    The demand ratio is capped at :data:`MAX_DEMAND_RATIO` (zero supply counts
    as the cap, or as 1 without demand) and the exponent at 700.
    """
    ratio = np.minimum(demand / supply, MAX_DEMAND_RATIO)
    no_supply = np.where(demand > 0.0, MAX_DEMAND_RATIO, 1.0)
    ratio = np.where(supply > 0.0, ratio, no_supply)
    change = np.minimum(response * dt * (ratio - 1.0), 700.0)
    return np.clip(index * np.exp(change), floor, ceiling)


def logit_shares(losses: np.ndarray, temperature: np.ndarray) -> np.ndarray:
    """Market shares by a logit in ``-L / T``: (B, N) shares summing to 1 per run."""
    scores = -losses / temperature[:, None]
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def hhi(values: np.ndarray) -> np.ndarray:
    """Herfindahl-Hirschman index (0..1) of non-negative quantities (B, N); 0 if all are 0."""
    total = values.sum(axis=-1, keepdims=True)
    index = ((values / total) ** 2).sum(axis=-1)
    return np.where(total[..., 0] > 0.0, index, 0.0)
