"""The regional power market: offers, merit-order dispatch, one clearing price, build-out.

docs/model.md 3.14. Every function works on a batch (run axis first); axes
as in :mod:`sim.economy.params` (``N`` labs, ``Se`` energy suppliers). The
carbon tax enters here only: a supplier's offer is its base price plus its
tax per MWh, the region's suppliers are dispatched cheapest offer first, and
every buyer of the region pays the marginal (last dispatched) supplier's
offer, its base part raised by that supplier's scarcity.
"""

from __future__ import annotations

import numpy as np

from sim.economy import clearing
from sim.economy.params import EnergySuppliers


def tax_per_mwh(e: EnergySuppliers, carbon_tax: np.ndarray) -> np.ndarray:
    """(B, Se) carbon tax on one MWh of each supplier, ``carbon_intensity x tax``, USD/MWh."""
    return e.carbon_intensity * carbon_tax[:, None]


def merit_order(e: EnergySuppliers, tax: np.ndarray) -> np.ndarray:
    """(B, Se) suppliers by increasing offer ``base_price + tax``; ties in scenario order."""
    return np.argsort(e.base_price + tax, axis=1, kind="stable")


def dispatch(
    e: EnergySuppliers, requested: np.ndarray, limit: np.ndarray, merit: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Serve the labs' requests (B, N) in merit order within each supplier's ``limit`` (B, Se).

    Each supplier, cheapest offer first, fills pro rata the requests its labs
    (those of its region) still have; what it cannot deliver passes to the
    next supplier of the region. A loop over the merit-order ranks (a small
    fixed axis): each rank's fill depends on the ranks before it.

    Returns:
        delivered (B, N, Se) MW and the MW still wanted when each supplier's
        turn came (B, Se).
    """
    runs, n_labs = requested.shape
    n_suppliers = limit.shape[1]
    remaining = requested
    delivered = np.zeros((runs, n_labs, n_suppliers))
    wanted = np.zeros((runs, n_suppliers))
    b = np.arange(runs)
    for rank in range(n_suppliers):
        s = merit[:, rank]
        requests = np.where(e.serves[b, s] & (remaining > 0.0), remaining, 0.0)
        filled = clearing.pro_rata(requests, limit[b, s])
        wanted[b, s] = requests.sum(axis=1)
        delivered[b, :, s] = filled
        remaining = remaining - filled
    return delivered, wanted


def marginal_supplier(e: EnergySuppliers, wanted: np.ndarray, merit: np.ndarray) -> np.ndarray:
    """(B, Se) index of the marginal supplier of each supplier's region.

    The marginal supplier is the last of the region in merit order that was
    still asked for power; in a region without demand, its cheapest offer.
    """
    n_suppliers = wanted.shape[1]
    rank = np.argsort(merit, axis=1)
    score = np.where(wanted > 0.0, n_suppliers + rank, n_suppliers - 1 - rank)  # (B, Se)
    in_region = np.where(e.same_region, score[:, None, :], -1)  # (B, Se, Se)
    return in_region.argmax(axis=2)


def clearing_price(
    e: EnergySuppliers, tax: np.ndarray, wanted: np.ndarray, limit: np.ndarray, merit: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The region's clearing price (B, Se) USD/MWh, tax included, and each supplier's utilization.

    ``u = min(1, wanted / limit)`` per supplier; the region's price is the
    marginal supplier ``m``'s ``scarcity_price(base_m, u_m) + tax_m``, the same
    for every supplier (and buyer) of the region.
    """
    utilization = clearing.utilization(wanted, limit)
    m = marginal_supplier(e, wanted, merit)

    def at_marginal(values: np.ndarray) -> np.ndarray:
        return np.take_along_axis(values, m, axis=1)

    scarce = clearing.scarcity_price(
        at_marginal(e.base_price), at_marginal(utilization), at_marginal(e.knee),
        at_marginal(e.slope),
    )  # fmt: skip
    return scarce + at_marginal(tax), utilization


def price_ceiling(e: EnergySuppliers, tax: np.ndarray) -> np.ndarray:
    """(B, Se) highest price the region can clear at: max of ``base (1 + slope) + tax`` in it."""
    highest = e.base_price * (1.0 + e.slope) + tax
    return np.where(e.same_region, highest[:, None, :], 0.0).max(axis=2)


def opening_prices(e: EnergySuppliers, carbon_tax: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The prices the market publishes before any trade: (clearing price at no demand, ceiling)."""
    tax = tax_per_mwh(e, carbon_tax)
    idle = np.zeros_like(e.capacity_mw)
    price, _ = clearing_price(e, tax, idle, e.capacity_mw, merit_order(e, tax))
    return price, price_ceiling(e, tax)


def regional_price(serves: np.ndarray, price: np.ndarray) -> np.ndarray:
    """(B, N) the published price of each lab's region (0 for a lab no supplier serves)."""
    return np.where(serves, price[:, :, None], 0.0).max(axis=1)


def trailing_mean(mean: np.ndarray, value: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Exponential mean with a one-year time constant: ``mean + min(dt, 1) (value - mean)``."""
    return mean + np.minimum(dt, 1.0) * (value - mean)


def build_orders(e: EnergySuppliers, expected_price: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """(B, Se) MW each supplier orders in the step, on the price it expects to receive.

    ``build_rate x multiplier x clip(1 + response (expected / base_price - 1),
    0, max_multiple) x dt``: at its cost (``base_price``) a supplier orders its
    base rate; each 1% of margin above (below) cost raises (lowers) the
    orders by ``response`` %.
    """
    margin = expected_price / e.base_price - 1.0
    multiple = np.clip(1.0 + e.build_response * margin, 0.0, e.build_max_multiple)
    return e.build_mw_per_year * multiple * dt


def place_orders(pipeline: np.ndarray, ordered: np.ndarray, lead_steps: np.ndarray):
    """Add the step's orders to the pipeline and take out what is due now.

    ``pipeline[..., k]`` (B, Se, K) is the MW due ``k`` steps from now; an
    order with a lead of ``d`` steps goes to slot ``d`` (``d = 0``: online at
    once); an order due beyond the last slot falls after the horizon and is
    dropped. Returns the MW online now (B, Se) and the pipeline one step on.
    """
    slots = np.arange(pipeline.shape[2])
    pipeline = pipeline + np.where(slots == lead_steps[..., None], ordered[..., None], 0.0)
    online = pipeline[..., 0]
    later = np.concatenate([pipeline[..., 1:], np.zeros_like(pipeline[..., :1])], axis=2)
    return online, later
