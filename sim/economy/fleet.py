"""GPU fleets over arrays: install, retire and power them (docs/model.md 3.1-3.2).

A fleet counts GPUs per chip variant (what dispatch needs) and keeps its
cohorts (what retirement needs): the starting fleet's items, and one
:class:`~sim.economy.state.Purchase` per step. :func:`counted` keeps the
per-lab totals beside the counts.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from sim.economy.params import Hardware
from sim.economy.state import Fleet, Purchase

RETIREMENT_SLACK = 1e-12
"""Years: a cohort exactly one lifetime old at ``t`` retires despite rounding."""


def counted(hardware: Hardware, units: np.ndarray) -> dict[str, np.ndarray]:
    """The fleet fields that follow from ``units`` per variant (B, N, V): it and the totals."""
    return {
        "units": units,
        "total_units": units.sum(axis=2),
        "total_flops": (units * hardware.variant_flops).sum(axis=2),
        "total_watts": (units * hardware.variant_watts).sum(axis=2),
    }


def _per_variant(units: np.ndarray, variant: np.ndarray, variants: int) -> np.ndarray:
    """(B, N, V) sum of cohort ``units`` (B, N, K) by their ``variant``."""
    runs, labs, _ = units.shape
    lab = np.arange(runs * labs).reshape(runs, labs, 1)
    flat = (lab * variants + variant).reshape(-1)
    summed = np.bincount(flat, weights=units.reshape(-1), minlength=runs * labs * variants)
    return summed.reshape(runs, labs, variants)


def starting_fleet(hardware: Hardware, units, variant, bought) -> Fleet:
    """The fleet of the starting items (B, N, K0): units, variant index and purchase time."""
    per_variant = _per_variant(units, variant, hardware.variant_flops.shape[2])
    return Fleet(
        **counted(hardware, per_variant),
        initial_units=units, initial_variant=variant, initial_bought=bought,
        initial_retired=np.zeros(units.shape, dtype=bool), purchases=(), pending=None,
    )  # fmt: skip


def _add(units: np.ndarray, purchase: Purchase, sign: float, mask=None) -> np.ndarray:
    """``units`` per variant with ``sign`` x the purchase's units (where ``mask`` (B, 1)) added.

    A purchase holds one delivery per supplier; entries that share a variant
    (empty ones do) accumulate.
    """
    out = units.copy()
    b, n, _ = np.ogrid[: units.shape[0], : units.shape[1], :1]
    amount = purchase.units if mask is None else np.where(mask[..., None], purchase.units, 0.0)
    np.add.at(out, (b, n, purchase.variant), sign * amount)
    return out


def install_pending(fleet: Fleet, hardware: Hardware) -> Fleet:
    """Install last step's deliveries: the pending purchase joins the cohorts."""
    if fleet.pending is None:
        return fleet
    units = _add(fleet.units, fleet.pending, 1.0)
    return replace(
        fleet, **counted(hardware, units), purchases=(*fleet.purchases, fleet.pending),
        pending=None,
    )  # fmt: skip


def retire(fleet: Fleet, hardware: Hardware, t: np.ndarray, dt: np.ndarray) -> Fleet:
    """Retire the cohorts that reach ``lifetime`` years of age at ``t`` (B,).

    A starting item retires the first step it is that old; a purchase the
    step its age crosses the lifetime (older at ``t``, younger at ``t - dt``),
    which only the purchases about ``lifetime / dt`` steps back can do.
    """
    life = hardware.lifetime - RETIREMENT_SLACK
    old = ~fleet.initial_retired & (fleet.initial_units > 0.0)
    old &= (t[:, None, None] - fleet.initial_bought) >= life[:, None, None]
    units = fleet.units
    if old.any():
        gone = _per_variant(np.where(old, fleet.initial_units, 0.0), fleet.initial_variant,
                            units.shape[2])  # fmt: skip
        units = np.maximum(units - gone, 0.0)
    for purchase in _candidates(fleet.purchases, life / dt):
        age = t - purchase.bought
        crossing = ((age >= life) & (age - dt < life))[:, None]
        if crossing.any():
            units = np.maximum(_add(units, purchase, -1.0, crossing), 0.0)
    if units is fleet.units:
        return fleet
    return replace(fleet, **counted(hardware, units), initial_retired=fleet.initial_retired | old)


def _candidates(purchases: tuple[Purchase, ...], lifetime_steps: np.ndarray):
    """The purchases whose age can cross the lifetime this step (the newest is one step old)."""
    newest = len(purchases) - 1
    first = max(0, newest - math.ceil(float(lifetime_steps.max())) - 1)
    last = min(newest, newest - math.floor(float(lifetime_steps.min())) + 2)
    return purchases[first : last + 1]


def dispatch(fleet: Fleet, hardware: Hardware, power_w: np.ndarray):
    """GPUs and FLOP/s that ``power_w`` (B, N) watts of board power run, most FLOP/W first."""
    full = power_w >= fleet.total_watts
    if full.all():
        return fleet.total_units, fleet.total_flops
    units = np.take_along_axis(fleet.units, hardware.dispatch_order, axis=2)
    flops, watts = hardware.dispatch_flops, hardware.dispatch_watts
    draw = units * watts
    left = np.maximum(power_w[..., None] - (np.cumsum(draw, axis=2) - draw), 0.0)
    run = np.minimum(left / watts, units)
    return (
        np.where(full, fleet.total_units, run.sum(axis=2)),
        np.where(full, fleet.total_flops, (run * flops).sum(axis=2)),
    )
