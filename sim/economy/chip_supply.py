"""Chip supply: an order backlog, production limited by dies and packaging, a lead time.

docs/model.md 3.13. Each supplier keeps, per lab, the GPUs ordered and paid
for but not yet started (the backlog, with what was paid for them and the
chip variant last ordered) and a pipeline of GPUs in production, due ``k``
steps from now. Each step it starts as many queued GPUs as it can make, the
fewer of its die capacity and its advanced-packaging capacity (wafers a
month times GPUs a wafer), shared among the labs' queues by its rationing
rule; a GPU started is delivered its lead time later. A shortage therefore
shows as a queue, a quoted lead time and, through the price index, a price.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sim.economy import clearing
from sim.economy.params import ChipSuppliers
from sim.economy.state import ChipMarketState

MONTHS_PER_YEAR = 12.0


def production_capacity(
    chips: ChipSuppliers, die_capacity: np.ndarray, packaging: np.ndarray, dt: np.ndarray
) -> np.ndarray:
    """(B, Sc) GPUs the supplier can start in the step: dies or packaged wafers, the fewer.

    Args:
        chips: the batch's chip suppliers.
        die_capacity: (B, Sc) GPUs its die capacity makes in the step.
        packaging: (B, Sc) wafers a month of advanced packaging (inf: no limit).
        dt: (B, 1) step length, yr.
    """
    packaged = packaging * chips.gpus_per_wafer * MONTHS_PER_YEAR * dt
    return np.minimum(die_capacity, packaged)


def cancel(market: ChipMarketState, allowed: np.ndarray) -> tuple[ChipMarketState, np.ndarray]:
    """Drop the queued orders on edges (B, Sc, N) no longer allowed; returns the refunds.

    An export control that comes into force cancels what is still queued on
    the edges it closes, and the supplier refunds what was paid (B, Sc, N)
    USD; GPUs already in production are delivered.
    """
    refund = np.where(allowed, 0.0, market.backlog_value)
    return replace(
        market,
        backlog=np.where(allowed, market.backlog, 0.0),
        backlog_value=market.backlog_value - refund,
    ), refund


def enqueue(
    market: ChipMarketState, orders: np.ndarray, value: np.ndarray, variant: np.ndarray
) -> ChipMarketState:
    """The queues with the step's orders (B, Sc, N) and their value added.

    A lab's queue at a supplier takes the variant of its newest order: a lab
    that switches chips there gets the new chip for what it still has queued.
    """
    return replace(
        market,
        backlog=market.backlog + orders,
        backlog_value=market.backlog_value + value,
        backlog_variant=np.where(orders > 0.0, variant, market.backlog_variant),
    )


def start_production(
    market: ChipMarketState, chips: ChipSuppliers, capacity: np.ndarray
) -> tuple[ChipMarketState, np.ndarray]:
    """Start up to ``capacity`` (B, Sc) queued GPUs, shared by the rationing rule.

    ``pro_rata`` fills every lab's queue at the same fraction; ``by_bid``
    serves the queues of highest value first. A GPU started enters the
    pipeline slot ``lead_steps``.

    Returns:
        The market and the GPUs started (B, Sc, N).
    """
    started = clearing.pro_rata(market.backlog, capacity)
    if chips.by_bid.any():  # the by-bid rule compares every pair of queues: only where used
        by_bid = clearing.by_bid(market.backlog, market.backlog_value, capacity)
        started = np.where(chips.by_bid[..., None], by_bid, started)
    left = np.where(market.backlog > 0.0, 1.0 - started / market.backlog, 0.0)
    slots = np.arange(market.in_production.shape[3])
    slot = slots == chips.lead_steps[:, :, None, None]
    placed = slot & (started[..., None] > 0.0)
    return replace(
        market,
        backlog=np.where(left > 0.0, market.backlog - started, 0.0),
        backlog_value=market.backlog_value * left,
        in_production=market.in_production + np.where(placed, started[..., None], 0.0),
        in_production_variant=np.where(
            placed, market.backlog_variant[..., None], market.in_production_variant
        ),
    ), started


def deliver(market: ChipMarketState) -> tuple[ChipMarketState, np.ndarray, np.ndarray]:
    """Take out the GPUs due now and move the pipeline one step on.

    Returns:
        The market, the GPUs delivered (B, Sc, N) and their chip variant (B, Sc, N).
    """

    def later(a: np.ndarray) -> np.ndarray:
        return np.concatenate([a[..., 1:], np.zeros_like(a[..., :1])], axis=3)

    due, variant = market.in_production[..., 0], market.in_production_variant[..., 0]
    return replace(
        market,
        in_production=later(market.in_production),
        in_production_variant=later(market.in_production_variant),
    ), due, variant


def quoted_lead_time(
    chips: ChipSuppliers, backlog: np.ndarray, capacity: np.ndarray, dt: np.ndarray
) -> np.ndarray:
    """(B, Sc) years from an order placed now to its delivery: the queue's wait plus the lead.

    The queue ``backlog`` (B, Sc, N) waits ``queue / capacity`` steps of
    ``dt`` (B, 1); infinite where there is a queue and no capacity.
    """
    queued = backlog.sum(axis=2)
    wait = np.where(queued > 0.0, queued / capacity * dt, 0.0)
    return chips.lead_time + wait


def reprice(
    index: np.ndarray,
    chips: ChipSuppliers,
    outstanding: np.ndarray,
    capacity: np.ndarray,
    dt: np.ndarray,
) -> np.ndarray:
    """(B, Sc) the price index after the step: up with the backlog, down with slack.

    Tatonnement (:func:`sim.economy.clearing.adjust_price_index`) on the GPUs
    waiting to start, ``outstanding`` (B, Sc), over what the supplier can
    start in the step plus its normal queue: ``capacity x (1 +
    normal_backlog_years / dt)``. The index holds when the queue left after
    the step is the normal one and production runs flat out; it falls when
    capacity sits idle and rises with a longer queue.
    """
    normal = capacity * (1.0 + chips.normal_backlog_years / dt)
    return clearing.adjust_price_index(
        index, outstanding, normal, chips.price_response, dt, chips.price_floor,
        chips.price_ceiling,
    )  # fmt: skip


def invest_in_packaging(
    packaging: np.ndarray, chips: ChipSuppliers, revenue: np.ndarray
) -> np.ndarray:
    """(B, Sc) wafers a month after the supplier reinvests a share of the step's revenue.

    ``added = packaging_reinvestment x revenue / packaging_capex_per_wafer_month``
    (an unbounded capacity stays unbounded).
    """
    added = chips.packaging_reinvestment * revenue / chips.packaging_capex_per_wafer_month
    return packaging + added
