"""The fields in which two configuration mappings differ, as dotted paths.

Used to say *why* a results folder does not match an experiment: ``master_seed:
42 -> 43`` or ``base.policy.carbon_tax: 0.0 -> 50.0`` instead of two hashes.
"""

from __future__ import annotations

from typing import Any

MISSING = object()
MAX_SHOWN = 60  # characters of one value in a message


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Every leaf where ``old`` and ``new`` differ, as ``path: old -> new``, in path order.

    Mappings are compared key by key, lists of equal length item by item
    (``levers.0.values``); anything else, or lists of different length, as a whole.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            found += differences(old.get(key, MISSING), new.get(key, MISSING), path)
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        found = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            found += differences(a, b, f"{prefix}.{i}" if prefix else str(i))
        return found
    if old == new:
        return []
    return [f"{prefix or '(top level)'}: {_shown(old)} -> {_shown(new)}"]


def summarize(found: list[str], limit: int = 8) -> str:
    """The first ``limit`` differences joined with ``; `` (and how many more)."""
    more = f"; and {len(found) - limit} more" if len(found) > limit else ""
    return "; ".join(found[:limit]) + more


def _shown(value: Any) -> str:
    if value is MISSING:
        return "(absent)"
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."
