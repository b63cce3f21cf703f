"""Market clearing rules: pure functions over numpy arrays (docs/model.md sections 3.13-3.14).

Nothing here knows about agents. Suppliers call these functions to share a
step's capacity among buyers, to move their price index, and to price scarce
power; the model calls them to compute market shares and concentration.

Conventions:
    - Requests, capacities and fills are non-negative and finite (a capacity
      of ``+inf`` is accepted and means "unconstrained").
    - Every function raises ``ValueError`` naming the argument and its allowed
      range on bad input, never ``assert``.
    - Fills are computed so that ``fill <= request`` elementwise and
      ``sum(fill) <= capacity`` hold exactly in floating point, not just up
      to rounding (the conservation checks of the model rely on it).
"""

from __future__ import annotations

import math

import numpy as np

from sim.checks import number

MAX_DEMAND_RATIO = 10.0
"""Cap on demand/supply in the price update, so one shock cannot blow the index up."""


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------


def _vector(name: str, values: np.ndarray | list[float], *, low: float = 0.0) -> np.ndarray:
    """Return a finite 1-D float array with every element >= ``low``."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be an array of numbers, got {values!r}") from error
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, in [{low}, inf)")
    if array.size and array.min() < low:
        raise ValueError(f"{name} must be in [{low}, inf), got min {array.min()!r}")
    return array


# --------------------------------------------------------------------------
# Allocation
# --------------------------------------------------------------------------


def _floats(name: str, values: np.ndarray | list[float], *, low: float = 0.0) -> list[float]:
    """Validate a 1-D sequence as Python floats, each finite and >= ``low``.

    Per-step markets have a handful of buyers: Python floats beat numpy here.
    """
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {values.shape}")
        values = values.tolist()
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be an array of numbers, got {values!r}") from error
    for value in numbers:
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, in [{low}, inf)")
        if value < low:
            raise ValueError(f"{name} must be in [{low}, inf), got min {min(numbers)!r}")
    return numbers


def _largest_sum(values: list[float], exact: float | None = None) -> float:
    """The largest of the exact, left-to-right and numpy sums of ``values``.

    Callers add fills up in any of these orders; rounding must not let any of
    them exceed capacity. ``exact`` is ``math.fsum(values)`` if the caller has it.
    """
    if exact is None:
        exact = math.fsum(values)
    # numpy >= 2.5 sums even short arrays in its own order, not left to right
    return max(exact, sum(values), float(np.sum(values)))


_ROUNDING_SLACK = 2.0**-51
"""Per element, twice the relative error bound of summing non-negative floats in any order."""


def _sums_fit(values: list[float], capacity: float, exact: float | None = None) -> bool:
    """Whether ``_largest_sum(values) <= capacity``, usually without computing it.

    For non-negative values, any order of floating-point additions is within
    a relative ``(n - 1) u / (1 - (n - 1) u)`` of the exact sum (``u = 2^-53``;
    Higham, *Accuracy and Stability of Numerical Algorithms*, 2002, eq. 4.4),
    and ``math.fsum`` is the exact sum correctly rounded. So when ``fsum``
    stays below capacity by ``n x 2^-51`` (twice that bound), no summation
    order can exceed capacity and the answer is yes; only sums that come
    closer pay for the three sums (numpy's included).
    """
    if exact is None:
        exact = math.fsum(values)
    if exact * (1.0 + len(values) * _ROUNDING_SLACK) <= capacity:
        return True
    return _largest_sum(values, exact) <= capacity


def _scale_within(
    requests: list[float], capacity: float, total: float | None = None
) -> list[float]:
    """Scale ``requests`` by one common fraction so the sum is <= capacity exactly.

    ``total`` is ``math.fsum(requests)`` if the caller has it.
    """
    if total is None:
        total = math.fsum(requests)
    if total <= capacity and _sums_fit(requests, capacity, total):
        return list(requests)
    fraction = capacity / total
    fraction = fraction if fraction < 1.0 else 1.0  # min(1.0, ...)
    filled = [r * fraction for r in requests]
    while not _sums_fit(filled, capacity) and fraction > 0.0:
        fraction = math.nextafter(fraction * (1.0 - 1e-15), 0.0)
        filled = [r * fraction for r in requests]
    return filled


def allocate_pro_rata(requests: np.ndarray, capacity: float) -> np.ndarray:
    """Share ``capacity`` among ``requests`` with one common fill fraction.

    If total requests fit, everyone gets exactly what they asked for; otherwise
    each request is filled at the same fraction ``capacity / sum(requests)``
    (proportional rationing, the usual rule for an oversubscribed supplier).

    Args:
        requests: 1-D array of requested quantities, each in [0, inf).
        capacity: Quantity available, in [0, inf] (inf = unconstrained).

    Returns:
        Filled quantities, same shape: ``0 <= filled <= requests`` and
        ``sum(filled) <= capacity``.
    """
    return np.array(pro_rata_fill(requests, capacity), dtype=float)


def pro_rata_fill(requests: list[float] | np.ndarray, capacity: float) -> list[float]:
    """:func:`allocate_pro_rata` returning Python floats (the per-step hot path)."""
    wanted = _floats("requests", requests)
    cap = number("capacity", capacity, 0.0, allow_inf=True)
    return _scale_within(wanted, cap)


def pro_rata_fill_unchecked(
    requests: list[float], capacity: float, total: float | None = None
) -> list[float]:
    """:func:`pro_rata_fill` without input checks, for callers that validated already.

    ``requests`` must be finite floats >= 0 and ``capacity`` a float in [0, inf];
    ``total``, if given, must be ``math.fsum(requests)``.
    """
    return _scale_within(requests, capacity, total)


def allocate_by_bid(requests: np.ndarray, bids: np.ndarray, capacity: float) -> np.ndarray:
    """Serve the highest bids first; buyers with equal bids share pro rata.

    Capacity goes down the bid ladder: each bid level takes what is left,
    pro rata within the level, until capacity runs out. Bids rank buyers
    only; what they pay is set by the supplier's price rule.

    Args:
        requests: 1-D array of requested quantities, each in [0, inf).
        bids: 1-D array of bids, same length, each finite.
        capacity: Quantity available, in [0, inf] (inf = unconstrained).

    Returns:
        Filled quantities with ``0 <= filled <= requests``, ``sum <= capacity``.
    """
    wanted = _vector("requests", requests)
    offers = _vector("bids", bids, low=-math.inf)
    if offers.shape != wanted.shape:
        raise ValueError(f"bids must have the shape of requests {wanted.shape}, got {offers.shape}")
    left = number("capacity", capacity, 0.0, allow_inf=True)
    capacity = left
    filled = np.zeros_like(wanted)
    members = np.zeros(wanted.shape, dtype=bool)
    for level in np.unique(offers)[::-1]:
        members = offers == level
        level_requests = wanted[members]
        filled[members] = _scale_within(level_requests, left)
        if float(level_requests.sum()) >= left:
            break  # this level is rationed: nothing (not even rounding dust) goes lower
        left = max(0.0, left - float(level_requests.sum()))
    return _trim_rounding(filled, members, capacity)


def _trim_rounding(filled: np.ndarray, last: np.ndarray, capacity: float) -> np.ndarray:
    """Shave rounding excess off the last level served so ``sum(filled) <= capacity``."""
    for _ in range(64):
        excess = float(filled.sum()) - capacity
        if excess <= 0.0:
            break
        level = filled[last]
        step = max(excess, float(np.spacing(capacity)))
        filled[last] = _scale_within(level, max(0.0, float(level.sum()) - step))
    return filled


# --------------------------------------------------------------------------
# Prices
# --------------------------------------------------------------------------


def _demand_ratio(demand: float, supply: float, cap: float) -> float:
    """Demand over supply, capped; zero supply counts as the cap (or 1 if no demand)."""
    if supply > 0.0:
        ratio = demand / supply
        return cap if cap < ratio else ratio  # min(ratio, cap) without a call
    return cap if demand > 0.0 else 1.0


def adjust_price_index(
    index: float,
    demand: float,
    supply: float,
    response: float,
    dt: float,
    floor: float = 0.5,
    ceiling: float = 5.0,
    max_ratio: float = MAX_DEMAND_RATIO,
) -> float:
    """Multiplicative tatonnement step of a supplier's price index.

    ``new = index * exp(response * dt * (min(demand/supply, max_ratio) - 1))``,
    clipped to ``[floor, ceiling]``. Excess demand (ratio > 1) raises the
    index, slack lowers it, balance leaves it unchanged; ``response`` is the
    log-price change per year per unit of excess demand. The ratio is capped
    so one demand spike moves the log index by at most
    ``response * dt * (max_ratio - 1)``. Supply 0 with positive demand counts
    as the cap; no supply and no demand leaves the index unchanged.

    Args:
        index: Current index, > 0 and finite (1.0 = list price).
        demand: Quantity requested in the step, in [0, inf).
        supply: Quantity producible in the step, in [0, inf).
        response: Price response per year, in [0, inf).
        dt: Step length in years, in (0, inf).
        floor: Lowest index, in (0, ceiling].
        ceiling: Highest index, in [floor, inf).
        max_ratio: Cap on demand/supply, in [1, inf).

    Returns:
        The updated index as a float in ``[floor, ceiling]``.
    """
    idx = number("index", index, 0.0, low_open=True)
    wanted = number("demand", demand, 0.0)
    made = number("supply", supply, 0.0)
    speed = number("response", response, 0.0)
    step = number("dt", dt, 0.0, low_open=True)
    low = number("floor", floor, 0.0, low_open=True)
    high = number("ceiling", ceiling, low)
    cap = number("max_ratio", max_ratio, 1.0)
    return adjust_price_index_unchecked(idx, wanted, made, speed, step, low, high, cap)


def adjust_price_index_unchecked(
    index: float,
    demand: float,
    supply: float,
    response: float,
    dt: float,
    floor: float,
    ceiling: float,
    max_ratio: float = MAX_DEMAND_RATIO,
) -> float:
    """:func:`adjust_price_index` without input checks (a supplier's validated state)."""
    ratio = _demand_ratio(demand, supply, max_ratio)
    # Cap the exponent so a large response * dt cannot overflow exp().
    change = response * dt * (ratio - 1.0)
    change = 700.0 if change > 700.0 else change
    # min(ceiling, max(floor, moved)) without the builtin calls (a per-step hot path)
    moved = index * math.exp(change)
    moved = moved if moved > floor else floor
    return float(moved if moved < ceiling else ceiling)


def scarcity_price(
    base_price: float | np.ndarray,
    utilization: float | np.ndarray,
    knee: float = 0.8,
    slope: float = 4.0,
) -> float | np.ndarray:
    """Price that is flat up to a utilization knee and rises convexly above it.

    ``p = base`` for ``u <= knee`` and
    ``p = base * (1 + slope * ((u - knee) / (1 - knee))**2)`` above, so at full
    utilization (u = 1) the price is ``base * (1 + slope)`` (5x with the
    defaults) and the curve is continuous with zero slope at the knee. This is
    the stylised "hockey stick" merit-order curve of a tight grid; knee and
    slope are free parameters (no row in docs/calibration.md; base price from its
    "Energy" rows, e.g. US industrial about 81 $/MWh). Values of ``u`` above 1
    continue the quadratic; callers cap ``u`` if they want a price ceiling.

    Args:
        base_price: Price at normal load, in [0, inf) (scalar or array).
        utilization: Load over capacity, in [0, inf) (scalar or array).
        knee: Utilization where scarcity pricing starts, in [0, 1).
        slope: Price multiple added at u = 1, in [0, inf).

    Returns:
        Price(s), broadcast over the inputs; a float for scalar inputs.
    """
    if isinstance(base_price, float | int) and isinstance(utilization, float | int):
        return _scalar_scarcity_price(float(base_price), float(utilization), knee, slope)
    base = np.asarray(base_price, dtype=float)
    u = np.asarray(utilization, dtype=float)
    if not np.all(np.isfinite(base)) or np.any(base < 0):
        raise ValueError("base_price must be finite and in [0, inf)")
    if not np.all(np.isfinite(u)) or np.any(u < 0):
        raise ValueError("utilization must be finite and in [0, inf)")
    k = number("knee", knee, 0.0, 1.0)
    if k >= 1.0:
        raise ValueError(f"knee must be in [0, 1), got {knee!r}")
    s = number("slope", slope, 0.0)
    excess = np.maximum(u - k, 0.0) / (1.0 - k)
    price = base * (1.0 + s * excess**2)
    return float(price) if price.ndim == 0 else price


# --------------------------------------------------------------------------
# Shares and concentration
# --------------------------------------------------------------------------


def _scalar_scarcity_price(base: float, u: float, knee: float, slope: float) -> float:
    """Scalar form of :func:`scarcity_price` (the per-step hot path), same checks."""
    if not (math.isfinite(base) and base >= 0):
        raise ValueError("base_price must be finite and in [0, inf)")
    if not (math.isfinite(u) and u >= 0):
        raise ValueError("utilization must be finite and in [0, inf)")
    if not 0.0 <= knee < 1.0:
        raise ValueError(f"knee must be in [0, 1), got {knee!r}")
    if not (math.isfinite(slope) and slope >= 0):
        raise ValueError(f"slope must be in [0, inf), got {slope!r}")
    return scarcity_price_unchecked(base, u, knee, slope)


def scarcity_price_unchecked(base: float, u: float, knee: float, slope: float) -> float:
    """Scalar :func:`scarcity_price` without input checks (a supplier's validated state)."""
    above = u - knee
    excess = (0.0 if above < 0.0 else above) / (1.0 - knee)  # max(above, 0.0), no call
    return base * (1.0 + slope * excess**2)


def logit_shares(losses: np.ndarray, temperature: float) -> np.ndarray:
    """Market shares as a softmax of ``-loss / temperature``.

    Lower loss wins a larger share; as the temperature falls to 0 the best
    lab takes everything, as it rises shares become equal. Computed with the
    max-subtraction trick so it never overflows.

    Args:
        losses: 1-D array of finite losses (nats/token).
        temperature: Softness of the competition, in (0, inf) (loss units).

    Returns:
        Shares in [0, 1] summing to 1 (empty input gives an empty array).
    """
    loss = _floats("losses", losses, low=-math.inf)
    temp = number("temperature", temperature, 0.0, low_open=True)
    if not loss:
        return np.zeros(0)
    return np.array(logit_shares_unchecked(loss, temp))


def logit_shares_unchecked(losses: list[float], temperature: float) -> list[float]:
    """:func:`logit_shares` as a list, without checks: non-empty finite losses, temperature > 0.

    The model calls this every step on losses it computed itself; a handful of
    Python floats is cheaper than a numpy round trip.
    """
    scores = [-value / temperature for value in losses]
    top = max(scores)
    weights = [math.exp(score - top) for score in scores]
    total = math.fsum(weights)
    return [weight / total for weight in weights]


def hhi(shares: np.ndarray) -> float:
    """Herfindahl-Hirschman index on the 0..1 scale.

    Shares are normalised to sum to 1 first, so raw quantities (compute,
    revenue) can be passed directly. ``1/n`` means n equal players, 1 means
    monopoly (multiply by 10,000 for the antitrust scale). Empty or all-zero
    input gives 0.

    Args:
        shares: 1-D array of non-negative finite shares or quantities.
    """
    return hhi_unchecked(_floats("shares", shares))


def hhi_unchecked(values: list[float]) -> float:
    """:func:`hhi` of a list of floats the caller knows to be finite and >= 0."""
    total = math.fsum(values)
    if total <= 0.0:
        return 0.0
    return math.fsum([(value / total) ** 2 for value in values])
