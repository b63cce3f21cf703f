"""Policy levers over time: a value from a date on.

Any leaf of a scenario's ``policy`` may be a schedule instead of a constant:
a mapping from dates to the value in force from that date on, for example
``carbon_tax: {2030: 50}`` or ``export_controls: {max_tpp: {2023-10: 4800}}``.
Before its first date a scheduled lever has its default (off). Dates are
calendar years (``2030``, ``2022.75``) or months (``"2022-10"``, the first of
the month, and YAML dates such as ``2022-10-07``).

The scenario keeps the policy in force at its start as ``policy`` (so every
reader of a constant sees today's value) and the schedules beside it;
:func:`policy_at` gives the policy of any later date. A constant set over a
schedule (``--set policy.carbon_tax=50``, a lever's value, a child file in
``extends``) replaces the whole schedule.
"""

from __future__ import annotations

import copy
import datetime
import math
import re
from typing import Any

Schedules = dict[str, dict[float, Any]]
"""Dotted path inside ``policy`` -> {calendar year: value in force from then on}."""

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def year_of(key: Any) -> float | None:
    """The calendar year a schedule key names, or None if the key is not a date.

    Numbers are years; ``"YYYY-MM"`` is the first of that month; a date is
    its day of the year over 365.25. Numeric strings (keys of a JSON dump) are
    years too.
    """
    if isinstance(key, bool):
        return None
    if isinstance(key, int | float):
        return float(key)
    if isinstance(key, datetime.date):
        return key.year + (key.timetuple().tm_yday - 1) / 365.25
    if isinstance(key, str):
        match = _MONTH.match(key.strip())
        if match and 1 <= int(match[2]) <= 12:
            return int(match[1]) + (int(match[2]) - 1) / 12.0
        try:
            return float(key)
        except ValueError:
            return None
    return None


def is_schedule(value: Any) -> bool:
    """Whether a config value is a schedule: a non-empty mapping whose keys are all dates."""
    return (
        isinstance(value, dict)
        and bool(value)
        and all(year_of(k) is not None and math.isfinite(year_of(k)) for k in value)
    )


def split(policy: dict[str, Any], start_year: float) -> tuple[dict[str, Any], Schedules]:
    """The policy in force at ``start_year`` and every schedule found in it.

    A scheduled leaf becomes the value of its latest date at or before the
    start; with none, it is dropped (its default applies).
    """
    schedules: Schedules = {}
    constants = _split_node(copy.deepcopy(policy), "", schedules)
    return apply(constants, schedules, start_year), schedules


def _split_node(node: dict[str, Any], prefix: str, schedules: Schedules) -> dict[str, Any]:
    for key in list(node):
        path = f"{prefix}{key}"
        value = node[key]
        if is_schedule(value):
            schedules[path] = dict(sorted((year_of(k), v) for k, v in value.items()))
            del node[key]
        elif isinstance(value, dict):
            node[key] = _split_node(value, f"{path}.", schedules)
    return node


def value_at(schedule: dict[float, Any], year: float) -> tuple[bool, Any]:
    """(whether a date has passed, the value in force at ``year``) of one schedule."""
    passed = [date for date in schedule if date <= year]
    return (True, schedule[max(passed)]) if passed else (False, None)


def apply(policy: dict[str, Any], schedules: Schedules, year: float) -> dict[str, Any]:
    """A copy of ``policy`` (constants) with every schedule's value in force at ``year``.

    A lever whose first date is still ahead is left as ``policy`` has it.
    """
    out = copy.deepcopy(policy)
    for path, schedule in schedules.items():
        passed, value = value_at(schedule, year)
        if passed:
            parent, leaf = _parent(out, path)
            parent[leaf] = copy.deepcopy(value)
    return out


def without(policy: dict[str, Any], schedules: Schedules) -> dict[str, Any]:
    """A copy of ``policy`` without its scheduled leaves: each back to its default."""
    out = copy.deepcopy(policy)
    for path in schedules:
        parent, leaf = _parent(out, path)
        parent.pop(leaf, None)
    return out


def _parent(policy: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    """The mapping holding the leaf at dotted ``path`` (created on the way) and its key."""
    parts = path.split(".")
    node = policy
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    return node, parts[-1]


def change_years(schedules: Schedules, after: float, until: float) -> list[float]:
    """The dates in ``(after, until)`` at which some lever changes, in order."""
    return sorted({d for s in schedules.values() for d in s if after < d < until})


def embed(policy: dict[str, Any], schedules: Schedules) -> dict[str, Any]:
    """``policy`` with each schedule written back in place of its leaf (for dumps)."""
    out = copy.deepcopy(policy)
    for path, schedule in schedules.items():
        parent, leaf = _parent(out, path)
        parent[leaf] = copy.deepcopy(schedule)
    return out
