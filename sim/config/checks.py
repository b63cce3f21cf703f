"""One scalar input check shared by every module that validates numbers."""

from __future__ import annotations

import math


def number(
    name: str,
    value: float,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """Return ``value`` as a float in the interval, or raise a ValueError naming it.

    Args:
        name: the argument's name, quoted in the error.
        value: anything ``float()`` accepts.
        low, high: the bounds; ``low_open`` excludes ``low``.
        allow_inf: admit ``+inf`` (e.g. an unconstrained capacity).

    Raises:
        ValueError: for non-numbers, NaN, infinities (unless allowed) and
            values outside the interval, with the allowed range in the message.
    """
    try:
        number_ = float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a number, got {value!r}") from error
    finite_ok = math.isfinite(number_) or (allow_inf and number_ == math.inf)
    below = number_ <= low if low_open else number_ < low
    if not finite_ok or below or number_ > high:
        bracket = "(" if low_open else "["
        top = "inf]" if allow_inf else f"{high})" if high == math.inf else f"{high}]"
        raise ValueError(f"{name} must be in {bracket}{low}, {top}, got {value!r}")
    return number_
