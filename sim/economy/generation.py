"""A lab's own generation: plants it builds (or contracts) for itself, behind the meter.

docs/model.md 3.21. A lab compares the clearing price its region's energy
market published with what its own MWh would cost: the capex spread over
``payback_years`` of full output plus the published own price (running cost
and carbon tax). Where its own power is cheaper it orders the MW that bring
its own generation (online and on order) up to ``max_share`` of its facility,
pays the capex at once (at most its cash) and gets the MW after the lead
time. In the energy market its own plants serve it first; the grid serves
the rest.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sim.economy import power
from sim.economy.params import Labs
from sim.economy.payments import pay, up_to_cash
from sim.economy.state import LabState

HOURS_PER_YEAR = 8766.0
"""Hours in a Julian year."""


def own_price(labs: Labs, carbon_tax: np.ndarray) -> np.ndarray:
    """(B, N) USD per MWh of own generation used: running cost plus its carbon tax."""
    return labs.own_running_cost + labs.own_carbon_intensity * carbon_tax[:, None]


def levelized_cost(labs: Labs, published_own_price: np.ndarray) -> np.ndarray:
    """(B, N) USD/MWh a lab's own plant costs: capex over the payback years plus the own price."""
    return labs.own_capex_per_mw / (HOURS_PER_YEAR * labs.own_payback_years) + published_own_price


def order(
    state: LabState, labs: Labs, grid_price: np.ndarray, published_own_price: np.ndarray
) -> tuple[LabState, np.ndarray]:
    """Order own generation where it beats the grid's published price; bring due MW online.

    Returns the labs (cash, own MW and pipeline) and the capex paid (B, N) USD.
    """
    worthwhile = grid_price > levelized_cost(labs, published_own_price)
    target = labs.own_max_share * state.facility_mw
    wanted = np.maximum(target - state.own_mw - state.own_pipeline.sum(axis=2), 0.0)
    wanted = np.where(worthwhile, wanted, 0.0)
    capex = labs.own_capex_per_mw
    paid = up_to_cash(wanted * capex, state.cash)
    ordered = np.where(paid >= wanted * capex, wanted, paid / capex)
    online, pipeline = power.place_orders(state.own_pipeline, ordered, labs.own_lead_steps)
    cash = pay(state.cash, {"generation": paid})
    state = replace(state, cash=cash, own_mw=state.own_mw + online, own_pipeline=pipeline)
    return state, paid


def serve(own_mw: np.ndarray, requested_mw: np.ndarray) -> np.ndarray:
    """(B, N) MW a lab's own plants deliver to it: its request, up to their capacity."""
    return np.minimum(own_mw, requested_mw)
